#pragma once

#include <sluice/operator/operator.hpp>
#include <sluice/operator/option_spec.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

/// \file
/// The `zip` transform: joins the branches of a fan-out back into one record.
///
/// ```yaml
///   status:   {type: xgboost, inputs: [parsed], model: models/status_predictor.json, ...}
///   anomaly:  {type: xgboost, inputs: [parsed], model: models/anomaly_detector.json, ...}
///   humidity: {type: xgboost, inputs: [parsed], model: models/humidity_regressor.json, ...}
///   scored:   {type: zip, inputs: [status, anomaly, humidity]}
/// ```
/// Reference: operators/zip/README.md.

namespace sluice {

class operator_registry;

/// Registers the `zip` transform.
void register_zip_operators(operator_registry& registry);

/// Joins the batches that several branches made from the same source batch, row by row.
///
/// A column that every input has (by name) is one the branches share from before the fan-out;
/// any other column is "new": its input added it. The output has the first input's columns,
/// then each further input's new columns, in input order. Shared columns are taken from the
/// first input. Columns are shared with the inputs, never copied.
///
/// The runtime hands the batches over together (join_transform). Every input must have the
/// same number of rows (a branch that drops or adds rows cannot be zipped): a mismatch is an
/// operator_error naming both inputs. So is a shared column whose values differ between
/// inputs (a branch rebuilt it, or two branches computed a column of the same name: names
/// alone cannot tell that from a shared column when every input has it).
///
/// Bind errors (code "schema-mismatch", at "inputs.<index>"): a new column that two inputs
/// both add; a shared column that an input holds with another type than the first input.
///
/// Stateless: `process_inputs` is thread-safe and runs in parallel.
class zip_transform final : public join_transform {
public:
    static constexpr std::string_view type_name = "zip";
    /// Declares no options: a zip is defined by its `inputs`.
    static void describe(option_spec& spec);

    operator_traits traits() const override { return {concurrency::parallel, false}; }
    schema_ptr bind_inputs(std::span<const join_input> inputs, bind_context& ctx) override;
    /// Throws operator_error if a batch does not have its input's bound schema or the row
    /// counts differ.
    batch process_inputs(std::span<const batch* const> inputs, operator_context& ctx) override;

private:
    struct picked_column {
        std::size_t input;   // which input
        std::size_t column;  // its index in that input
    };
    std::vector<std::string> input_ids_;
    std::vector<schema_ptr> input_schemas_;
    std::vector<picked_column> picked_;             // appended after the first input's columns
    std::vector<std::vector<std::size_t>> shared_;  // per column every input has: its index in each
    schema_ptr output_schema_;
};

}  // namespace sluice
