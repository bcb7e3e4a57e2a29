#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sluice {

/// The value types a column can hold. Timestamps are milliseconds since the Unix epoch (UTC)
/// stored as int64, so every time computation is integer arithmetic.
enum class data_type : std::uint8_t {
    float64,
    int64,
    boolean,
    string,
    timestamp_ms,
};

/// The spelling used in YAML schemas and error messages: "float64", "int64", "bool", "string",
/// "timestamp_ms".
std::string_view to_string(data_type type) noexcept;

/// Parses a YAML spelling (also accepts "double", "float", "int", "boolean", "timestamp").
std::optional<data_type> parse_data_type(std::string_view text) noexcept;

/// True for the types stored as int64 (int64 and timestamp_ms).
constexpr bool is_integer_storage(data_type type) noexcept {
    return type == data_type::int64 || type == data_type::timestamp_ms;
}

/// True for types an arithmetic expression or a numeric aggregate accepts.
constexpr bool is_numeric(data_type type) noexcept {
    return type == data_type::float64 || type == data_type::int64 ||
           type == data_type::timestamp_ms;
}

}  // namespace sluice
