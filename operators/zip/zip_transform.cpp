// The `zip` transform: one record from the branches of a fan-out.

#include <sluice/core/error.hpp>
#include <sluice/operator/options.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/zip.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

namespace sluice {

namespace {

// Same values and the same missing rows (NaN equals NaN: both are "the same value" here).
bool same_values(const column& a, const column& b) {
    if (a.type() != b.type() || a.size() != b.size()) {
        return false;
    }
    for (std::size_t row = 0; row < a.size(); ++row) {
        const bool valid = a.is_valid(row);
        if (valid != b.is_valid(row)) {
            return false;
        }
        if (!valid) {
            continue;
        }
        switch (a.type()) {
            case data_type::float64: {
                const double x = a.float64_values()[row];
                const double y = b.float64_values()[row];
                if (x != y && !(std::isnan(x) && std::isnan(y))) {
                    return false;
                }
                break;
            }
            case data_type::int64:
            case data_type::timestamp_ms:
                if (a.int64_values()[row] != b.int64_values()[row]) {
                    return false;
                }
                break;
            case data_type::boolean:
                if (a.bool_values()[row] != b.bool_values()[row]) {
                    return false;
                }
                break;
            case data_type::string:
                if (a.string_at(row) != b.string_at(row)) {
                    return false;
                }
                break;
        }
    }
    return true;
}

}  // namespace

void zip_transform::describe(option_spec& spec) {
    (void)spec;
}

schema_ptr zip_transform::bind_inputs(std::span<const join_input> inputs, bind_context& ctx) {
    input_ids_.clear();
    input_schemas_.clear();
    picked_.clear();
    shared_.clear();
    const schema& first = *inputs.front().schema;
    std::vector<field> fields = first.fields();
    // The columns every input has come from before the fan-out; any other column is one that
    // its input added, and only one input may add a given name.
    auto in_every_input = [&](std::string_view name) {
        return std::all_of(inputs.begin(), inputs.end(), [&](const join_input& in) {
            return in.schema->index_of(name);
        });
    };
    std::map<std::string, std::size_t, std::less<>> added_by;  // new column -> its input
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        input_ids_.emplace_back(inputs[k].id);
        input_schemas_.push_back(inputs[k].schema);
        const auto& columns = inputs[k].schema->fields();
        for (std::size_t c = 0; c < columns.size(); ++c) {
            const field& f = columns[c];
            if (in_every_input(f.name)) {
                const field& base = first.at(*first.index_of(f.name));
                if (base.type != f.type) {
                    ctx.error(fmt::format("inputs.{}", k),
                              "schema-mismatch",
                              fmt::format("column '{}' is {} in input '{}' but {} in the first "
                                          "input '{}'",
                                          f.name,
                                          to_string(f.type),
                                          inputs[k].id,
                                          to_string(base.type),
                                          inputs.front().id));
                }
                continue;
            }
            if (const auto clash = added_by.find(f.name); clash != added_by.end()) {
                ctx.error(fmt::format("inputs.{}", k),
                          "schema-mismatch",
                          fmt::format("inputs '{}' and '{}' both add a column '{}'; rename one of "
                                      "them (e.g. "
                                      "xgboost's output_prefix)",
                                      inputs[clash->second].id,
                                      inputs[k].id,
                                      f.name));
                continue;
            }
            added_by.emplace(f.name, k);
            if (k > 0) {
                picked_.push_back({k, c});
                fields.push_back(f);
            }
        }
    }
    for (const auto& f : first.fields()) {
        if (in_every_input(f.name)) {
            std::vector<std::size_t> positions;
            for (const auto& in : inputs) {
                positions.push_back(*in.schema->index_of(f.name));
            }
            shared_.push_back(std::move(positions));
        }
    }
    if (ctx.failed()) {
        return nullptr;
    }
    output_schema_ = make_schema(std::move(fields));
    return output_schema_;
}

batch zip_transform::process_inputs(std::span<const batch* const> inputs, operator_context& ctx) {
    if (!output_schema_ || inputs.size() != input_schemas_.size()) {
        throw operator_error(ctx.type(),
                             ctx.id(),
                             fmt::format("received {} inputs but was bound to {}",
                                         inputs.size(),
                                         input_schemas_.size()));
    }
    const batch& first = *inputs.front();
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        const auto& got = inputs[k]->schema();
        if (got != input_schemas_[k] && !(got && *got == *input_schemas_[k])) {
            throw operator_error(
                    ctx.type(),
                    ctx.id(),
                    fmt::format("input '{}' sent a batch of schema {}, but was bound to {}",
                                input_ids_[k],
                                got ? got->to_string() : "{}",
                                input_schemas_[k]->to_string()));
        }
        if (inputs[k]->num_rows() != first.num_rows()) {
            throw operator_error(
                    ctx.type(),
                    ctx.id(),
                    fmt::format("input '{}' has {} rows but '{}' has {} for the same source batch "
                                "(stream {}, sequence {}); every zipped branch must keep its rows "
                                "(no filter, decoder rejects or window on a branch)",
                                input_ids_[k],
                                inputs[k]->num_rows(),
                                input_ids_.front(),
                                first.num_rows(),
                                first.origin().stream,
                                first.origin().sequence));
        }
    }
    // A name every input has must mean one column from before the fan-out. Branches share such
    // columns (same pointer), so this is one compare each; only a branch that rebuilt a column,
    // or two branches that computed one under the same name, get here with two pointers.
    for (const auto& positions : shared_) {
        const column& base = first.column_at(positions.front());
        for (std::size_t k = 1; k < inputs.size(); ++k) {
            if (inputs[k]->shared_column(positions[k]).get() != &base &&
                !same_values(base, inputs[k]->column_at(positions[k]))) {
                throw operator_error(
                        ctx.type(),
                        ctx.id(),
                        fmt::format("column '{}' holds other values in input '{}' than in '{}'; if "
                                    "both branches compute it, rename one of them",
                                    input_schemas_.front()->at(positions.front()).name,
                                    input_ids_[k],
                                    input_ids_.front()));
            }
        }
    }
    std::vector<column_ptr> columns = first.columns();
    columns.reserve(output_schema_->size());
    for (const auto& pick : picked_) {
        columns.push_back(inputs[pick.input]->shared_column(pick.column));
    }
    batch out(output_schema_, std::move(columns));
    out.inherit_lineage(first);
    return out;
}

void register_zip_operators(operator_registry& registry) {
    registry.add_transform(
            std::string(zip_transform::type_name),
            "joins the branches of a fan-out back into one record (columns side by side)",
            zip_transform::describe,
            [](const options&, build_context&) -> std::unique_ptr<transform> {
                return std::make_unique<zip_transform>();
            });
}

}  // namespace sluice
