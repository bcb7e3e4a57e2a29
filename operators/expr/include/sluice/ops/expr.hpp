#pragma once

#include <sluice/operator/operator.hpp>
#include <sluice/operator/option_spec.hpp>
#include <sluice/ops/expression.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// \file
/// The `filter` and `map` transforms, built on the expression language of expression.hpp.
///
/// ```yaml
///   hot:  {type: filter, inputs: [parsed], condition: "temperature > 30 and humidity < 40"}
///   enriched:
///     type: map
///     inputs: [hot]
///     columns:
///       temperature_f: "temperature * 9 / 5 + 32"
///     drop: [location]
/// ```

namespace sluice {

class operator_registry;
class options;

/// Registers the `filter` and `map` transforms.
void register_expr_operators(operator_registry& registry);

/// Options of `filter`.
struct filter_config {
    std::string condition;  ///< bool expression; a row is kept only where it is true
};

/// Keeps the rows for which a bool expression is true; false and null drop the row (SQL
/// WHERE). Stateless: `process` is thread-safe and runs in parallel. Batches where every row
/// passes are forwarded unchanged (columns shared, not copied).
class filter_transform final : public transform {
public:
    static constexpr std::string_view type_name = "filter";
    /// Declares the `condition` option.
    static void describe(option_spec& spec);
    static filter_config config_from(const options& opts);

    explicit filter_transform(filter_config config);

    operator_traits traits() const override { return {concurrency::parallel, false}; }
    /// Compiles the condition against `input`. Errors (code "expression-error", at key
    /// "condition"): any compile error, or a condition that is not bool.
    schema_ptr bind(const schema_ptr& input, bind_context& ctx) override;
    /// Never throws for data; throws operator_error if `input` does not have the bound schema.
    batch process(const batch& input, operator_context& ctx) override;

    /// The compiled condition (set by a successful bind).
    const std::optional<compiled_expression>& condition() const noexcept { return condition_; }

private:
    filter_config config_;
    schema_ptr schema_;
    std::optional<compiled_expression> condition_;
};

/// Options of `map`.
struct map_config {
    /// New or replaced column -> expression, evaluated in this order; an expression may use
    /// the columns computed before it. A replaced column keeps its position, new ones are
    /// appended.
    std::vector<std::pair<std::string, std::string>> columns;
    /// Columns removed from the output, after every expression was evaluated (so helper
    /// columns can be computed, used and dropped).
    std::vector<std::string> drop;
};

/// Adds or replaces columns computed by expressions and drops columns. Stateless: `process`
/// is thread-safe and runs in parallel. Input columns that are not replaced are shared with
/// the output, never copied; a bare column reference (`copy: "temperature"`) shares too.
class map_transform final : public transform {
public:
    static constexpr std::string_view type_name = "map";
    /// Declares the `columns` and `drop` options (at least one of them is required).
    static void describe(option_spec& spec);
    static map_config config_from(const options& opts);

    explicit map_transform(map_config config);

    operator_traits traits() const override { return {concurrency::parallel, false}; }
    /// Compiles every expression against the schema as it stands before it. Errors (code
    /// "expression-error" at "columns.<name>"; "unknown-column" at "drop"): compile errors,
    /// dropping an unknown column, dropping every column.
    schema_ptr bind(const schema_ptr& input, bind_context& ctx) override;
    /// Never throws for data; throws operator_error if `input` does not have the bound schema.
    batch process(const batch& input, operator_context& ctx) override;

private:
    struct step {
        std::size_t target = 0;  // index in the working column list (== size() to append)
        compiled_expression expr;
    };

    map_config config_;
    schema_ptr input_schema_;
    schema_ptr output_schema_;
    std::vector<step> steps_;
    std::size_t working_width_ = 0;  // columns after every step, before drops
    std::vector<std::size_t> keep_;  // working indices that make the output, in order
};

}  // namespace sluice
