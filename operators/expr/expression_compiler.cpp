// Type checker: resolves names against the schema, checks operand types, desugars variadic
// functions and folds constants. Every error names the offending token's offset.

#include "expression_ast.hpp"

#include <sluice/core/edit_distance.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <string>
#include <utility>

namespace sluice {

std::string expression_error::to_string() const {
    return fmt::format("col {}: {}", column(), message);
}

bool compiled_expression::is_constant() const noexcept {
    return root_ && root_->kind == detail::expr::node_kind::literal;
}

std::ptrdiff_t compiled_expression::column_reference() const noexcept {
    if (root_ && root_->kind == detail::expr::node_kind::column) {
        return static_cast<std::ptrdiff_t>(root_->column_index);
    }
    return -1;
}

namespace detail::expr {

value_type from_data_type(data_type type) noexcept {
    switch (type) {
        case data_type::float64:
            return value_type::float64;
        case data_type::int64:
            return value_type::int64;
        case data_type::boolean:
            return value_type::boolean;
        case data_type::string:
            return value_type::string;
        case data_type::timestamp_ms:
            return value_type::timestamp_ms;
    }
    return value_type::null;
}

data_type to_data_type(value_type type) noexcept {
    switch (type) {
        case value_type::float64:
            return data_type::float64;
        case value_type::int64:
            return data_type::int64;
        case value_type::boolean:
            return data_type::boolean;
        case value_type::string:
            return data_type::string;
        case value_type::timestamp_ms:
            return data_type::timestamp_ms;
        case value_type::null:
            break;
    }
    return data_type::float64;
}

std::string_view to_string(value_type type) noexcept {
    // Spelled as sluice::to_string(data_type) spells them, so messages match the YAML schema.
    switch (type) {
        case value_type::float64:
            return "float64";
        case value_type::int64:
            return "int64";
        case value_type::boolean:
            return "bool";
        case value_type::string:
            return "string";
        case value_type::timestamp_ms:
            return "timestamp_ms";
        case value_type::null:
            return "null";
    }
    return "?";
}

std::string_view to_string(op o) noexcept {
    switch (o) {
        case op::neg:
            return "-";
        case op::logical_not:
            return "not";
        case op::add:
            return "+";
        case op::sub:
            return "-";
        case op::mul:
            return "*";
        case op::div:
            return "/";
        case op::mod:
            return "%";
        case op::eq:
            return "==";
        case op::ne:
            return "!=";
        case op::lt:
            return "<";
        case op::le:
            return "<=";
        case op::gt:
            return ">";
        case op::ge:
            return ">=";
        case op::logical_and:
            return "and";
        case op::logical_or:
            return "or";
    }
    return "?";
}

namespace {

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

struct function_info {
    std::string_view name;
    function fn;
    std::size_t min_args;
    std::size_t max_args;  // max() = any number
};

constexpr std::size_t any_number = std::numeric_limits<std::size_t>::max();

constexpr function_info functions[] = {
        {"abs", function::abs, 1, 1},
        {"ceil", function::ceil, 1, 1},
        {"coalesce", function::coalesce, 2, any_number},
        {"contains", function::contains, 2, 2},
        {"ends_with", function::ends_with, 2, 2},
        {"exp", function::exp, 1, 1},
        {"floor", function::floor, 1, 1},
        {"if", function::if_then_else, 3, 3},
        {"is_null", function::is_null, 1, 1},
        {"length", function::length, 1, 1},
        {"log", function::log, 1, 1},
        {"max", function::max, 2, any_number},
        {"min", function::min, 2, any_number},
        {"pow", function::pow, 2, 2},
        {"round", function::round, 1, 1},
        {"sqrt", function::sqrt, 1, 1},
        {"starts_with", function::starts_with, 2, 2},
};

const function_info* find_function(std::string_view name) {
    const std::string lower = lowercase(name);
    for (const auto& info : functions) {
        if (info.name == lower) {
            return &info;
        }
    }
    return nullptr;
}

bool is_arith_numeric(value_type t) {
    return t == value_type::int64 || t == value_type::float64;
}

bool is_number_or_null(value_type t) {
    return is_arith_numeric(t) || t == value_type::null;
}

// The common type of two values that may stand in the same place (if/coalesce branches,
// min/max arguments): equal types, null with anything, int with float (float), int with
// timestamp (timestamp, the int read as ms).
std::optional<value_type> unify(value_type a, value_type b) {
    if (a == b) {
        return a;
    }
    if (a == value_type::null) {
        return b;
    }
    if (b == value_type::null) {
        return a;
    }
    if (is_arith_numeric(a) && is_arith_numeric(b)) {
        return value_type::float64;
    }
    if ((a == value_type::timestamp_ms && b == value_type::int64) ||
        (a == value_type::int64 && b == value_type::timestamp_ms)) {
        return value_type::timestamp_ms;
    }
    return std::nullopt;
}

// Null-propagating operations: any null operand makes the result null.
bool propagates_null(const node& n) {
    if (n.kind == node_kind::unary) {
        return true;
    }
    if (n.kind == node_kind::binary) {
        return n.oper != op::logical_and && n.oper != op::logical_or;
    }
    if (n.kind == node_kind::call) {
        return n.fn != function::if_then_else && n.fn != function::is_null &&
               n.fn != function::coalesce;
    }
    return false;
}

bool is_literal(const node_ptr& n) {
    return n->kind == node_kind::literal;
}

bool is_null_literal(const node_ptr& n) {
    return is_literal(n) && n->literal.is_null;
}

node_ptr make_literal(literal_value value, std::size_t offset) {
    auto n = std::make_unique<node>();
    n->kind = node_kind::literal;
    n->offset = offset;
    n->type = value.type;
    n->literal = std::move(value);
    return n;
}

node_ptr make_typed_null(value_type type, std::size_t offset) {
    literal_value value;
    value.type = type;
    return make_literal(std::move(value), offset);
}

class checker {
public:
    checker(const schema& input, expression_error& error)
        : schema_(input)
        , error_(error) {}

    bool check(node_ptr& n) {
        switch (n->kind) {
            case node_kind::literal:
                n->type = n->literal.type;
                return true;
            case node_kind::column:
                return check_column(*n);
            case node_kind::unary:
                return check_args(*n) && check_unary(*n) && fold(n);
            case node_kind::binary:
                return check_args(*n) && check_binary(*n) && fold(n);
            case node_kind::call:
                return check_call(n);
        }
        return false;
    }

private:
    bool fail(std::size_t offset, std::string message) {
        error_ = {std::move(message), offset};
        return false;
    }

    bool check_args(node& n) {
        for (auto& arg : n.args) {
            if (!check(arg)) {
                return false;
            }
        }
        return true;
    }

    bool check_column(node& n) {
        if (const auto index = schema_.index_of(n.name)) {
            n.column_index = *index;
            n.type = from_data_type(schema_.at(*index).type);
            return true;
        }
        std::vector<std::string_view> names;
        for (const auto& f : schema_.fields()) {
            names.push_back(f.name);
        }
        if (auto suggestion = closest_name(n.name, names)) {
            return fail(
                    n.offset,
                    fmt::format("unknown column '{}'; did you mean '{}'?", n.name, *suggestion));
        }
        if (names.empty()) {
            return fail(n.offset,
                        fmt::format("unknown column '{}' (the input has no columns)", n.name));
        }
        constexpr std::size_t listed = 12;
        std::string list;
        for (std::size_t i = 0; i < names.size() && i < listed; ++i) {
            list += (i == 0 ? "" : ", ") + std::string(names[i]);
        }
        if (names.size() > listed) {
            list += fmt::format(", ... {} more", names.size() - listed);
        }
        return fail(n.offset, fmt::format("unknown column '{}' (columns: {})", n.name, list));
    }

    bool check_unary(node& n) {
        const value_type t = n.args[0]->type;
        if (n.oper == op::logical_not) {
            if (t != value_type::boolean && t != value_type::null) {
                return fail(
                        n.offset,
                        fmt::format("operator '{}' expects bool, found {}", n.name, to_string(t)));
            }
            n.type = value_type::boolean;
            n.operand_type = value_type::boolean;
            return true;
        }
        if (!is_number_or_null(t)) {
            return fail(n.offset,
                        fmt::format("operator '-' expects a number, found {}", to_string(t)));
        }
        n.type = t;
        n.operand_type = t;
        return true;
    }

    bool check_binary(node& n) {
        const value_type a = n.args[0]->type;
        const value_type b = n.args[1]->type;
        switch (n.oper) {
            case op::logical_and:
            case op::logical_or:
                for (const value_type t : {a, b}) {
                    if (t != value_type::boolean && t != value_type::null) {
                        return fail(n.offset,
                                    fmt::format("operator '{}' expects bool operands, found {}",
                                                n.name,
                                                to_string(t)));
                    }
                }
                n.type = value_type::boolean;
                n.operand_type = value_type::boolean;
                return true;
            case op::eq:
            case op::ne:
            case op::lt:
            case op::le:
            case op::gt:
            case op::ge:
                return check_comparison(n, a, b);
            default:
                return check_arithmetic(n, a, b);
        }
    }

    bool check_comparison(node& n, value_type a, value_type b) {
        n.type = value_type::boolean;
        const bool ordering = n.oper != op::eq && n.oper != op::ne;
        auto mismatch = [&] {
            return fail(n.offset,
                        fmt::format("operator '{}' cannot compare {} with {}",
                                    n.name,
                                    to_string(a),
                                    to_string(b)));
        };
        // A null operand makes the result null whatever the other side is; the node is folded
        // to a null literal right after.
        const value_type x = a == value_type::null ? b : a;
        const value_type y = b == value_type::null ? a : b;
        if (x == value_type::null) {
            n.operand_type = value_type::null;
            return true;
        }
        const auto integral = [](value_type t) {
            return t == value_type::int64 || t == value_type::timestamp_ms;
        };
        if (integral(x) && integral(y)) {
            // int64s, or timestamps with timestamps or ms counts
            n.operand_type = value_type::int64;
        } else if (is_arith_numeric(x) && is_arith_numeric(y)) {
            n.operand_type = value_type::float64;
        } else if (x == value_type::string && y == value_type::string) {
            n.operand_type = value_type::string;
        } else if (x == value_type::boolean && y == value_type::boolean) {
            if (ordering) {
                return fail(n.offset,
                            fmt::format("operator '{}' cannot order bool values; use == or !=",
                                        n.name));
            }
            n.operand_type = value_type::boolean;
        } else {
            return mismatch();
        }
        return true;
    }

    bool check_arithmetic(node& n, value_type a, value_type b) {
        auto mismatch = [&] {
            return fail(n.offset,
                        fmt::format("operator '{}' cannot combine {} with {}",
                                    n.name,
                                    to_string(a),
                                    to_string(b)));
        };
        for (const value_type t : {a, b}) {
            if (t == value_type::string || t == value_type::boolean) {
                return mismatch();
            }
        }
        // null stands for a missing value of the other side's type.
        const value_type x = a == value_type::null ? b : a;
        const value_type y = b == value_type::null ? a : b;
        const bool x_ts = x == value_type::timestamp_ms;
        const bool y_ts = y == value_type::timestamp_ms;
        if (x == value_type::null) {
            n.type = n.oper == op::div ? value_type::float64 : value_type::null;
            n.operand_type = n.type;
            return true;
        }
        if (x_ts || y_ts) {
            // timestamp + ms, ms + timestamp, timestamp - ms
            const bool shifted = (n.oper == op::add && !(x_ts && y_ts) &&
                                  (x == value_type::int64 || y == value_type::int64)) ||
                                 (n.oper == op::sub && x_ts && y == value_type::int64);
            if (shifted) {
                n.type = value_type::timestamp_ms;
            } else if (n.oper == op::sub && x_ts && y_ts) {
                n.type = value_type::int64;  // difference in ms
            } else {
                return mismatch();
            }
            n.operand_type = value_type::int64;
            return true;
        }
        // Division always computes in float64: 7 / 2 is 3.5, not 3 (README: "Division").
        const bool integral = n.oper != op::div && x == value_type::int64 && y == value_type::int64;
        n.type = integral ? value_type::int64 : value_type::float64;
        n.operand_type = n.type;
        return true;
    }

    bool check_arity(const node& n, const function_info& info) {
        const std::size_t count = n.args.size();
        if (count >= info.min_args && count <= info.max_args) {
            return true;
        }
        auto plural = [](std::size_t k) {
            return k == 1 ? "argument" : "arguments";
        };
        if (info.max_args == any_number) {
            return fail(n.offset,
                        fmt::format("function '{}' takes at least {} {}, found {}",
                                    info.name,
                                    info.min_args,
                                    plural(info.min_args),
                                    count));
        }
        return fail(n.offset,
                    fmt::format("function '{}' takes {} {}, found {}",
                                info.name,
                                info.min_args,
                                plural(info.min_args),
                                count));
    }

    bool expect_arg(const node& call, std::size_t i, bool ok, std::string_view what) {
        if (ok) {
            return true;
        }
        const node& arg = *call.args[i];
        return fail(arg.offset,
                    fmt::format("function '{}' expects {}, found {}",
                                lowercase(call.name),
                                what,
                                to_string(arg.type)));
    }

    bool check_call(node_ptr& n) {
        const function_info* info = find_function(n->name);
        if (info == nullptr) {
            std::vector<std::string_view> names;
            for (const auto& f : functions) {
                names.push_back(f.name);
            }
            if (auto suggestion = closest_name(n->name, names)) {
                return fail(
                        n->offset,
                        fmt::format(
                                "unknown function '{}'; did you mean '{}'?", n->name, *suggestion));
            }
            std::string list;
            for (const auto& f : functions) {
                list += (list.empty() ? "" : ", ") + std::string(f.name);
            }
            return fail(n->offset,
                        fmt::format("unknown function '{}' (functions: {})", n->name, list));
        }
        n->fn = info->fn;
        if (!check_arity(*n, *info)) {
            return false;
        }
        if (!check_args(*n)) {
            return false;
        }
        // min(a, b, c) -> min(min(a, b), c); the same for max and coalesce. Binary calls keep
        // the evaluator simple and cost nothing at run time. Each inner call is typed as it is
        // built, since its arguments already are.
        while (info->max_args == any_number && n->args.size() > 2) {
            auto inner = std::make_unique<node>();
            inner->kind = node_kind::call;
            inner->offset = n->offset;
            inner->name = n->name;
            inner->fn = n->fn;
            inner->args.push_back(std::move(n->args[0]));
            inner->args.push_back(std::move(n->args[1]));
            if (!check_function(*inner) || !fold(inner)) {
                return false;
            }
            n->args.erase(n->args.begin(), n->args.begin() + 2);
            n->args.insert(n->args.begin(), std::move(inner));
        }
        if (!check_function(*n)) {
            return false;
        }
        // floor/ceil/round of an int is the int itself.
        if ((n->fn == function::floor || n->fn == function::ceil || n->fn == function::round) &&
            n->args[0]->type == value_type::int64) {
            node_ptr arg = std::move(n->args[0]);
            n = std::move(arg);
            return true;
        }
        return fold(n);
    }

    // Types a call whose arguments are typed (arity already checked).
    bool check_function(node& n) {
        auto arg_type = [&](std::size_t i) {
            return n.args[i]->type;
        };
        const std::string name = lowercase(n.name);
        switch (n.fn) {
            case function::abs:
            case function::floor:
            case function::ceil:
            case function::round:
                if (!expect_arg(n, 0, is_number_or_null(arg_type(0)), "a number")) {
                    return false;
                }
                n.type = arg_type(0);
                n.operand_type = n.type;
                return true;
            case function::sqrt:
            case function::log:
            case function::exp:
                if (!expect_arg(n, 0, is_number_or_null(arg_type(0)), "a number")) {
                    return false;
                }
                n.type = value_type::float64;
                n.operand_type = value_type::float64;
                return true;
            case function::pow:
                for (std::size_t i = 0; i < 2; ++i) {
                    if (!expect_arg(n, i, is_number_or_null(arg_type(i)), "numbers")) {
                        return false;
                    }
                }
                n.type = value_type::float64;
                n.operand_type = value_type::float64;
                return true;
            case function::min:
            case function::max: {
                for (std::size_t i = 0; i < 2; ++i) {
                    const value_type t = arg_type(i);
                    if (!expect_arg(n,
                                    i,
                                    is_number_or_null(t) || t == value_type::timestamp_ms,
                                    "numbers or timestamps")) {
                        return false;
                    }
                }
                const auto common = unify(arg_type(0), arg_type(1));
                if (!common) {
                    return fail(n.offset,
                                fmt::format("function '{}' cannot combine {} with {}",
                                            name,
                                            to_string(arg_type(0)),
                                            to_string(arg_type(1))));
                }
                n.type = *common;
                n.operand_type = *common;
                return true;
            }
            case function::if_then_else: {
                if (!expect_arg(
                            n,
                            0,
                            arg_type(0) == value_type::boolean || arg_type(0) == value_type::null,
                            "a bool condition")) {
                    return false;
                }
                const auto common = unify(arg_type(1), arg_type(2));
                if (!common) {
                    return fail(n.offset,
                                fmt::format("function 'if' branches have different types: {} "
                                            "and {}",
                                            to_string(arg_type(1)),
                                            to_string(arg_type(2))));
                }
                n.type = *common;
                n.operand_type = *common;
                return true;
            }
            case function::coalesce: {
                const auto common = unify(arg_type(0), arg_type(1));
                if (!common) {
                    return fail(n.offset,
                                fmt::format("function 'coalesce' arguments have different "
                                            "types: {} and {}",
                                            to_string(arg_type(0)),
                                            to_string(arg_type(1))));
                }
                n.type = *common;
                n.operand_type = *common;
                return true;
            }
            case function::is_null:
                n.type = value_type::boolean;
                n.operand_type = arg_type(0);
                return true;
            case function::starts_with:
            case function::ends_with:
            case function::contains:
                for (std::size_t i = 0; i < 2; ++i) {
                    const value_type t = arg_type(i);
                    if (!expect_arg(n,
                                    i,
                                    t == value_type::string || t == value_type::null,
                                    "strings")) {
                        return false;
                    }
                }
                n.type = value_type::boolean;
                n.operand_type = value_type::string;
                return true;
            case function::length:
                if (!expect_arg(
                            n,
                            0,
                            arg_type(0) == value_type::string || arg_type(0) == value_type::null,
                            "a string")) {
                    return false;
                }
                n.type = value_type::int64;
                n.operand_type = value_type::string;
                return true;
        }
        return false;
    }

    // Constant folding and null propagation on a typed node. Folding runs the evaluator's own
    // kernels on one row, so a folded constant is exactly what evaluation would have produced.
    bool fold(node_ptr& n) {
        if (propagates_null(*n)) {
            for (const auto& arg : n->args) {
                if (is_null_literal(arg)) {
                    n = make_typed_null(n->type, n->offset);
                    return true;
                }
            }
        }
        if (n->kind == node_kind::binary &&
            (n->oper == op::logical_and || n->oper == op::logical_or)) {
            // false and x = false, true or x = true, whatever x is (null included);
            // true and x = x, false or x = x.
            const bool absorbing = n->oper == op::logical_or;
            for (std::size_t i = 0; i < 2; ++i) {
                const node_ptr& side = n->args[i];
                if (is_literal(side) && !side->literal.is_null) {
                    if (side->literal.boolean == absorbing) {
                        node_ptr keep = std::move(n->args[i]);
                        n = std::move(keep);
                        return true;
                    }
                    node_ptr other = std::move(n->args[1 - i]);
                    if (is_null_literal(other)) {
                        // `true and null` is a null bool, not an untyped null.
                        n = make_typed_null(value_type::boolean, other->offset);
                    } else {
                        n = std::move(other);
                    }
                    return true;
                }
            }
        }
        if (n->type == value_type::null) {
            // Always null (e.g. `null + null` or if(c, null, null)).
            n = make_typed_null(value_type::null, n->offset);
            return true;
        }
        const bool all_literal = std::all_of(n->args.begin(), n->args.end(), is_literal);
        if (all_literal && !n->args.empty()) {
            literal_value value = evaluate_constant(*n);
            n = make_literal(std::move(value), n->offset);
        }
        return true;
    }

    const schema& schema_;
    expression_error& error_;
};

void collect_columns(const node& n, std::vector<std::size_t>& out) {
    if (n.kind == node_kind::column) {
        out.push_back(n.column_index);
    }
    for (const auto& arg : n.args) {
        collect_columns(*arg, out);
    }
}

}  // namespace

std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string_view>& candidates) {
    const std::string lower = lowercase(name);
    std::optional<std::string> best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (const auto candidate : candidates) {
        const std::size_t d = edit_distance(lower, lowercase(candidate));
        if (d < best_distance) {
            best_distance = d;
            best = std::string(candidate);
        }
    }
    // About one typo per four characters, at least one: "temprature" finds "temperature",
    // while "x" does not suggest an unrelated "id".
    const std::size_t allowed = std::max<std::size_t>(1, (name.size() + 1) / 4);
    if (best && best_distance <= allowed && !(best_distance == 1 && name.size() == 1)) {
        return best;
    }
    return std::nullopt;
}

}  // namespace detail::expr

expression_result compile_expression(std::string_view text, const schema& input) {
    using detail::expr::checker;
    using detail::expr::collect_columns;
    using detail::expr::node_ptr;
    using detail::expr::parse;
    using detail::expr::to_data_type;
    using detail::expr::value_type;
    expression_error error;
    node_ptr root = parse(text, error);
    if (!root) {
        return error;
    }
    checker check(input, error);
    if (!check.check(root)) {
        return error;
    }
    if (root->type == value_type::null) {
        return expression_error{
                "the expression is always null, so its type is unknown; give the null a type, "
                "e.g. if(false, 0.0, null)",
                root->offset};
    }
    compiled_expression compiled;
    compiled.type_ = to_data_type(root->type);
    compiled.text_ = std::string(text);
    collect_columns(*root, compiled.columns_used_);
    std::sort(compiled.columns_used_.begin(), compiled.columns_used_.end());
    compiled.columns_used_.erase(
            std::unique(compiled.columns_used_.begin(), compiled.columns_used_.end()),
            compiled.columns_used_.end());
    compiled.root_ = std::move(root);
    return compiled;
}

}  // namespace sluice
