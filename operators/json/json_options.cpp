#include "json_options.hpp"

#include <sluice/core/edit_distance.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace sluice::detail::json {

namespace {

constexpr std::string_view type_list = "float64, int64, bool, string, timestamp_ms";

std::string type_suggestion(std::string_view text) {
    // Spellings parse_data_type accepts, each with the canonical name to suggest: "floot" is
    // one edit from the alias "float" but three from "float64".
    static constexpr std::pair<std::string_view, std::string_view> names[] = {
            {"float64", "float64"},
            {"double", "float64"},
            {"float", "float64"},
            {"int64", "int64"},
            {"int", "int64"},
            {"bool", "bool"},
            {"boolean", "bool"},
            {"string", "string"},
            {"timestamp_ms", "timestamp_ms"},
            {"timestamp", "timestamp_ms"}};
    std::string_view best;
    std::size_t best_distance = 3;  // a typo changes a character or two
    for (const auto& [spelling, canonical] : names) {
        const auto d = edit_distance(text, spelling);
        if (d < best_distance) {
            best_distance = d;
            best = canonical;
        }
    }
    return best.empty() ? std::string() : fmt::format("; did you mean '{}'?", best);
}

}  // namespace

// Checks that need only the config (shared by the option spec's check and the constructor).
void validate_config(const json_decode_config& config, const report_fn& report) {
    if (config.field.empty()) {
        report("field", "bad-value", "'field' must name an input column, found ''");
    }
    if (config.schema.empty()) {
        report("schema", "bad-value", "'schema' must declare at least one field");
    }
    std::vector<std::string> names;
    for (const auto& f : config.schema) {
        if (f.name.empty()) {
            report("schema", "bad-value", "'schema' has a field with an empty name");
        } else if (std::find(names.begin(), names.end(), f.name) != names.end()) {
            report("schema." + f.name,
                   "duplicate-field",
                   fmt::format("'schema' declares '{}' twice", f.name));
        }
        names.push_back(f.name);
    }
    std::vector<std::string> kept;
    for (const auto& k : config.keep) {
        if (std::find(names.begin(), names.end(), k) != names.end()) {
            report("keep",
                   "cross-field",
                   fmt::format(
                           "kept column '{}' has the name of a 'schema' field; an output column "
                           "name must be unique",
                           k));
        } else if (std::find(kept.begin(), kept.end(), k) != kept.end()) {
            report("keep", "cross-field", fmt::format("'keep' lists '{}' twice", k));
        }
        kept.push_back(k);
    }
    if (!config.event_time.empty()) {
        const auto it = std::find_if(config.schema.begin(),
                                     config.schema.end(),
                                     [&](const field& f) { return f.name == config.event_time; });
        if (it != config.schema.end()) {
            if (it->type != data_type::timestamp_ms) {
                report("event_time",
                       "cross-field",
                       fmt::format("'event_time' names '{}', which is {} in 'schema'; expected a "
                                   "timestamp_ms field",
                                   config.event_time,
                                   to_string(it->type)));
            }
        } else if (std::find(config.keep.begin(), config.keep.end(), config.event_time) ==
                   config.keep.end()) {
            report("event_time",
                   "cross-field",
                   fmt::format(
                           "'event_time' names '{}', which is neither a 'schema' field nor a kept "
                           "column (schema: {})",
                           config.event_time,
                           fmt::join(names, ", ")));
        }
    }
}

// Reads the options into a config, reporting what the spec's per-field validation cannot see.
json_decode_config config_from_options(const options& opts, diagnostics_collector& out) {
    json_decode_config config;
    config.field = opts.get_string("field");
    const auto schema_text = opts.get_string_map("schema");
    for (const auto& [name, type_text] : schema_text) {
        const auto type = parse_data_type(type_text);
        if (!type) {
            out.add(opts.error("schema." + name,
                               "bad-type",
                               fmt::format("schema field '{}': expected one of {}; found '{}'{}",
                                           name,
                                           type_list,
                                           type_text,
                                           type_suggestion(type_text))));
            continue;
        }
        config.schema.push_back(field{name, *type, false});
    }
    if (opts.is_set("required")) {
        const auto required = opts.get_string_list("required");
        for (const auto& r : required) {
            const auto in_schema = std::any_of(schema_text.begin(),
                                               schema_text.end(),
                                               [&](const auto& item) { return item.first == r; });
            if (!in_schema) {
                std::vector<std::string> names;
                names.reserve(schema_text.size());
                for (const auto& item : schema_text) {
                    names.push_back(item.first);
                }
                out.add(opts.error(
                        "required",
                        "cross-field",
                        fmt::format("'required' names '{}', which is not in 'schema' (fields: {})",
                                    r,
                                    fmt::join(names, ", "))));
            }
        }
        for (auto& f : config.schema) {
            f.nullable = std::find(required.begin(), required.end(), f.name) == required.end();
        }
    }
    config.keep = opts.get_string_list("keep");
    if (opts.is_set("event_time")) {
        config.event_time = opts.get_string("event_time");
        if (config.event_time.empty()) {
            out.add(opts.error(
                    "event_time", "bad-value", "'event_time' must name a column, found ''"));
        }
    }
    validate_config(config, [&](std::string_view key, std::string code, std::string message) {
        out.add(opts.error(key, std::move(code), std::move(message)));
    });
    return config;
}

}  // namespace sluice::detail::json
