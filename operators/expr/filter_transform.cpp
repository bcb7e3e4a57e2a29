// The `filter` transform: SQL WHERE over a batch.

#include <sluice/core/error.hpp>
#include <sluice/operator/options.hpp>
#include <sluice/ops/expr.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace sluice {

namespace {

// The rows of `source` listed in `rows` (ascending), as a new column. A gather by index is
// branch-free per column, where a selection-byte scan branches on every row of every column;
// at the selectivities filters usually have it is about twice as fast as column::filter.
column gather(const column& source, std::span<const std::uint32_t> rows) {
    column out(source.type());
    const std::size_t n = rows.size();
    auto copy_values = [&](auto& dst, auto values) {
        for (std::size_t j = 0; j < n; ++j) {
            dst[j] = values[rows[j]];
        }
    };
    switch (source.type()) {
        case data_type::float64:
            out.resize(n);
            copy_values(out.mutable_float64(), source.float64_values());
            break;
        case data_type::int64:
        case data_type::timestamp_ms:
            out.resize(n);
            copy_values(out.mutable_int64(), source.int64_values());
            break;
        case data_type::boolean:
            out.resize(n);
            copy_values(out.mutable_bool(), source.bool_values());
            break;
        case data_type::string: {
            const auto offsets = source.string_offsets();
            std::size_t bytes = 0;
            for (std::size_t j = 0; j < n; ++j) {
                bytes += offsets[rows[j] + 1] - offsets[rows[j]];
            }
            out.reserve(n, bytes);
            for (std::size_t j = 0; j < n; ++j) {
                if (source.is_valid(rows[j])) {
                    out.push_string(source.string_at(rows[j]));
                } else {
                    out.push_null();
                }
            }
            return out;
        }
    }
    if (source.has_nulls()) {
        for (std::size_t j = 0; j < n; ++j) {
            if (!source.is_valid(rows[j])) {
                out.set_null(j);
            }
        }
    }
    return out;
}

}  // namespace

void filter_transform::describe(option_spec& spec) {
    spec.field("condition", option_kind::string)
            .require()
            .describe(
                    "bool expression over the input columns; a row is kept only where it is "
                    "true (false or null drops it, as SQL WHERE does); language reference: "
                    "operators/expr/README.md");
}

filter_config filter_transform::config_from(const options& opts) {
    return filter_config{opts.get_string("condition")};
}

filter_transform::filter_transform(filter_config config)
    : config_(std::move(config)) {}

schema_ptr filter_transform::bind(const schema_ptr& input, bind_context& ctx) {
    auto compiled = compile_expression(config_.condition, *input);
    if (!compiled) {
        const expression_error& e = compiled.error();
        ctx.error(
                "condition",
                "expression-error",
                fmt::format(
                        "condition \"{}\", col {}: {}", config_.condition, e.column(), e.message));
        return nullptr;
    }
    if (compiled->type() != data_type::boolean) {
        ctx.error("condition",
                  "expression-error",
                  fmt::format("condition must be bool, found {}: \"{}\"",
                              to_string(compiled->type()),
                              config_.condition));
        return nullptr;
    }
    condition_ = std::move(compiled).value();
    schema_ = input;
    return input;
}

batch filter_transform::process(const batch& input, operator_context& ctx) {
    if (!condition_) {
        throw operator_error(ctx.type(), ctx.id(), "process() called before a successful bind()");
    }
    require_bound_schema(input.schema(), schema_, ctx);
    if (input.empty()) {
        return input;  // may still carry a newer watermark
    }
    std::vector<std::uint8_t> selection;
    const std::size_t kept = evaluate_selection(*condition_, input, selection);
    if (kept == input.num_rows()) {
        return input;  // every row passes: share every column and the lineage as they are
    }
    // Branch-free compaction of the selection into row numbers.
    std::vector<std::uint32_t> rows(input.num_rows());
    std::size_t next = 0;
    for (std::size_t i = 0; i < selection.size(); ++i) {
        rows[next] = static_cast<std::uint32_t>(i);
        next += selection[i];
    }
    rows.resize(kept);
    std::vector<column_ptr> columns;
    columns.reserve(input.num_columns());
    for (const auto& c : input.columns()) {
        columns.push_back(std::make_shared<const column>(gather(*c, rows)));
    }
    batch out(input.schema(), std::move(columns));
    out.inherit_lineage(input, selection);
    return out;
}

}  // namespace sluice
