// The `map` transform: computed columns and drops.

#include "expression_ast.hpp"

#include <sluice/core/error.hpp>
#include <sluice/operator/options.hpp>
#include <sluice/ops/expr.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>
#include <utility>

namespace sluice {

void map_transform::describe(option_spec& spec) {
    spec.field("columns", option_kind::string_map)
            .describe(
                    "new or replaced column -> expression, evaluated in order; an expression "
                    "may use the columns computed before it (language: "
                    "operators/expr/README.md)");
    spec.field("drop", option_kind::string_list)
            .describe("columns removed from the output, after every expression is evaluated");
    spec.check([](const options& opts, diagnostics_collector& out) {
        if (!opts.is_set("columns") && !opts.is_set("drop")) {
            out.add(opts.error("", "missing-field", "requires 'columns' or 'drop'"));
        }
    });
}

map_config map_transform::config_from(const options& opts) {
    map_config config;
    if (opts.is_set("columns")) {
        config.columns = opts.get_string_map("columns");
    }
    if (opts.is_set("drop")) {
        config.drop = opts.get_string_list("drop");
    }
    return config;
}

map_transform::map_transform(map_config config)
    : config_(std::move(config)) {}

schema_ptr map_transform::bind(const schema_ptr& input, bind_context& ctx) {
    steps_.clear();
    std::vector<field> fields = input->fields();
    // Columns whose expression failed: later expressions that read them would only repeat the
    // first error as "unknown column", so those are not reported again.
    std::set<std::string, std::less<>> failed;
    for (const auto& [name, text] : config_.columns) {
        const std::string key = "columns." + name;
        const schema current(fields);
        auto compiled = compile_expression(text, current);
        if (!compiled) {
            const auto used = detail::expr::referenced_columns(text);
            const bool follows_earlier_failure =
                    std::any_of(used.begin(), used.end(), [&](const std::string& u) {
                        return failed.count(u) != 0 && !current.index_of(u);
                    });
            if (!follows_earlier_failure) {
                const expression_error& e = compiled.error();
                ctx.error(key,
                          "expression-error",
                          fmt::format("{} \"{}\", col {}: {}", key, text, e.column(), e.message));
            }
            failed.insert(name);
            continue;
        }
        const data_type type = compiled->type();
        const auto existing = current.index_of(name);
        const std::size_t target = existing ? *existing : fields.size();
        if (existing) {
            fields[target] = field{name, type, true};
        } else {
            fields.push_back(field{name, type, true});
        }
        steps_.push_back(step{target, std::move(compiled).value()});
    }

    const schema working(fields);
    std::vector<bool> dropped(fields.size(), false);
    std::vector<std::string_view> names;
    names.reserve(fields.size());
    for (const auto& f : fields) {
        names.push_back(f.name);
    }
    for (const auto& name : config_.drop) {
        if (const auto index = working.index_of(name)) {
            dropped[*index] = true;
            continue;
        }
        if (failed.count(name) != 0) {
            continue;
        }
        if (auto suggestion = detail::expr::closest_name(name, names)) {
            ctx.error("drop",
                      "unknown-column",
                      fmt::format(
                              "drop: unknown column '{}'; did you mean '{}'?", name, *suggestion));
        } else {
            ctx.error("drop",
                      "unknown-column",
                      fmt::format("drop: unknown column '{}' (columns: {})",
                                  name,
                                  fmt::join(names, ", ")));
        }
    }
    if (ctx.failed()) {
        return nullptr;
    }
    keep_.clear();
    std::vector<field> out_fields;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (!dropped[i]) {
            keep_.push_back(i);
            out_fields.push_back(fields[i]);
        }
    }
    if (keep_.empty()) {
        ctx.error("drop", "cross-field", "drop removes every column");
        return nullptr;
    }
    working_width_ = fields.size();
    input_schema_ = input;
    output_schema_ = make_schema(std::move(out_fields));
    return output_schema_;
}

batch map_transform::process(const batch& input, operator_context& ctx) {
    if (!output_schema_) {
        throw operator_error(ctx.type(), ctx.id(), "process() called before a successful bind()");
    }
    require_bound_schema(input.schema(), input_schema_, ctx);
    std::vector<column_ptr> working;
    working.reserve(working_width_);
    working = input.columns();
    const std::size_t rows = input.num_rows();
    for (const auto& s : steps_) {
        column_ptr values = evaluate_columns(s.expr, working, rows);
        if (s.target == working.size()) {
            working.push_back(std::move(values));
        } else {
            working[s.target] = std::move(values);
        }
    }
    std::vector<column_ptr> out_columns;
    out_columns.reserve(keep_.size());
    for (const std::size_t i : keep_) {
        out_columns.push_back(std::move(working[i]));
    }
    batch out(output_schema_, std::move(out_columns));
    out.inherit_lineage(input);
    // inherit_lineage finds the event-time column by name; if an expression replaced it with
    // a value that is not a timestamp, the batch no longer has an event time.
    if (const auto et = out.event_time_column();
        et && output_schema_->at(*et).type != data_type::timestamp_ms) {
        out.set_event_time_column(std::nullopt);
    }
    return out;
}

}  // namespace sluice
