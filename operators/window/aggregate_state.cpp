// Aggregate cells of one window: update (column by column), merge and result.

#include "closest_name.hpp"

#include <sluice/core/assert.hpp>
#include <sluice/ops/window/aggregate_state.hpp>

#include <fmt/format.h>

#include <cmath>
#include <type_traits>

namespace sluice {

namespace {

constexpr std::string_view function_names[] = {
        "count", "sum", "mean", "min", "max", "stddev", "first", "last", "quantile"};

void pick(aggregate_state::pick_cell& cell,
          bool earliest,
          const column& values,
          std::size_t row,
          std::int64_t time,
          std::uint64_t seq) {
    if (!values.is_valid(row)) {
        return;
    }
    if (cell.has) {
        const bool better = earliest ? (time < cell.time || (time == cell.time && seq < cell.seq))
                                     : (time > cell.time || (time == cell.time && seq > cell.seq));
        if (!better) {
            return;
        }
    }
    cell.has = true;
    cell.time = time;
    cell.seq = seq;
    switch (values.type()) {
        case data_type::float64:
            cell.f = values.float64_values()[row];
            break;
        case data_type::int64:
        case data_type::timestamp_ms:
            cell.i = values.int64_values()[row];
            break;
        case data_type::boolean:
            cell.i = values.bool_values()[row];
            break;
        case data_type::string:
            cell.s.assign(values.string_at(row));
            break;
    }
}

void merge_pick(aggregate_state::pick_cell& into,
                const aggregate_state::pick_cell& from,
                bool earliest) {
    if (!from.has) {
        return;
    }
    if (into.has) {
        const bool better = earliest ? (from.time < into.time ||
                                        (from.time == into.time && from.seq < into.seq))
                                     : (from.time > into.time ||
                                        (from.time == into.time && from.seq > into.seq));
        if (!better) {
            return;
        }
    }
    into = from;
}

}  // namespace

std::string_view to_string(aggregate_function function) noexcept {
    return function_names[static_cast<std::size_t>(function)];
}

std::optional<aggregate_function> parse_aggregate_function(std::string_view text) noexcept {
    for (std::size_t i = 0; i < std::size(function_names); ++i) {
        if (function_names[i] == text) {
            return static_cast<aggregate_function>(i);
        }
    }
    return std::nullopt;
}

bool needs_numeric_input(aggregate_function function) noexcept {
    switch (function) {
        case aggregate_function::count:
        case aggregate_function::first:
        case aggregate_function::last:
            return false;
        default:
            return true;
    }
}

std::variant<aggregate_binding, std::string> bind_aggregate(const aggregate_spec& spec,
                                                            const schema& input) {
    aggregate_binding b;
    b.spec = spec;
    if (spec.function == aggregate_function::count && spec.column == "*") {
        b.output_type = data_type::int64;
        return b;
    }
    const auto index = input.index_of(spec.column);
    if (!index) {
        std::vector<std::string> names;
        for (const auto& f : input.fields()) {
            names.push_back(f.name);
        }
        return detail::window::unknown_column_message(spec.column, names);
    }
    b.input = *index;
    b.input_type = input.at(*index).type;
    if (needs_numeric_input(spec.function) && !is_numeric(b.input_type)) {
        return fmt::format("{} needs a numeric column, but '{}' is {}",
                           to_string(spec.function),
                           spec.column,
                           to_string(b.input_type));
    }
    switch (spec.function) {
        case aggregate_function::count:
            b.output_type = data_type::int64;
            break;
        case aggregate_function::min:
        case aggregate_function::max:
        case aggregate_function::first:
        case aggregate_function::last:
            b.output_type = b.input_type;
            break;
        default:
            b.output_type = data_type::float64;
            break;
    }
    return b;
}

void running_moments::merge(const running_moments& other) noexcept {
    if (other.n == 0) {
        return;
    }
    if (n == 0) {
        *this = other;
        return;
    }
    const auto na = static_cast<double>(n);
    const auto nb = static_cast<double>(other.n);
    const double total = na + nb;
    const double delta = other.mean - mean;
    mean += delta * nb / total;
    m2 += other.m2 + delta * delta * na * nb / total;
    n += other.n;
}

aggregate_state::aggregate_state(std::span<const aggregate_binding> bindings) {
    cells_.reserve(bindings.size());
    for (const auto& b : bindings) {
        switch (b.spec.function) {
            case aggregate_function::count:
                cells_.emplace_back(count_cell{});
                break;
            case aggregate_function::sum:
                cells_.emplace_back(sum_cell{});
                break;
            case aggregate_function::mean:
            case aggregate_function::stddev:
                cells_.emplace_back(running_moments{});
                break;
            case aggregate_function::min:
            case aggregate_function::max:
                cells_.emplace_back(extreme_cell{});
                break;
            case aggregate_function::first:
            case aggregate_function::last:
                cells_.emplace_back(pick_cell{});
                break;
            case aggregate_function::quantile:
                cells_.emplace_back(ddsketch(b.spec.relative_error, b.spec.max_bins));
                break;
        }
    }
}

void aggregate_state::merge(const aggregate_state& other,
                            std::span<const aggregate_binding> bindings) {
    SLUICE_ASSERT(other.cells_.size() == cells_.size() && bindings.size() == cells_.size());
    for (std::size_t i = 0; i < cells_.size(); ++i) {
        std::visit(
                [&](auto& into) {
                    using cell_type = std::decay_t<decltype(into)>;
                    const auto& from = std::get<cell_type>(other.cells_[i]);
                    if constexpr (std::is_same_v<cell_type, count_cell>) {
                        into.n += from.n;
                    } else if constexpr (std::is_same_v<cell_type, sum_cell>) {
                        into.sum += from.sum;
                        into.n += from.n;
                    } else if constexpr (std::is_same_v<cell_type, running_moments> ||
                                         std::is_same_v<cell_type, ddsketch>) {
                        into.merge(from);
                    } else if constexpr (std::is_same_v<cell_type, extreme_cell>) {
                        const bool want_min = bindings[i].spec.function == aggregate_function::min;
                        const bool is_float = bindings[i].input_type == data_type::float64;
                        if (from.has &&
                            (!into.has ||
                             (is_float ? (want_min ? from.f < into.f : from.f > into.f)
                                       : (want_min ? from.i < into.i : from.i > into.i)))) {
                            into = from;
                        }
                    } else {
                        merge_pick(
                                into, from, bindings[i].spec.function == aggregate_function::first);
                    }
                },
                cells_[i]);
    }
}

std::size_t aggregate_state::memory_bytes() const noexcept {
    std::size_t bytes = cells_.capacity() * sizeof(cell);
    for (const auto& c : cells_) {
        if (const auto* sketch = std::get_if<ddsketch>(&c)) {
            bytes += sketch->memory_bytes();
        } else if (const auto* p = std::get_if<pick_cell>(&c);
                   p != nullptr && p->s.capacity() > 15) {
            bytes += p->s.capacity();
        }
    }
    return bytes;
}

void aggregate_state::append_result(const aggregate_binding& binding,
                                    std::size_t index,
                                    column& out) const {
    const cell& c = cells_.at(index);
    const auto f = binding.spec.function;
    switch (f) {
        case aggregate_function::count:
            out.push_int64(std::get<count_cell>(c).n);
            return;
        case aggregate_function::sum: {
            const auto& s = std::get<sum_cell>(c);
            s.n == 0 ? out.push_null() : out.push_float64(s.sum);
            return;
        }
        case aggregate_function::mean: {
            const auto& m = std::get<running_moments>(c);
            m.n == 0 ? out.push_null() : out.push_float64(m.mean);
            return;
        }
        case aggregate_function::stddev: {
            const auto& m = std::get<running_moments>(c);
            m.n < 2 ? out.push_null() : out.push_float64(std::sqrt(m.sample_variance()));
            return;
        }
        case aggregate_function::min:
        case aggregate_function::max: {
            const auto& e = std::get<extreme_cell>(c);
            if (!e.has) {
                out.push_null();
            } else if (binding.output_type == data_type::float64) {
                out.push_float64(e.f);
            } else {
                out.push_int64(e.i);
            }
            return;
        }
        case aggregate_function::first:
        case aggregate_function::last: {
            const auto& p = std::get<pick_cell>(c);
            if (!p.has) {
                out.push_null();
                return;
            }
            switch (binding.output_type) {
                case data_type::float64:
                    out.push_float64(p.f);
                    break;
                case data_type::int64:
                case data_type::timestamp_ms:
                    out.push_int64(p.i);
                    break;
                case data_type::boolean:
                    out.push_bool(p.i != 0);
                    break;
                case data_type::string:
                    out.push_string(p.s);
                    break;
            }
            return;
        }
        case aggregate_function::quantile: {
            const auto& sketch = std::get<ddsketch>(c);
            sketch.empty() ? out.push_null() : out.push_float64(sketch.quantile(binding.spec.q));
            return;
        }
    }
}

namespace {

// One aggregate's input, resolved once per call: raw value pointers, so that the per-row work
// is a switch and a load (column accessors are out of line).
struct prepared_input {
    // Pointers first: 32 bytes instead of 40 with the small fields between them.
    const column* values = nullptr;     // null for count("*")
    const double* f64 = nullptr;        // float64 inputs
    const std::int64_t* i64 = nullptr;  // int64 / timestamp_ms inputs
    aggregate_function function = aggregate_function::count;
    bool is_float = false;
};

inline bool read_numeric(const prepared_input& in, std::uint32_t r, double& x) {
    if (!in.values->is_valid(r)) {
        return false;
    }
    if (in.is_float) {
        x = in.f64[r];
        return !std::isnan(x);
    }
    x = static_cast<double>(in.i64[r]);
    return true;
}

}  // namespace

void accumulate(std::span<const aggregate_binding> bindings,
                const batch& input,
                std::span<const std::uint32_t> rows,
                std::span<aggregate_state* const> targets,
                std::span<const std::int64_t> times,
                std::uint64_t first_seq) {
    SLUICE_ASSERT(rows.size() == targets.size());
    // Row by row, every aggregate of a window in turn: a window's cells share cache lines, and
    // with many keys the windows of a batch are scattered over memory.
    constexpr std::size_t inline_capacity = 16;
    prepared_input inline_inputs[inline_capacity];
    std::vector<prepared_input> heap_inputs;
    prepared_input* inputs = inline_inputs;
    if (bindings.size() > inline_capacity) {
        heap_inputs.resize(bindings.size());
        inputs = heap_inputs.data();
    }
    for (std::size_t a = 0; a < bindings.size(); ++a) {
        const aggregate_binding& b = bindings[a];
        prepared_input& in = inputs[a];
        in.function = b.spec.function;
        if (!b.input) {
            continue;
        }
        in.values = &input.column_at(*b.input);
        in.is_float = in.values->type() == data_type::float64;
        if (in.is_float) {
            in.f64 = in.values->float64_values().data();
        } else if (is_integer_storage(in.values->type())) {
            in.i64 = in.values->int64_values().data();
        }
    }
    // With many keys a window's cells are not in cache; ask for the ones a few rows ahead (the
    // caller has just touched their window slots, so the cell addresses are cheap to read).
    constexpr std::size_t ahead = 8;
    for (std::size_t k = 0; k < rows.size(); ++k) {
        if (k + ahead < rows.size()) {
            const auto& next = targets[k + ahead]->cells();
            for (const auto& cell : next) {
                __builtin_prefetch(&cell);
            }
        }
        const std::uint32_t r = rows[k];
        auto& cells = targets[k]->cells();
        for (std::size_t a = 0; a < bindings.size(); ++a) {
            const prepared_input& in = inputs[a];
            auto& c = cells[a];
            switch (in.function) {
                case aggregate_function::count:
                    std::get<aggregate_state::count_cell>(c).n +=
                            (in.values == nullptr || in.values->is_valid(r)) ? 1 : 0;
                    break;
                case aggregate_function::sum: {
                    double x = 0;
                    if (read_numeric(in, r, x)) {
                        auto& cell = std::get<aggregate_state::sum_cell>(c);
                        cell.sum += x;
                        ++cell.n;
                    }
                    break;
                }
                case aggregate_function::mean:
                case aggregate_function::stddev: {
                    double x = 0;
                    if (read_numeric(in, r, x)) {
                        std::get<running_moments>(c).add(x);
                    }
                    break;
                }
                case aggregate_function::min:
                case aggregate_function::max: {
                    if (!in.values->is_valid(r)) {
                        break;
                    }
                    auto& cell = std::get<aggregate_state::extreme_cell>(c);
                    const bool want_min = in.function == aggregate_function::min;
                    if (in.is_float) {
                        const double x = in.f64[r];
                        if (!std::isnan(x) && (!cell.has || (want_min ? x < cell.f : x > cell.f))) {
                            cell.has = true;
                            cell.f = x;
                        }
                    } else {
                        const std::int64_t x = in.i64[r];
                        if (!cell.has || (want_min ? x < cell.i : x > cell.i)) {
                            cell.has = true;
                            cell.i = x;
                        }
                    }
                    break;
                }
                case aggregate_function::first:
                case aggregate_function::last:
                    pick(std::get<aggregate_state::pick_cell>(c),
                         in.function == aggregate_function::first,
                         *in.values,
                         r,
                         times[r],
                         first_seq + r);
                    break;
                case aggregate_function::quantile: {
                    double x = 0;
                    if (read_numeric(in, r, x)) {
                        std::get<ddsketch>(c).add(x);
                    }
                    break;
                }
            }
        }
    }
}

}  // namespace sluice
