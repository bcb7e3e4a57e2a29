// Vectorised evaluation: each node of the tree runs once per batch as one tight loop over
// contiguous arrays (the tree is walked per batch, never per row). Literals stay scalars and
// are broadcast by the loop's reader, so `temperature > 30` compares an array with a
// register. Validity travels as one byte per row (nullptr when every row is valid), which
// keeps the combining loops branch-free and lets most batches, which have no nulls, skip
// validity work entirely.

#include "expression_ast.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <type_traits>

namespace sluice::detail::expr {

namespace {

// Scratch buffers of one evaluation, pooled per thread: after the first batches, evaluating
// allocates nothing but the result column. Buffers keep their size between evaluations, so
// `make` zero-fills only growth; kernels overwrite every row they hand out. Buffers past
// `keep_limit` bytes are released after use so that one huge batch does not pin its memory.
class arena {
public:
    static constexpr std::size_t keep_limit = std::size_t{4} << 20;

    template <class T>
    std::vector<T>& make(std::size_t n) {
        auto& p = pool<T>();
        if (p.used == p.slots.size()) {
            p.slots.push_back(std::make_unique<std::vector<T>>());
        }
        std::vector<T>& v = *p.slots[p.used++];
        v.resize(n);
        return v;
    }

    const std::uint8_t* zeros(std::size_t n) {
        auto& v = make<std::uint8_t>(n);
        std::fill(v.begin(), v.end(), std::uint8_t{0});
        return v.data();
    }

    // Makes every buffer available again (pointers handed out before become invalid).
    void reset() {
        f64_.reset();
        i64_.reset();
        u8_.reset();
        str_.reset();
    }

private:
    template <class T>
    struct pool_of {
        std::vector<std::unique_ptr<std::vector<T>>> slots;
        std::size_t used = 0;

        void reset() {
            for (std::size_t i = 0; i < used; ++i) {
                if (slots[i]->capacity() * sizeof(T) > keep_limit) {
                    std::vector<T>().swap(*slots[i]);
                }
            }
            used = 0;
        }
    };

    template <class T>
    pool_of<T>& pool() {
        if constexpr (std::is_same_v<T, double>) {
            return f64_;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
            return i64_;
        } else if constexpr (std::is_same_v<T, std::uint8_t>) {
            return u8_;
        } else {
            static_assert(std::is_same_v<T, std::string_view>);
            return str_;
        }
    }

    pool_of<double> f64_;
    pool_of<std::int64_t> i64_;
    pool_of<std::uint8_t> u8_;
    pool_of<std::string_view> str_;
};

// The calling thread's arena for one evaluation, returned to the thread when done. A nested
// evaluation on the same thread (not done today) would get a private arena instead.
class arena_lease {
public:
    arena_lease() {
        if (!in_use()) {
            in_use() = true;
            arena_ = &shared();
        } else {
            own_ = std::make_unique<arena>();
            arena_ = own_.get();
        }
    }
    ~arena_lease() {
        arena_->reset();
        if (!own_) {
            in_use() = false;
        }
    }
    arena_lease(const arena_lease&) = delete;
    arena_lease& operator=(const arena_lease&) = delete;
    arena_lease(arena_lease&&) = delete;
    arena_lease& operator=(arena_lease&&) = delete;

    arena& get() { return *arena_; }

private:
    static arena& shared() {
        thread_local arena a;
        return a;
    }
    static bool& in_use() {
        thread_local bool flag = false;
        return flag;
    }

    arena* arena_ = nullptr;
    std::unique_ptr<arena> own_;
};

// The value of one node over the batch. Storage follows the node's type: float64 in doubles,
// int64 and timestamp_ms in int64s, bool in bytes (0/1), strings as views (into the input
// columns or the tree's literals, both of which outlive the evaluation).
struct vec {
    value_type type = value_type::null;
    bool scalar = false;
    bool scalar_valid = false;  // scalars only
    double f = 0;
    std::int64_t i = 0;
    std::uint8_t b = 0;
    std::string_view s;

    const double* f64 = nullptr;
    const std::int64_t* i64 = nullptr;
    const std::uint8_t* u8 = nullptr;
    const std::string_view* str = nullptr;
    const std::uint8_t* valid = nullptr;  // arrays only; nullptr = every row valid

    // Set when the values live in an arena vector of exactly `rows` elements, which the root
    // can then move into the result column instead of copying.
    std::vector<double>* f64_owner = nullptr;
    std::vector<std::int64_t>* i64_owner = nullptr;
    std::vector<std::uint8_t>* u8_owner = nullptr;
};

enum class storage {
    f64,
    i64,
    u8,
    str,
    none
};

storage storage_of(value_type t) {
    switch (t) {
        case value_type::float64:
            return storage::f64;
        case value_type::int64:
        case value_type::timestamp_ms:
            return storage::i64;
        case value_type::boolean:
            return storage::u8;
        case value_type::string:
            return storage::str;
        case value_type::null:
            break;
    }
    return storage::none;
}

template <class T>
using storage_t = std::conditional_t<std::is_same_v<T, bool>, std::uint8_t, T>;

template <class T>
struct array_reader {
    const T* p;
    T operator[](std::size_t i) const { return p[i]; }
};

template <class T>
struct scalar_reader {
    T v;
    T operator[](std::size_t) const { return v; }
};

template <class To, class From>
struct cast_reader {
    const From* p;
    To operator[](std::size_t i) const { return static_cast<To>(p[i]); }
};

// Calls `f` with a reader of `v` as T (double, int64_t, uint8_t or string_view), converting
// int64 to double on the fly where a float computation reads an int.
template <class T, class F>
void read_as(const vec& v, F&& f) {
    if constexpr (std::is_same_v<T, double>) {
        if (v.scalar) {
            f(scalar_reader<double>{v.type == value_type::float64 ? v.f
                                                                  : static_cast<double>(v.i)});
        } else if (v.type == value_type::float64) {
            f(array_reader<double>{v.f64});
        } else {
            f(cast_reader<double, std::int64_t>{v.i64});
        }
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        if (v.scalar) {
            f(scalar_reader<std::int64_t>{v.i});
        } else {
            f(array_reader<std::int64_t>{v.i64});
        }
    } else if constexpr (std::is_same_v<T, std::uint8_t>) {
        if (v.scalar) {
            f(scalar_reader<std::uint8_t>{v.b});
        } else {
            f(array_reader<std::uint8_t>{v.u8});
        }
    } else {
        static_assert(std::is_same_v<T, std::string_view>);
        if (v.scalar) {
            f(scalar_reader<std::string_view>{v.s});
        } else {
            f(array_reader<std::string_view>{v.str});
        }
    }
}

// Calls `f` with a reader of a validity array (1 everywhere when `valid` is null).
template <class F>
void read_validity(const std::uint8_t* valid, F&& f) {
    if (valid == nullptr) {
        f(scalar_reader<std::uint8_t>{1});
    } else {
        f(array_reader<std::uint8_t>{valid});
    }
}

struct context {
    std::span<const column_ptr> columns;
    std::size_t rows;
    arena& scratch;
};

vec scalar_null(value_type type) {
    vec v;
    v.type = type;
    v.scalar = true;
    v.scalar_valid = false;
    return v;
}

// Validity of `v` as a byte array, or nullptr when every row is valid.
const std::uint8_t* validity_of(const vec& v, const context& c) {
    if (v.scalar) {
        return v.scalar_valid ? nullptr : c.scratch.zeros(c.rows);
    }
    return v.valid;
}

const std::uint8_t* and_validity(const std::uint8_t* x, const std::uint8_t* y, const context& c) {
    if (x == nullptr) {
        return y;
    }
    if (y == nullptr) {
        return x;
    }
    auto& out = c.scratch.make<std::uint8_t>(c.rows);
    for (std::size_t i = 0; i < c.rows; ++i) {
        out[i] = x[i] & y[i];
    }
    return out.data();
}

// A fresh array vec of `type` with its output buffer.
template <class T>
vec make_array(value_type type, const context& c, T*& out) {
    vec v;
    v.type = type;
    auto& buffer = c.scratch.make<T>(c.rows);
    out = buffer.data();
    if constexpr (std::is_same_v<T, double>) {
        v.f64 = out;
        v.f64_owner = &buffer;
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        v.i64 = out;
        v.i64_owner = &buffer;
    } else if constexpr (std::is_same_v<T, std::uint8_t>) {
        v.u8 = out;
        v.u8_owner = &buffer;
    } else {
        v.str = out;
    }
    return v;
}

template <class R>
std::vector<R>** owner_slot(vec& v) {
    if constexpr (std::is_same_v<R, double>) {
        return &v.f64_owner;
    } else if constexpr (std::is_same_v<R, std::int64_t>) {
        return &v.i64_owner;
    } else if constexpr (std::is_same_v<R, std::uint8_t>) {
        return &v.u8_owner;
    } else {
        return nullptr;  // string views are never computed in place
    }
}

// The output of an element-wise kernel: an operand's scratch buffer of the output's storage
// is overwritten in place (each row is read before it is written), so `a * 9 / 5 + 32`
// fills one buffer instead of three. Otherwise a fresh buffer.
template <class R>
vec make_output(value_type type, const context& c, R*& out, vec* first, vec* second = nullptr) {
    for (vec* donor : {first, second}) {
        if (donor == nullptr || donor->scalar) {
            continue;
        }
        std::vector<R>** slot = owner_slot<R>(*donor);
        if (slot != nullptr && *slot != nullptr && (*slot)->size() == c.rows) {
            vec v;
            v.type = type;
            std::vector<R>* buffer = *slot;
            *slot = nullptr;
            out = buffer->data();
            if constexpr (std::is_same_v<R, double>) {
                v.f64 = out;
                v.f64_owner = buffer;
            } else if constexpr (std::is_same_v<R, std::int64_t>) {
                v.i64 = out;
                v.i64_owner = buffer;
            } else if constexpr (std::is_same_v<R, std::uint8_t>) {
                v.u8 = out;
                v.u8_owner = buffer;
            }
            return v;
        }
    }
    return make_array<R>(type, c, out);
}

// out[i] = fn(x[i]) computing in T; the result keeps x's validity.
template <class T, class Fn>
vec map1(vec& x, value_type out_type, const context& c, Fn fn) {
    using R = storage_t<std::invoke_result_t<Fn, T>>;
    R* out = nullptr;
    vec result = make_output<R>(out_type, c, out, &x);
    const std::size_t n = c.rows;
    read_as<T>(x, [&](auto rx) {
        for (std::size_t i = 0; i < n; ++i) {
            out[i] = static_cast<R>(fn(rx[i]));
        }
    });
    result.valid = validity_of(x, c);
    return result;
}

// out[i] = fn(x[i], y[i]) computing in T; valid where both are.
template <class T, class Fn>
vec map2(vec& x, vec& y, value_type out_type, const context& c, Fn fn) {
    using R = storage_t<std::invoke_result_t<Fn, T, T>>;
    R* out = nullptr;
    vec result = make_output<R>(out_type, c, out, &x, &y);
    const std::size_t n = c.rows;
    read_as<T>(x, [&](auto rx) {
        read_as<T>(y, [&](auto ry) {
            for (std::size_t i = 0; i < n; ++i) {
                out[i] = static_cast<R>(fn(rx[i], ry[i]));
            }
        });
    });
    result.valid = and_validity(validity_of(x, c), validity_of(y, c), c);
    return result;
}

// Integer arithmetic wraps around (two's complement) instead of overflowing into undefined
// behaviour; README: "Integer overflow".
inline std::int64_t wrap_add(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
inline std::int64_t wrap_sub(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
inline std::int64_t wrap_mul(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}
inline std::int64_t wrap_neg(std::int64_t a) {
    return static_cast<std::int64_t>(std::uint64_t{0} - static_cast<std::uint64_t>(a));
}

// Division and modulo by zero give null rather than inf/NaN or a trap; README: "Division".
template <class T, class Fn>
vec divide(vec& x, vec& y, value_type out_type, const context& c, Fn fn) {
    if (y.scalar) {
        const bool zero = std::is_same_v<T, double>
                                  ? (y.type == value_type::float64 ? y.f == 0.0 : y.i == 0)
                                  : y.i == 0;
        if (!y.scalar_valid || zero) {
            return scalar_null(out_type);
        }
        return map2<T>(x, y, out_type, c, fn);
    }
    // The mask first: map2 may overwrite y's buffer with the quotients.
    auto& nonzero = c.scratch.make<std::uint8_t>(c.rows);
    read_as<T>(y, [&](auto ry) {
        for (std::size_t i = 0; i < c.rows; ++i) {
            nonzero[i] = ry[i] != T{0} ? 1 : 0;
        }
    });
    vec result = map2<T>(x, y, out_type, c, [&](T a, T b) { return b == T{0} ? T{0} : fn(a, b); });
    result.valid = and_validity(result.valid, nonzero.data(), c);
    return result;
}

// Expands a validity bitmap into one byte per row (1 = valid). Eight rows at a time on
// little-endian machines: a multiply spreads a byte's bits over eight bytes.
void bits_to_bytes(std::span<const std::uint64_t> words, std::size_t rows, std::uint8_t* out) {
    std::size_t i = 0;
    if constexpr (std::endian::native == std::endian::little) {
        for (; i + 8 <= rows; i += 8) {
            const std::uint64_t byte = (words[i >> 6] >> (i & 63)) & 0xFFU;
            std::uint64_t spread = (byte * 0x0101010101010101ULL) & 0x8040201008040201ULL;
            spread = ((spread + 0x7F7F7F7F7F7F7F7FULL) & 0x8080808080808080ULL) >> 7;
            std::memcpy(out + i, &spread, 8);
        }
    }
    for (; i < rows; ++i) {
        out[i] = static_cast<std::uint8_t>((words[i >> 6] >> (i & 63)) & 1U);
    }
}

// Marks the rows whose validity byte is 0 as null in `out`. Gathers eight bytes into a bit
// mask at a time and visits only the null rows, so a batch with scattered nulls costs no
// branch mispredictions per row.
void bytes_to_nulls(const std::uint8_t* valid, std::size_t rows, column& out) {
    std::size_t i = 0;
    if constexpr (std::endian::native == std::endian::little) {
        for (; i + 8 <= rows; i += 8) {
            std::uint64_t bytes = 0;
            std::memcpy(&bytes, valid + i, 8);
            bytes &= 0x0101010101010101ULL;  // validity bytes are 0 or 1; no carries below
            auto missing = static_cast<unsigned>(~((bytes * 0x0102040810204080ULL) >> 56) & 0xFFU);
            while (missing != 0) {
                out.set_null(i + static_cast<std::size_t>(std::countr_zero(missing)));
                missing &= missing - 1;
            }
        }
    }
    for (; i < rows; ++i) {
        if (valid[i] == 0) {
            out.set_null(i);
        }
    }
}

vec eval(const node& n, const context& c);

vec eval_literal(const node& n) {
    vec v;
    v.type = n.type;
    v.scalar = true;
    v.scalar_valid = !n.literal.is_null;
    v.f = n.literal.f64;
    v.i = n.literal.i64;
    v.b = n.literal.boolean ? 1 : 0;
    v.s = n.literal.str;
    return v;
}

vec eval_column(const node& n, const context& c) {
    if (n.column_index >= c.columns.size() || !c.columns[n.column_index]) {
        throw std::invalid_argument(
                fmt::format("expression reads column {} ('{}'), which the input does not have",
                            n.column_index,
                            n.name));
    }
    const column& col = *c.columns[n.column_index];
    if (col.type() != to_data_type(n.type)) {
        throw std::invalid_argument(
                fmt::format("column '{}' is {}, but the expression was compiled for {}",
                            n.name,
                            sluice::to_string(col.type()),
                            to_string(n.type)));
    }
    if (col.size() != c.rows) {
        throw std::invalid_argument(
                fmt::format("column '{}' has {} rows, expected {}", n.name, col.size(), c.rows));
    }
    vec v;
    v.type = n.type;
    switch (storage_of(n.type)) {
        case storage::f64:
            v.f64 = col.float64_values().data();
            break;
        case storage::i64:
            v.i64 = col.int64_values().data();
            break;
        case storage::u8:
            v.u8 = col.bool_values().data();
            break;
        case storage::str: {
            auto& views = c.scratch.make<std::string_view>(c.rows);
            const char* bytes = col.string_bytes().data();
            const auto offsets = col.string_offsets();
            for (std::size_t i = 0; i < c.rows; ++i) {
                views[i] = std::string_view(bytes + offsets[i], offsets[i + 1] - offsets[i]);
            }
            v.str = views.data();
            break;
        }
        case storage::none:
            break;
    }
    if (col.has_nulls()) {
        auto& valid = c.scratch.make<std::uint8_t>(c.rows);
        bits_to_bytes(col.validity_words(), c.rows, valid.data());
        v.valid = valid.data();
    }
    return v;
}

vec eval_unary(const node& n, const context& c) {
    vec x = eval(*n.args[0], c);
    if (n.oper == op::logical_not) {
        return map1<std::uint8_t>(x, n.type, c, [](std::uint8_t a) { return a == 0; });
    }
    if (n.operand_type == value_type::int64) {
        return map1<std::int64_t>(x, n.type, c, wrap_neg);
    }
    return map1<double>(x, n.type, c, [](double a) { return -a; });
}

template <class T>
vec compare(op o, vec& x, vec& y, const context& c) {
    switch (o) {
        case op::eq:
            return map2<T>(x, y, value_type::boolean, c, [](T a, T b) { return a == b; });
        case op::ne:
            return map2<T>(x, y, value_type::boolean, c, [](T a, T b) { return a != b; });
        case op::lt:
            return map2<T>(x, y, value_type::boolean, c, [](T a, T b) { return a < b; });
        case op::le:
            return map2<T>(x, y, value_type::boolean, c, [](T a, T b) { return a <= b; });
        case op::gt:
            return map2<T>(x, y, value_type::boolean, c, [](T a, T b) { return a > b; });
        default:
            return map2<T>(x, y, value_type::boolean, c, [](T a, T b) { return a >= b; });
    }
}

// SQL three-valued logic: false and x = false, true or x = true, otherwise null wins.
vec logic(op o, vec& x, vec& y, const context& c) {
    const std::uint8_t* vx = validity_of(x, c);
    const std::uint8_t* vy = validity_of(y, c);
    if (vx == nullptr && vy == nullptr) {
        if (o == op::logical_and) {
            return map2<std::uint8_t>(
                    x, y, value_type::boolean, c, [](std::uint8_t a, std::uint8_t b) {
                        return static_cast<std::uint8_t>((a != 0) & (b != 0));
                    });
        }
        return map2<std::uint8_t>(x, y, value_type::boolean, c, [](std::uint8_t a, std::uint8_t b) {
            return static_cast<std::uint8_t>((a != 0) | (b != 0));
        });
    }
    std::uint8_t* out = nullptr;
    vec result = make_output<std::uint8_t>(value_type::boolean, c, out, &x, &y);
    auto& valid = c.scratch.make<std::uint8_t>(c.rows);
    const bool is_and = o == op::logical_and;
    read_as<std::uint8_t>(x, [&](auto rx) {
        read_as<std::uint8_t>(y, [&](auto ry) {
            read_validity(vx, [&](auto mx) {
                read_validity(vy, [&](auto my) {
                    for (std::size_t i = 0; i < c.rows; ++i) {
                        const std::uint8_t xt = mx[i] & (rx[i] != 0);
                        const std::uint8_t xf = mx[i] & (rx[i] == 0);
                        const std::uint8_t yt = my[i] & (ry[i] != 0);
                        const std::uint8_t yf = my[i] & (ry[i] == 0);
                        if (is_and) {
                            out[i] = xt & yt;
                            valid[i] = (xt & yt) | xf | yf;
                        } else {
                            out[i] = xt | yt;
                            valid[i] = xt | yt | (xf & yf);
                        }
                    }
                });
            });
        });
    });
    result.valid = valid.data();
    return result;
}

vec eval_binary(const node& n, const context& c) {
    vec x = eval(*n.args[0], c);
    vec y = eval(*n.args[1], c);
    switch (n.oper) {
        case op::logical_and:
        case op::logical_or:
            return logic(n.oper, x, y, c);
        case op::eq:
        case op::ne:
        case op::lt:
        case op::le:
        case op::gt:
        case op::ge:
            switch (n.operand_type) {
                case value_type::int64:
                    return compare<std::int64_t>(n.oper, x, y, c);
                case value_type::float64:
                    return compare<double>(n.oper, x, y, c);
                case value_type::string:
                    return compare<std::string_view>(n.oper, x, y, c);
                case value_type::boolean:
                    return compare<std::uint8_t>(n.oper, x, y, c);
                default:
                    return scalar_null(value_type::boolean);
            }
        default:
            break;
    }
    if (n.operand_type == value_type::float64) {
        switch (n.oper) {
            case op::add:
                return map2<double>(x, y, n.type, c, [](double a, double b) { return a + b; });
            case op::sub:
                return map2<double>(x, y, n.type, c, [](double a, double b) { return a - b; });
            case op::mul:
                return map2<double>(x, y, n.type, c, [](double a, double b) { return a * b; });
            case op::div:
                return divide<double>(x, y, n.type, c, [](double a, double b) { return a / b; });
            default:
                return divide<double>(
                        x, y, n.type, c, [](double a, double b) { return std::fmod(a, b); });
        }
    }
    switch (n.oper) {
        case op::add:
            return map2<std::int64_t>(x, y, n.type, c, wrap_add);
        case op::sub:
            return map2<std::int64_t>(x, y, n.type, c, wrap_sub);
        case op::mul:
            return map2<std::int64_t>(x, y, n.type, c, wrap_mul);
        default:
            // x % -1 is 0; computing it would overflow for INT64_MIN.
            return divide<std::int64_t>(x, y, n.type, c, [](std::int64_t a, std::int64_t b) {
                return b == -1 ? std::int64_t{0} : a % b;
            });
    }
}

// out = cond ? x : y, with cond null counting as false (as SQL's CASE WHEN does).
template <class T>
vec select(const vec& cond, const vec& x, const vec& y, value_type type, const context& c) {
    T* out = nullptr;
    vec result = make_array<T>(type, c, out);
    const std::uint8_t* vc = validity_of(cond, c);
    const std::uint8_t* vx = validity_of(x, c);
    const std::uint8_t* vy = validity_of(y, c);
    std::uint8_t* valid = nullptr;
    if (vx != nullptr || vy != nullptr) {
        valid = c.scratch.make<std::uint8_t>(c.rows).data();
    }
    read_as<std::uint8_t>(cond, [&](auto rc) {
        read_validity(vc, [&](auto mc) {
            read_as<T>(x, [&](auto rx) {
                read_as<T>(y, [&](auto ry) {
                    for (std::size_t i = 0; i < c.rows; ++i) {
                        const bool take_x = (mc[i] & (rc[i] != 0)) != 0;
                        out[i] = take_x ? rx[i] : ry[i];
                    }
                    if (valid != nullptr) {
                        read_validity(vx, [&](auto mx) {
                            read_validity(vy, [&](auto my) {
                                for (std::size_t i = 0; i < c.rows; ++i) {
                                    const bool take_x = (mc[i] & (rc[i] != 0)) != 0;
                                    valid[i] = take_x ? mx[i] : my[i];
                                }
                            });
                        });
                    }
                });
            });
        });
    });
    result.valid = valid;
    return result;
}

template <class T>
vec coalesce(const vec& x, const vec& y, value_type type, const context& c) {
    T* out = nullptr;
    vec result = make_array<T>(type, c, out);
    const std::uint8_t* vx = validity_of(x, c);
    const std::uint8_t* vy = validity_of(y, c);
    std::uint8_t* valid = nullptr;
    if (vx != nullptr && vy != nullptr) {
        valid = c.scratch.make<std::uint8_t>(c.rows).data();
    }
    read_as<T>(x, [&](auto rx) {
        read_as<T>(y, [&](auto ry) {
            read_validity(vx, [&](auto mx) {
                for (std::size_t i = 0; i < c.rows; ++i) {
                    out[i] = mx[i] != 0 ? rx[i] : ry[i];
                }
                if (valid != nullptr) {
                    for (std::size_t i = 0; i < c.rows; ++i) {
                        valid[i] = mx[i] | vy[i];
                    }
                }
            });
        });
    });
    result.valid = valid;
    return result;
}

template <template <class> class Kernel, class... Args>
vec by_storage(value_type type, Args&&... args) {
    switch (storage_of(type)) {
        case storage::f64:
            return Kernel<double>::run(std::forward<Args>(args)...);
        case storage::i64:
            return Kernel<std::int64_t>::run(std::forward<Args>(args)...);
        case storage::u8:
            return Kernel<std::uint8_t>::run(std::forward<Args>(args)...);
        case storage::str:
            return Kernel<std::string_view>::run(std::forward<Args>(args)...);
        case storage::none:
            break;
    }
    return scalar_null(type);
}

template <class T>
struct select_kernel {
    static vec run(const vec& cond, const vec& x, const vec& y, value_type t, const context& c) {
        return select<T>(cond, x, y, t, c);
    }
};

template <class T>
struct coalesce_kernel {
    static vec run(const vec& x, const vec& y, value_type t, const context& c) {
        return coalesce<T>(x, y, t, c);
    }
};

vec eval_call(const node& n, const context& c) {
    switch (n.fn) {
        case function::if_then_else: {
            vec cond = eval(*n.args[0], c);
            vec x = eval(*n.args[1], c);
            vec y = eval(*n.args[2], c);
            return by_storage<select_kernel>(n.type, cond, x, y, n.type, c);
        }
        case function::coalesce: {
            vec x = eval(*n.args[0], c);
            vec y = eval(*n.args[1], c);
            return by_storage<coalesce_kernel>(n.type, x, y, n.type, c);
        }
        case function::is_null: {
            vec x = eval(*n.args[0], c);
            const std::uint8_t* vx = validity_of(x, c);
            if (vx == nullptr) {
                vec v;
                v.type = value_type::boolean;
                v.scalar = true;
                v.scalar_valid = true;
                v.b = 0;
                return v;
            }
            std::uint8_t* out = nullptr;
            vec result = make_array<std::uint8_t>(value_type::boolean, c, out);
            for (std::size_t i = 0; i < c.rows; ++i) {
                out[i] = vx[i] ^ 1U;
            }
            return result;
        }
        default:
            break;
    }
    vec x = eval(*n.args[0], c);
    switch (n.fn) {
        case function::abs:
            if (n.operand_type == value_type::int64) {
                return map1<std::int64_t>(
                        x, n.type, c, [](std::int64_t a) { return a < 0 ? wrap_neg(a) : a; });
            }
            return map1<double>(x, n.type, c, [](double a) { return std::fabs(a); });
        case function::sqrt:
            return map1<double>(x, n.type, c, [](double a) { return std::sqrt(a); });
        case function::log:
            return map1<double>(x, n.type, c, [](double a) { return std::log(a); });
        case function::exp:
            return map1<double>(x, n.type, c, [](double a) { return std::exp(a); });
        case function::floor:
            return map1<double>(x, n.type, c, [](double a) { return std::floor(a); });
        case function::ceil:
            return map1<double>(x, n.type, c, [](double a) { return std::ceil(a); });
        case function::round:
            return map1<double>(x, n.type, c, [](double a) { return std::round(a); });
        case function::length:
            return map1<std::string_view>(x, n.type, c, [](std::string_view a) {
                return static_cast<std::int64_t>(a.size());
            });
        default:
            break;
    }
    vec y = eval(*n.args[1], c);
    switch (n.fn) {
        case function::pow:
            return map2<double>(x, y, n.type, c, [](double a, double b) { return std::pow(a, b); });
        case function::min:
        case function::max: {
            const bool is_min = n.fn == function::min;
            if (n.operand_type == value_type::float64) {
                return map2<double>(x, y, n.type, c, [is_min](double a, double b) {
                    return (is_min ? a < b : a > b) ? a : b;
                });
            }
            return map2<std::int64_t>(x, y, n.type, c, [is_min](std::int64_t a, std::int64_t b) {
                return (is_min ? a < b : a > b) ? a : b;
            });
        }
        case function::starts_with:
            return map2<std::string_view>(
                    x, y, n.type, c, [](std::string_view a, std::string_view b) {
                        return a.substr(0, b.size()) == b;
                    });
        case function::ends_with:
            return map2<std::string_view>(
                    x, y, n.type, c, [](std::string_view a, std::string_view b) {
                        return a.size() >= b.size() && a.substr(a.size() - b.size()) == b;
                    });
        case function::contains:
            return map2<std::string_view>(
                    x, y, n.type, c, [](std::string_view a, std::string_view b) {
                        return a.find(b) != std::string_view::npos;
                    });
        default:
            break;
    }
    return scalar_null(n.type);
}

vec eval(const node& n, const context& c) {
    if (n.type == value_type::null) {
        return scalar_null(value_type::null);
    }
    switch (n.kind) {
        case node_kind::literal:
            return eval_literal(n);
        case node_kind::column:
            return eval_column(n, c);
        case node_kind::unary:
            return eval_unary(n, c);
        case node_kind::binary:
            return eval_binary(n, c);
        case node_kind::call:
            return eval_call(n, c);
    }
    return scalar_null(n.type);
}

// Marks the invalid rows of `v` as null in `out`.
void apply_validity(const vec& v, column& out, std::size_t rows) {
    if (v.scalar) {
        if (!v.scalar_valid) {
            for (std::size_t i = 0; i < rows; ++i) {
                out.set_null(i);
            }
        }
        return;
    }
    if (v.valid != nullptr) {
        bytes_to_nulls(v.valid, rows, out);
    }
}

template <class T>
void fill_values(const vec& v, std::vector<T>& dst, std::vector<T>* owner, std::size_t rows) {
    if (v.scalar) {
        T value{};
        if constexpr (std::is_same_v<T, double>) {
            value = v.f;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
            value = v.i;
        } else {
            value = v.b;
        }
        std::fill(dst.begin(), dst.end(), value);
    } else if (owner != nullptr && owner->size() == rows) {
        dst.swap(*owner);  // the root's scratch buffer becomes the column: no copy
    } else {
        const T* src = nullptr;
        if constexpr (std::is_same_v<T, double>) {
            src = v.f64;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
            src = v.i64;
        } else {
            src = v.u8;
        }
        std::copy(src, src + rows, dst.begin());
    }
}

column materialize(const vec& v, data_type type, std::size_t rows) {
    column out(type);
    if (rows == 0) {
        return out;
    }
    switch (type) {
        case data_type::float64:
            out.resize(rows);
            fill_values<double>(v, out.mutable_float64(), v.f64_owner, rows);
            break;
        case data_type::int64:
        case data_type::timestamp_ms:
            out.resize(rows);
            fill_values<std::int64_t>(v, out.mutable_int64(), v.i64_owner, rows);
            break;
        case data_type::boolean:
            out.resize(rows);
            fill_values<std::uint8_t>(v, out.mutable_bool(), v.u8_owner, rows);
            break;
        case data_type::string: {
            std::size_t bytes = 0;
            if (v.scalar) {
                bytes = v.scalar_valid ? v.s.size() * rows : 0;
            } else {
                for (std::size_t i = 0; i < rows; ++i) {
                    bytes += v.str[i].size();
                }
            }
            out.reserve(rows, bytes);
            for (std::size_t i = 0; i < rows; ++i) {
                const bool valid =
                        v.scalar ? v.scalar_valid : (v.valid == nullptr || v.valid[i] != 0);
                if (valid) {
                    out.push_string(v.scalar ? v.s : v.str[i]);
                } else {
                    out.push_null();
                }
            }
            return out;
        }
    }
    apply_validity(v, out, rows);
    return out;
}

}  // namespace

column evaluate_tree(const node& root,
                     data_type type,
                     std::span<const column_ptr> columns,
                     std::size_t rows) {
    arena_lease lease;
    const context c{columns, rows, lease.get()};
    const vec v = eval(root, c);
    return materialize(v, type, rows);
}

std::size_t evaluate_tree_selection(const node& root,
                                    std::span<const column_ptr> columns,
                                    std::size_t rows,
                                    std::vector<std::uint8_t>& selection) {
    arena_lease lease;
    const context c{columns, rows, lease.get()};
    const vec v = eval(root, c);
    selection.resize(rows);
    if (v.scalar) {
        const bool keep = v.scalar_valid && v.b != 0;
        std::fill(selection.begin(), selection.end(), keep ? 1 : 0);
        return keep ? rows : 0;
    }
    std::size_t selected = 0;
    std::uint8_t* out = selection.data();
    read_validity(v.valid, [&](auto valid) {
        for (std::size_t i = 0; i < rows; ++i) {
            const std::uint8_t keep = valid[i] & (v.u8[i] != 0);
            out[i] = keep;
            selected += keep;
        }
    });
    return selected;
}

literal_value evaluate_constant(const node& root) {
    arena_lease lease;
    const context c{{}, 1, lease.get()};
    const vec v = eval(root, c);
    literal_value value;
    value.type = root.type;
    value.is_null = v.scalar ? !v.scalar_valid : (v.valid != nullptr && v.valid[0] == 0);
    if (value.is_null) {
        return value;
    }
    switch (storage_of(root.type)) {
        case storage::f64:
            value.f64 = v.scalar ? v.f : v.f64[0];
            break;
        case storage::i64:
            value.i64 = v.scalar ? v.i : v.i64[0];
            break;
        case storage::u8:
            value.boolean = (v.scalar ? v.b : v.u8[0]) != 0;
            break;
        case storage::str:
            value.str = std::string(v.scalar ? v.s : v.str[0]);
            break;
        case storage::none:
            value.is_null = true;
            break;
    }
    return value;
}

}  // namespace sluice::detail::expr

namespace sluice {

column evaluate(const compiled_expression& expr, const batch& input) {
    return detail::expr::evaluate_tree(expr.root(), expr.type(), input.columns(), input.num_rows());
}

column_ptr evaluate_shared(const compiled_expression& expr, const batch& input) {
    return evaluate_columns(expr, input.columns(), input.num_rows());
}

column_ptr evaluate_columns(const compiled_expression& expr,
                            std::span<const column_ptr> columns,
                            std::size_t num_rows) {
    const std::ptrdiff_t ref = expr.column_reference();
    if (ref >= 0 && static_cast<std::size_t>(ref) < columns.size()) {
        const column_ptr& source = columns[static_cast<std::size_t>(ref)];
        if (source && source->type() == expr.type() && source->size() == num_rows) {
            return source;
        }
    }
    return std::make_shared<const column>(
            detail::expr::evaluate_tree(expr.root(), expr.type(), columns, num_rows));
}

std::size_t evaluate_selection(const compiled_expression& expr,
                               const batch& input,
                               std::vector<std::uint8_t>& selection) {
    if (expr.type() != data_type::boolean) {
        throw std::invalid_argument(
                fmt::format("evaluate_selection needs a bool expression; '{}' is {}",
                            expr.text(),
                            sluice::to_string(expr.type())));
    }
    return detail::expr::evaluate_tree_selection(
            expr.root(), input.columns(), input.num_rows(), selection);
}

}  // namespace sluice
