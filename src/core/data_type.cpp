#include <sluice/core/data_type.hpp>

namespace sluice {

std::string_view to_string(data_type type) noexcept {
    switch (type) {
        case data_type::float64:
            return "float64";
        case data_type::int64:
            return "int64";
        case data_type::boolean:
            return "bool";
        case data_type::string:
            return "string";
        case data_type::timestamp_ms:
            return "timestamp_ms";
    }
    return "unknown";
}

std::optional<data_type> parse_data_type(std::string_view text) noexcept {
    if (text == "float64" || text == "double" || text == "float") {
        return data_type::float64;
    }
    if (text == "int64" || text == "int") {
        return data_type::int64;
    }
    if (text == "bool" || text == "boolean") {
        return data_type::boolean;
    }
    if (text == "string") {
        return data_type::string;
    }
    if (text == "timestamp_ms" || text == "timestamp") {
        return data_type::timestamp_ms;
    }
    return std::nullopt;
}

}  // namespace sluice
