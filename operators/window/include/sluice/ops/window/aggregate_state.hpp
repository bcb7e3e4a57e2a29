#pragma once

#include <sluice/core/batch.hpp>
#include <sluice/core/column.hpp>
#include <sluice/core/data_type.hpp>
#include <sluice/ops/window/ddsketch.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sluice {

/// The aggregate functions of the `window` operator.
enum class aggregate_function : std::uint8_t {
    count,     ///< rows ("*") or non-missing values of a column; int64
    sum,       ///< float64 sum of a numeric column (missing and NaN skipped)
    mean,      ///< float64 arithmetic mean (Welford)
    min,       ///< smallest value, type of the input column
    max,       ///< largest value, type of the input column
    stddev,    ///< float64 sample standard deviation (n − 1); missing below 2 values
    first,     ///< value with the earliest event time (ties: earliest arrival), any type
    last,      ///< value with the latest event time (ties: latest arrival), any type
    quantile,  ///< float64 q-quantile from a DDSketch (relative error `relative_error`)
};

/// The YAML spelling: "count", "sum", ..., "quantile".
std::string_view to_string(aggregate_function function) noexcept;
/// Parses the YAML spelling; nullopt for anything else.
std::optional<aggregate_function> parse_aggregate_function(std::string_view text) noexcept;
/// True for the functions that need a numeric input column.
bool needs_numeric_input(aggregate_function function) noexcept;

/// One aggregate of a window: what to compute, from which column, and its output name.
struct aggregate_spec {
    std::string name;                                         ///< output column name
    aggregate_function function = aggregate_function::count;  ///< what to compute
    std::string column;            ///< input column; "*" (count only) = rows
    double q = 0.5;                ///< quantile only: 0 < q < 1
    double relative_error = 0.01;  ///< quantile only: the sketch's α, 0 < α < 1
    std::size_t max_bins = 2048;   ///< quantile only: bins per sign, >= 16
};

/// An aggregate resolved against an input schema.
struct aggregate_binding {
    aggregate_spec spec;
    std::optional<std::size_t> input;          ///< input column index; nullopt for count("*")
    data_type input_type = data_type::int64;   ///< type of the input column
    data_type output_type = data_type::int64;  ///< type of the output column
};

/// Resolves `spec` against `input`; returns the error message if it does not fit (unknown
/// column with the closest name, or a non-numeric column for a numeric function).
std::variant<aggregate_binding, std::string> bind_aggregate(const aggregate_spec& spec,
                                                            const schema& input);

/// Count, mean and sum of squared deviations (M2) by Welford's update; two partial results
/// merge with Chan et al.'s parallel formula, so session merges stay numerically stable.
struct running_moments {
    std::uint64_t n = 0;
    double mean = 0;
    double m2 = 0;

    void add(double x) noexcept {
        ++n;
        const double delta = x - mean;
        mean += delta / static_cast<double>(n);
        m2 += delta * (x - mean);
    }
    void merge(const running_moments& other) noexcept;
    /// Sample variance (n − 1); only meaningful for n >= 2.
    double sample_variance() const noexcept {
        return n < 2 ? 0.0 : m2 / static_cast<double>(n - 1);
    }
};

/// The running values of every aggregate of one window (one cell per aggregate, in binding
/// order). Not thread-safe.
class aggregate_state {
public:
    aggregate_state() = default;
    explicit aggregate_state(std::span<const aggregate_binding> bindings);

    /// Adds every cell of `other` to this one (used when session windows merge).
    /// Precondition: both were made from `bindings`.
    void merge(const aggregate_state& other, std::span<const aggregate_binding> bindings);

    /// Appends the result of aggregate `index` (a missing value when it has no input) to `out`,
    /// a column of the binding's output type.
    void append_result(const aggregate_binding& binding, std::size_t index, column& out) const;

    /// Heap bytes held (cells, sketch bins, picked strings); excludes sizeof(*this).
    std::size_t memory_bytes() const noexcept;

    struct count_cell {
        std::int64_t n = 0;
    };
    struct sum_cell {
        double sum = 0;
        std::uint64_t n = 0;
    };
    struct extreme_cell {
        bool has = false;
        double f = 0;        // float64 inputs
        std::int64_t i = 0;  // int64 / timestamp_ms inputs
    };
    struct pick_cell {
        bool has = false;
        std::int64_t time = 0;  // event time of the picked record
        std::uint64_t seq = 0;  // arrival number, breaks event-time ties
        double f = 0;
        std::int64_t i = 0;
        std::string s;  // string inputs (bool inputs use i)
    };
    using cell =
            std::variant<count_cell, sum_cell, running_moments, extreme_cell, pick_cell, ddsketch>;

    std::vector<cell>& cells() noexcept { return cells_; }
    const std::vector<cell>& cells() const noexcept { return cells_; }

private:
    std::vector<cell> cells_;
};

/// Adds rows of `input` to window states: the k-th pair adds row `rows[k]` (with event time
/// `times[rows[k]]` and arrival number `first_seq + rows[k]`) to `*targets[k]`. Aggregates
/// are applied row by row (all cells of one window together, for cache locality).
void accumulate(std::span<const aggregate_binding> bindings,
                const batch& input,
                std::span<const std::uint32_t> rows,
                std::span<aggregate_state* const> targets,
                std::span<const std::int64_t> times,
                std::uint64_t first_seq);

}  // namespace sluice
