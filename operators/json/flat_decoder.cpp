// row_decoder's flat path: records that are one object of plain scalars, read without
// simdjson. See flat_scan.hpp for what it accepts and why that matches simdjson.

#include "flat_scan.hpp"
#include "row_decoder.hpp"

#include <sluice/core/row_json.hpp>

#include <simdjson.h>

#include <algorithm>
#include <bit>

namespace sluice::detail::json {

namespace {

// Whether the flat path remembers key `key` for its position. Not when it holds a byte above
// 0x7F: a hinted key's bytes are not noted for the UTF-8 check (see flat_scan.hpp), so they must
// be ASCII. Not when it holds a `}`: the record's last byte is one, so a hinted key without one
// ends, with its closing quote, before the record's last byte, and the byte after the quote
// needs no bounds test.
bool hintable(std::string_view key) noexcept {
    return std::all_of(key.begin(), key.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x80 && c != '}';
    });
}

flat_kind flat_kind_of(data_type type) noexcept {
    switch (type) {
        case data_type::float64:
            return flat_kind::float64;
        case data_type::int64:
            return flat_kind::int64;
        case data_type::timestamp_ms:
            return flat_kind::timestamp_ms;
        case data_type::boolean:
            return flat_kind::boolean;
        case data_type::string:
            return flat_kind::string;
    }
    return flat_kind::skip;
}

// The column data a slot's values are written to by row (null for a string slot: its values
// go through strings_ and the string builder).
void* column_data(const slot_sink& sink) noexcept {
    if (sink.f64 != nullptr) {
        return sink.f64;
    }
    if (sink.i64 != nullptr) {
        return sink.i64;
    }
    return sink.flag;
}

}  // namespace

const char* row_decoder::flat_value(const char* p,
                                    const char* end,
                                    const char* limit,
                                    const flat_key& key,
                                    std::size_t out_row,
                                    std::uint64_t& present,
                                    std::uint64_t& high) {
    // Each typed read declines a value starting with `n` (no digit, quote or `t`/`f`), so a
    // null is only looked for once a read has failed, off the common path.
    const char* const value = p;
    switch (key.kind) {
        case flat_kind::skip:
            return *p == '"' ? skip_string(p, end, limit, high) : skip_atom(p, end, high);
        case flat_kind::float64:
            p = scan_double(p, static_cast<double*>(key.values)[out_row]);
            break;
        case flat_kind::int64:
            p = scan_int64(p, static_cast<std::int64_t*>(key.values)[out_row]);
            break;
        case flat_kind::timestamp_ms:
            if (*p == '"') {
                const char* text = nullptr;
                std::size_t size = 0;
                p = scan_plain_string(p, end, limit, text, size, high);
                if (p == nullptr) {
                    return nullptr;
                }
                const auto ms = parse_iso8601_ms(std::string_view(text, size));
                if (!ms) {
                    return nullptr;
                }
                static_cast<std::int64_t*>(key.values)[out_row] = *ms;
            } else {
                p = scan_int64(p, static_cast<std::int64_t*>(key.values)[out_row]);
            }
            break;
        case flat_kind::boolean: {
            const bool flag = *p == 't';
            p = flag ? scan_literal(p, end, "true") : scan_literal(p, end, "false");
            if (p != nullptr) {
                static_cast<std::uint8_t*>(key.values)[out_row] = flag ? 1 : 0;
            }
            break;
        }
        case flat_kind::string: {
            if (*p != '"') {
                p = nullptr;
                break;
            }
            const char* text = nullptr;
            std::size_t size = 0;
            p = scan_plain_string(p, end, limit, text, size, high);
            strings_[static_cast<std::size_t>(key.hint.slot)] = std::string_view(text, size);
            break;
        }
        default:
            SLUICE_JSON_UNREACHABLE();
    }
    const std::uint64_t bit = std::uint64_t{1} << key.hint.slot;
    if (p != nullptr) {
        present |= bit;
    } else if (*value == 'n') {
        p = scan_literal(value, end, "null");
        if (p != nullptr) {
            present &= ~bit;  // the last occurrence of a key wins, null included
        }
    }
    return p;
}

flat_key row_decoder::flat_key_for(std::uint32_t ordinal, std::string_view key, int slot) {
    flat_key found;
    found.hint.slot = slot;
    if (slot >= 0) {
        const auto& sink = sinks_[static_cast<std::size_t>(slot)];
        found.kind = flat_kind_of(sink.type);
        found.values = column_data(sink);
    }
    if (ordinal >= max_hints || !hintable(key)) {
        return found;  // no hint: the key is read by find_special each time
    }
    const char* name = hint_name(key, slot);
    if (name == nullptr) {
        return found;
    }
    found.hint = key_hint::of(name, key.size(), slot);
    if (ordinal >= flat_keys_.size()) {
        flat_keys_.resize(ordinal + 1);
    }
    flat_keys_[ordinal] = found;
    return found;
}

bool row_decoder::commit_flat(std::uint64_t present, const char* limit, std::size_t out_row) {
    if ((plan_.required_mask[0] & ~present) != 0) {
        return false;
    }
    // Each string column gets one value per row; in which order the columns get theirs does
    // not matter, so the valid ones go first, without a test per slot.
    for (auto valid = plan_.flat_string_mask & present; valid != 0; valid &= valid - 1) {
        const auto slot = static_cast<std::size_t>(std::countr_zero(valid));
        sinks_[slot].text->push(strings_[slot], limit);
    }
    for (auto missing = plan_.flat_string_mask & ~present; missing != 0; missing &= missing - 1) {
        sinks_[static_cast<std::size_t>(std::countr_zero(missing))].text->push_null();
    }
    for (auto absent = plan_.numeric_mask[0] & ~present; absent != 0; absent &= absent - 1) {
        sinks_[static_cast<std::size_t>(std::countr_zero(absent))].target->set_null(out_row);
    }
    return true;
}

bool row_decoder::decode_flat(std::string_view json, const char* limit, std::size_t out_row) {
    const char* p = json.data();
    const char* end = p + json.size();
    while (end > p && is_space(end[-1])) {
        --end;
    }
    if (end == p) {
        return false;  // empty or blank: skip_space below would run past the record
    }
    p = skip_space(p, end);  // stops at end[-1] at the latest: it is not blank
    if (end - p < 2 || *p != '{' || end[-1] != '}') {
        return false;
    }
    const char* const object = p;
    // From here on the closing brace at end[-1] stops every scan that starts before it (it is
    // neither blank, a digit, nor part of a literal), so the scans below test for `end` only
    // where a token could run past it.
    std::uint64_t present = 0;
    std::uint64_t high = 0;
    p = skip_space(p + 1, end);
    if (*p == '}') {
        ++p;
    } else {
        // A hint reads up to 64 bytes at a key (key_hint::matches), which stay inside the
        // column's bytes if the record ends 64 bytes before them; else (the last record or so)
        // every key is looked up.
        const bool hints_readable = limit - end >= std::ptrdiff_t{simdjson::SIMDJSON_PADDING};
        const flat_key* keys = flat_keys_.data();
        std::size_t key_count = hints_readable ? flat_keys_.size() : 0;
        flat_key unhinted;
        for (std::uint32_t ordinal = 0;; ++ordinal) {
            if (*p != '"') {
                return false;
            }
            ++p;
            // The byte after the key's closing quote is inside the record: a hinted key holds
            // no `}` (hintable), and find_special stops before the record's last byte, a `}`.
            const flat_key* key = nullptr;
            const char* after_key = nullptr;
            if (ordinal < key_count && keys[ordinal].hint.matches(p)) {
                key = &keys[ordinal];
                after_key = p + key->hint.size + 1;
            } else {
                // A key with an escape (or a control character) is left to simdjson.
                const char* quote = find_special(p, end, limit, high);
                if (quote == end || *quote != '"') {
                    return false;
                }
                const std::string_view name(p, static_cast<std::size_t>(quote - p));
                unhinted = flat_key_for(ordinal, name, plan_.find(name));
                key = &unhinted;
                keys = flat_keys_.data();
                key_count = hints_readable ? flat_keys_.size() : 0;
                after_key = quote + 1;
            }
            p = *after_key == ':' ? after_key : skip_space(after_key, end);
            if (*p != ':') {
                return false;
            }
            p = flat_value(skip_space(p + 1, end), end, limit, *key, out_row, present, high);
            if (p == nullptr) {
                return false;
            }
            // A value ends at a comma, or blanks and then a comma or the closing brace (the
            // test that the scans of numbers and literals leave to this loop).
            if (*p != ',') {
                p = skip_space(p, end);
                if (*p == '}') {
                    ++p;
                    break;
                }
                if (*p != ',') {
                    return false;
                }
            }
            p = skip_space(p + 1, end);
        }
    }
    // The object must close at the record's last byte that is not blank: anything after it
    // is trailing content, which simdjson words.
    if (p != end) {
        return false;
    }
    // simdjson validates the UTF-8 of the whole record (stage 1), skipped values included.
    if (has_high_bit(high) &&
        !simdjson::validate_utf8(object, static_cast<std::size_t>(end - object))) {
        return false;
    }
    return commit_flat(present, limit, out_row);
}

}  // namespace sluice::detail::json
