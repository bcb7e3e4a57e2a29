#pragma once

// Private to the json operator: the words of its rejection reasons (simdjson's error codes
// and JSON types by name, excerpts of offending values).

#include <simdjson.h>

#include <string>
#include <string_view>

namespace sluice::detail::json {

/// simdjson's name of `code` ("TAPE_ERROR"), "UNKNOWN_ERROR" for a code it does not know.
std::string_view error_name(simdjson::error_code code) noexcept;

/// "array", "object", "number", "string", "bool" or "null".
std::string_view json_type_name(simdjson::ondemand::json_type type) noexcept;

/// At most 48 bytes of `text`, cut at a UTF-8 character boundary (then "..." follows),
/// trailing whitespace dropped (simdjson's raw tokens run up to the next structural character).
std::string quoted_excerpt(std::string_view text);

}  // namespace sluice::detail::json
