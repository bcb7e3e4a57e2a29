#include "row_decoder.hpp"

#include "json_errors.hpp"

#include <sluice/core/row_json.hpp>

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <iterator>

namespace sluice::detail::json {

namespace {

// Integers above this are not all exactly representable as doubles, so a non-integer literal
// (`1e17`, `3.0e16`) beyond it could stand for several int64 values: reject rather than guess.
constexpr double max_exact_double_integer = 9007199254740992.0;  // 2^53

}  // namespace

bool row_decoder::decode(std::string_view json, std::size_t out_row) {
    json_ = json;
    current_row_ = out_row;
    buffer_ = state_.padded_copy(json);
    auto parsed = state_.parser.iterate(buffer_, json.size(), state_.capacity);
    if (parsed.error() != simdjson::SUCCESS) {
        return fail_document(parsed.error());
    }
    ondemand::document& doc = parsed.value_unsafe();
    if (!decode_members(doc, out_row)) {
        return false;
    }
    // The object is complete; anything after it is not part of this record. (simdjson
    // 3.0 has no document::at_end(): current_location() is OUT_OF_BOUNDS at the end.)
    if (const auto where = doc.current_location(); where.error() == simdjson::SUCCESS) {
        reason_.clear();
        fmt::format_to(std::back_inserter(reason_),
                       "invalid JSON: trailing content at byte {} after the object: {}",
                       where.value_unsafe() - buffer_,
                       quoted_excerpt(json.substr(
                               static_cast<std::size_t>(where.value_unsafe() - buffer_))));
        return false;
    }
    return commit(out_row);
}

bool row_decoder::decode_streamed(ondemand::document& doc,
                                  std::string_view json,
                                  const char* record,
                                  const char* next,
                                  std::size_t out_row) {
    json_ = json;
    current_row_ = out_row;
    buffer_ = record;
    if (!decode_members(doc, out_row)) {
        return false;
    }
    const auto where = doc.current_location();
    if (next == nullptr ? where.error() != simdjson::OUT_OF_BOUNDS
                        : where.error() != simdjson::SUCCESS || where.value_unsafe() != next) {
        return false;
    }
    return commit(out_row);
}

bool row_decoder::decode_members(ondemand::document& doc, std::size_t out_row) {
    ondemand::object object;
    if (const auto error = doc.get_object().get(object); error != simdjson::SUCCESS) {
        return fail_root(error, doc);
    }
    std::fill(present_.begin(), present_.end(), 0);
    std::fill(nulled_.begin(), nulled_.end(), 0);
    std::uint32_t ordinal = 0;
    for (auto member : object) {
        if (member.error() != simdjson::SUCCESS) {
            return fail_at(member.error(), doc, {});
        }
        ondemand::field& field = member.value_unsafe();
        const int slot = match_key(field, ordinal++, doc);
        if (slot == key_failed) {
            return false;
        }
        if (slot < 0) {
            continue;  // not in the schema: simdjson skips the value
        }
        if (!read_value(field.value(), static_cast<std::size_t>(slot), out_row, doc)) {
            return false;
        }
    }
    return true;
}

bool row_decoder::commit(std::size_t out_row) {
    for (std::size_t w = 0; w < plan_.words; ++w) {
        if (const auto missing = plan_.required_mask[w] & ~present_[w]; missing != 0) {
            const auto bit = static_cast<std::size_t>(std::countr_zero(missing));
            const auto& name = plan_.slots[w * 64 + bit].name;
            reason_.clear();
            if (((nulled_[w] >> bit) & 1U) != 0) {
                fmt::format_to(std::back_inserter(reason_), "field '{}' is null", name);
            } else {
                fmt::format_to(std::back_inserter(reason_), "missing required field '{}'", name);
            }
            return false;
        }
    }
    for (const auto slot : plan_.string_slots) {
        if (((present_[slot >> 6] >> (slot & 63)) & 1U) != 0) {
            sinks_[slot].text->push(strings_[slot], nullptr);
        } else {
            sinks_[slot].text->push_null();
        }
    }
    for (std::size_t w = 0; w < plan_.words; ++w) {
        for (auto absent = plan_.numeric_mask[w] & ~present_[w]; absent != 0;
             absent &= absent - 1) {
            const auto slot = w * 64 + static_cast<std::size_t>(std::countr_zero(absent));
            sinks_[slot].target->set_null(out_row);
        }
    }
    return true;
}

int row_decoder::match_key(ondemand::field& field, std::uint32_t ordinal, ondemand::document& doc) {
    const char* raw = field.key().raw();
    // The reads of matches() stay inside the document or its zeroed padding: raw points
    // into the document and hinted names are shorter than the padding.
    if (ordinal < hints_.size() && hints_[ordinal].matches(raw)) {
        return hints_[ordinal].slot;
    }
    // Stage 1 validated the strings, so the key's closing quote is inside the document.
    const char* end = buffer_ + json_.size();
    const auto* quote =
            static_cast<const char*>(std::memchr(raw, '"', static_cast<std::size_t>(end - raw)));
    const std::string_view key(raw, static_cast<std::size_t>(quote - raw));
    if (key.find('\\') != std::string_view::npos) {
        // An escaped key (rare): compare its unescaped form, and do not cache it.
        std::string_view unescaped;
        if (const auto error = field.unescaped_key().get(unescaped); error != simdjson::SUCCESS) {
            fail_at(error, doc, {});
            return key_failed;
        }
        return plan_.find(unescaped);
    }
    const int slot = plan_.find(key);
    remember(ordinal, key, slot);
    return slot;
}

const char* row_decoder::hint_name(std::string_view key, int slot) {
    if (key.size() >= simdjson::SIMDJSON_PADDING) {
        return nullptr;
    }
    if (slot >= 0) {
        return plan_.slots[static_cast<std::size_t>(slot)].padded_name.data();
    }
    if (ignored_names_.size() >= max_ignored_names) {
        return nullptr;
    }
    // Padded like the slot names; a deque keeps earlier names where they are.
    auto& stored = ignored_names_.emplace_back(key);
    stored.append(16, '\0');
    return stored.data();
}

void row_decoder::remember(std::uint32_t ordinal, std::string_view key, int slot) {
    if (ordinal >= max_hints) {
        return;
    }
    const char* name = hint_name(key, slot);
    if (name == nullptr) {
        return;
    }
    if (ordinal >= hints_.size()) {
        hints_.resize(ordinal + 1);
    }
    hints_[ordinal] = key_hint::of(name, key.size(), slot);
}

bool row_decoder::read_value(ondemand::value& value,
                             std::size_t slot,
                             std::size_t out_row,
                             ondemand::document& doc) {
    const auto& sink = sinks_[slot];
    switch (sink.type) {
        case data_type::float64:
            if (value.get_double().get(sink.f64[out_row]) != simdjson::SUCCESS) {
                return read_failed(value, slot, doc);
            }
            break;
        case data_type::int64:
        case data_type::timestamp_ms:
            if (value.get_int64().get(sink.i64[out_row]) != simdjson::SUCCESS) {
                return read_failed(value, slot, doc);
            }
            break;
        case data_type::boolean: {
            bool flag = false;
            if (value.get_bool().get(flag) != simdjson::SUCCESS) {
                return read_failed(value, slot, doc);
            }
            sink.flag[out_row] = flag ? 1 : 0;
            break;
        }
        case data_type::string:
            // The view points into the parser's string buffer, valid until the next
            // document: commit() copies it into the column.
            if (value.get_string().get(strings_[slot]) != simdjson::SUCCESS) {
                return read_failed(value, slot, doc);
            }
            break;
    }
    mark_present(slot);
    return true;
}

void row_decoder::mark_present(std::size_t slot) noexcept {
    present_[slot >> 6] |= std::uint64_t{1} << (slot & 63);
}

bool row_decoder::read_failed(ondemand::value& value, std::size_t slot, ondemand::document& doc) {
    const auto& spec = plan_.slots[slot];
    auto kind_result = value.type();
    if (kind_result.error() != simdjson::SUCCESS) {
        return fail_at(kind_result.error(), doc, spec.name);
    }
    const auto kind = kind_result.value_unsafe();
    if (kind == ondemand::json_type::null) {
        bool is_null = false;
        if (value.is_null().get(is_null) != simdjson::SUCCESS || !is_null) {
            return fail_literal(value, spec.name);
        }
        const std::uint64_t bit = std::uint64_t{1} << (slot & 63);
        present_[slot >> 6] &= ~bit;  // the last occurrence of a key wins, null included
        nulled_[slot >> 6] |= bit;
        return true;
    }
    switch (spec.type) {
        case data_type::float64:
            if (kind == ondemand::json_type::number) {
                return fail_number(value, spec, "not a valid number or out of range");
            }
            break;
        case data_type::int64:
        case data_type::timestamp_ms:
            if (kind == ondemand::json_type::number) {
                if (!read_whole_double(value, spec, sinks_[slot].i64[current_row_])) {
                    return false;
                }
                mark_present(slot);
                return true;
            }
            if (spec.type == data_type::timestamp_ms && kind == ondemand::json_type::string) {
                std::string_view text;
                if (const auto error = value.get_string().get(text); error != simdjson::SUCCESS) {
                    return fail_at(error, doc, spec.name);
                }
                const auto ms = parse_iso8601_ms(text);
                if (!ms) {
                    reason_.clear();
                    fmt::format_to(std::back_inserter(reason_),
                                   "field '{}': expected timestamp_ms (integer ms since the "
                                   "epoch or an "
                                   "ISO-8601 string), found string \"{}\"",
                                   spec.name,
                                   quoted_excerpt(text));
                    return false;
                }
                sinks_[slot].i64[current_row_] = *ms;
                mark_present(slot);
                return true;
            }
            break;
        case data_type::boolean:
            if (kind == ondemand::json_type::boolean) {
                return fail_literal(value, spec.name);
            }
            break;
        case data_type::string:
            if (kind == ondemand::json_type::string) {
                // It is a string, so the get failed on its content (a bad escape).
                const auto error = value.get_string().error();
                return fail_at(error != simdjson::SUCCESS ? error : simdjson::STRING_ERROR,
                               doc,
                               spec.name);
            }
            break;
    }
    return fail_type(value, kind, spec);
}

bool row_decoder::read_whole_double(ondemand::value& value,
                                    const json_decode_transform::plan::slot& spec,
                                    std::int64_t& out) {
    double number = 0;
    if (value.get_double().get(number) != simdjson::SUCCESS) {
        return fail_number(value, spec, "not a valid number or out of range");
    }
    if (std::trunc(number) != number) {
        return fail_number(value, spec, "not a whole number");
    }
    if (std::fabs(number) >= max_exact_double_integer) {
        return fail_number(value, spec, "out of range");
    }
    out = static_cast<std::int64_t>(number);
    return true;
}

bool row_decoder::fail_number(ondemand::value& value,
                              const json_decode_transform::plan::slot& spec,
                              std::string_view what) {
    reason_.clear();
    fmt::format_to(std::back_inserter(reason_),
                   "field '{}': expected {}, found {} ({})",
                   spec.name,
                   to_string(spec.type),
                   quoted_excerpt(value.raw_json_token()),
                   what);
    return false;
}

bool row_decoder::fail_type(ondemand::value& value,
                            ondemand::json_type kind,
                            const json_decode_transform::plan::slot& spec) {
    reason_.clear();
    fmt::format_to(std::back_inserter(reason_),
                   "field '{}': expected {}, found {}",
                   spec.name,
                   to_string(spec.type),
                   json_type_name(kind));
    // A container's raw token is only its opening bracket: naming the kind says enough.
    if (kind != ondemand::json_type::object && kind != ondemand::json_type::array) {
        fmt::format_to(std::back_inserter(reason_), " {}", quoted_excerpt(value.raw_json_token()));
    }
    return false;
}

bool row_decoder::fail_literal(ondemand::value& value, std::string_view name) {
    reason_.clear();
    fmt::format_to(std::back_inserter(reason_),
                   "invalid JSON: field '{}': bad literal {}",
                   name,
                   quoted_excerpt(value.raw_json_token()));
    return false;
}

bool row_decoder::fail_document(simdjson::error_code error) {
    reason_.clear();
    if (error == simdjson::EMPTY) {
        reason_ = "invalid JSON: empty record";
    } else {
        fmt::format_to(std::back_inserter(reason_),
                       "invalid JSON: {}: {}",
                       error_name(error),
                       simdjson::error_message(error));
    }
    return false;
}

bool row_decoder::fail_at(simdjson::error_code error,
                          ondemand::document& doc,
                          std::string_view field_name) {
    reason_.clear();
    reason_ += "invalid JSON: ";
    if (!field_name.empty()) {
        fmt::format_to(std::back_inserter(reason_), "field '{}': ", field_name);
    }
    fmt::format_to(std::back_inserter(reason_), "{}", error_name(error));
    if (const auto where = doc.current_location(); where.error() == simdjson::SUCCESS) {
        const auto offset = where.value_unsafe() - buffer_;
        if (offset >= 0 && static_cast<std::size_t>(offset) <= json_.size()) {
            fmt::format_to(std::back_inserter(reason_), " at byte {}", offset);
        }
    }
    fmt::format_to(std::back_inserter(reason_), ": {}", simdjson::error_message(error));
    return false;
}

bool row_decoder::fail_root(simdjson::error_code error, ondemand::document& doc) {
    if (error != simdjson::INCORRECT_TYPE) {
        return fail_at(error, doc, {});
    }
    std::string_view text = json_;
    const auto first = text.find_first_not_of(" \t\n\r");
    text = first == std::string_view::npos ? std::string_view() : text.substr(first);
    const auto last = text.find_last_not_of(" \t\n\r");
    text = text.substr(0, last == std::string_view::npos ? 0 : last + 1);
    const char c = text.empty() ? '\0' : text.front();
    std::string_view found;
    if (c == '[') {
        found = "an array";
    } else if (c == '"') {
        found = "a string";
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        found = "a number";
    } else if (text == "true" || text == "false") {
        found = "a bool";
    } else if (text == "null") {
        found = "null";
    }
    reason_.clear();
    if (found.empty()) {
        fmt::format_to(std::back_inserter(reason_),
                       "invalid JSON: not a JSON value: {}",
                       quoted_excerpt(text));
    } else {
        fmt::format_to(std::back_inserter(reason_),
                       "expected a JSON object, found {}: {}",
                       found,
                       quoted_excerpt(text));
    }
    return false;
}

}  // namespace sluice::detail::json
