#include "json_errors.hpp"

#include <fmt/format.h>

#include <cstddef>

namespace sluice::detail::json {

namespace ondemand = simdjson::ondemand;

namespace {

// How much of an offending value a rejection reason quotes.
constexpr std::size_t max_quoted_bytes = 48;

}  // namespace

std::string_view error_name(simdjson::error_code code) noexcept {
    switch (code) {
        case simdjson::SUCCESS:
            return "SUCCESS";
        case simdjson::CAPACITY:
            return "CAPACITY";
        case simdjson::MEMALLOC:
            return "MEMALLOC";
        case simdjson::TAPE_ERROR:
            return "TAPE_ERROR";
        case simdjson::DEPTH_ERROR:
            return "DEPTH_ERROR";
        case simdjson::STRING_ERROR:
            return "STRING_ERROR";
        case simdjson::T_ATOM_ERROR:
            return "T_ATOM_ERROR";
        case simdjson::F_ATOM_ERROR:
            return "F_ATOM_ERROR";
        case simdjson::N_ATOM_ERROR:
            return "N_ATOM_ERROR";
        case simdjson::NUMBER_ERROR:
            return "NUMBER_ERROR";
        case simdjson::UTF8_ERROR:
            return "UTF8_ERROR";
        case simdjson::UNINITIALIZED:
            return "UNINITIALIZED";
        case simdjson::EMPTY:
            return "EMPTY";
        case simdjson::UNESCAPED_CHARS:
            return "UNESCAPED_CHARS";
        case simdjson::UNCLOSED_STRING:
            return "UNCLOSED_STRING";
        case simdjson::UNSUPPORTED_ARCHITECTURE:
            return "UNSUPPORTED_ARCHITECTURE";
        case simdjson::INCORRECT_TYPE:
            return "INCORRECT_TYPE";
        case simdjson::NUMBER_OUT_OF_RANGE:
            return "NUMBER_OUT_OF_RANGE";
        case simdjson::INDEX_OUT_OF_BOUNDS:
            return "INDEX_OUT_OF_BOUNDS";
        case simdjson::NO_SUCH_FIELD:
            return "NO_SUCH_FIELD";
        case simdjson::IO_ERROR:
            return "IO_ERROR";
        case simdjson::INVALID_JSON_POINTER:
            return "INVALID_JSON_POINTER";
        case simdjson::INVALID_URI_FRAGMENT:
            return "INVALID_URI_FRAGMENT";
        case simdjson::UNEXPECTED_ERROR:
            return "UNEXPECTED_ERROR";
        case simdjson::PARSER_IN_USE:
            return "PARSER_IN_USE";
        case simdjson::OUT_OF_ORDER_ITERATION:
            return "OUT_OF_ORDER_ITERATION";
        case simdjson::INSUFFICIENT_PADDING:
            return "INSUFFICIENT_PADDING";
        case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
            return "INCOMPLETE_ARRAY_OR_OBJECT";
        case simdjson::SCALAR_DOCUMENT_AS_VALUE:
            return "SCALAR_DOCUMENT_AS_VALUE";
        case simdjson::OUT_OF_BOUNDS:
            return "OUT_OF_BOUNDS";
        case simdjson::TRAILING_CONTENT:
            return "TRAILING_CONTENT";
        default:
            return "UNKNOWN_ERROR";
    }
}

std::string_view json_type_name(ondemand::json_type type) noexcept {
    switch (type) {
        case ondemand::json_type::array:
            return "array";
        case ondemand::json_type::object:
            return "object";
        case ondemand::json_type::number:
            return "number";
        case ondemand::json_type::string:
            return "string";
        case ondemand::json_type::boolean:
            return "bool";
        case ondemand::json_type::null:
            return "null";
    }
    return "value";
}

// At most `max_quoted_bytes` of `text`, cut at a UTF-8 character boundary, trailing
// whitespace dropped (simdjson's raw tokens run up to the next structural character).
std::string quoted_excerpt(std::string_view text) {
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                             text.back() == '\r')) {
        text.remove_suffix(1);
    }
    if (text.size() <= max_quoted_bytes) {
        return std::string(text);
    }
    std::size_t cut = max_quoted_bytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
        --cut;
    }
    return fmt::format("{}...", text.substr(0, cut));
}

}  // namespace sluice::detail::json
