#include "index_template.hpp"

#include <sluice/core/row_json.hpp>

#include <fmt/format.h>

#include <array>

namespace sluice::es_detail {

namespace {

constexpr std::array<std::string_view, 16> field_types = {"date",
                                                          "keyword",
                                                          "text",
                                                          "double",
                                                          "float",
                                                          "half_float",
                                                          "long",
                                                          "integer",
                                                          "short",
                                                          "byte",
                                                          "boolean",
                                                          "geo_point",
                                                          "ip",
                                                          "date_nanos",
                                                          "unsigned_long",
                                                          "wildcard"};

const std::string* override_for(const template_settings& settings, std::string_view column) {
    for (const auto& [name, type] : settings.mappings) {
        if (name == column) {
            return &type;
        }
    }
    return nullptr;
}

}  // namespace

std::string_view default_field_type(data_type type) noexcept {
    switch (type) {
        case data_type::timestamp_ms:
            return "date";
        case data_type::string:
            return "keyword";
        case data_type::float64:
            return "double";
        case data_type::int64:
            return "long";
        case data_type::boolean:
            return "boolean";
    }
    return "keyword";
}

bool known_field_type(std::string_view type) noexcept {
    for (const auto t : field_types) {
        if (t == type) {
            return true;
        }
    }
    return false;
}

std::string known_field_types() {
    std::string out;
    for (const auto t : field_types) {
        if (!out.empty()) {
            out += ", ";
        }
        out += t;
    }
    return out;
}

std::string check_mappings(const template_settings& settings, const schema& fields) {
    for (const auto& [name, type] : settings.mappings) {
        if (!fields.index_of(name)) {
            return fmt::format(
                    "mapping names unknown column '{}' (columns: {})", name, fields.to_string());
        }
        if (!known_field_type(type)) {
            return fmt::format("mapping of '{}' has unknown field type '{}' (known: {})",
                               name,
                               type,
                               known_field_types());
        }
    }
    return {};
}

std::string template_body(const template_settings& settings, const schema& fields) {
    std::string out = R"({"index_patterns":[)";
    append_json_string(out, settings.pattern);
    fmt::format_to(
            std::back_inserter(out),
            R"(],"priority":{},"template":{{"settings":{{"index":{{"number_of_shards":{},"number_of_replicas":{})",
            settings.priority,
            settings.shards,
            settings.replicas);
    if (settings.refresh_interval_ms > 0) {
        fmt::format_to(std::back_inserter(out),
                       R"(,"refresh_interval":"{}ms")",
                       settings.refresh_interval_ms);
    }
    if (!settings.translog_durability.empty()) {
        out += R"(,"translog":{"durability":)";
        append_json_string(out, settings.translog_durability);
        out += '}';
    }
    out += R"(}},"mappings":{"properties":{)";
    bool first = true;
    for (const auto& f : fields.fields()) {
        const std::string* chosen = override_for(settings, f.name);
        const std::string_view type =
                chosen != nullptr ? std::string_view(*chosen) : default_field_type(f.type);
        if (!first) {
            out.push_back(',');
        }
        first = false;
        append_json_string(out, f.name);
        out += R"(:{"type":)";
        append_json_string(out, type);
        // Epoch milliseconds and ISO-8601 both read as dates.
        if (type == "date") {
            out += R"(,"format":"strict_date_optional_time||epoch_millis")";
        }
        out.push_back('}');
    }
    out += "}}}}";
    return out;
}

}  // namespace sluice::es_detail
