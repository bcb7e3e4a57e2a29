// row_decoder's flat path: records that are one object of plain scalars, read without
// simdjson. See flat_scan.hpp for what it accepts and why that matches simdjson.

#include "flat_scan.hpp"
#include "row_decoder.hpp"

#include <sluice/core/row_json.hpp>

#include <simdjson.h>

namespace sluice::detail::json {

const char* row_decoder::flat_value(const char* p,
                                    const char* end,
                                    const char* limit,
                                    std::size_t slot,
                                    std::size_t out_row,
                                    std::uint64_t& present,
                                    std::uint64_t& nulled) {
    const std::uint64_t bit = std::uint64_t{1} << slot;
    if (*p == 'n') {
        p = scan_literal(p, end, "null");
        if (p != nullptr) {
            present &= ~bit;  // the last occurrence of a key wins, null included
            nulled |= bit;
        }
        return p;
    }
    const auto& sink = sinks_[slot];
    switch (sink.type) {
        case data_type::float64:
            p = scan_double(p, end, sink.f64[out_row]);
            break;
        case data_type::int64:
            p = scan_int64(p, end, sink.i64[out_row]);
            break;
        case data_type::timestamp_ms:
            if (*p == '"') {
                const char* text = nullptr;
                std::size_t size = 0;
                p = scan_plain_string(p, end, limit, text, size);
                if (p == nullptr) {
                    return nullptr;
                }
                const auto ms = parse_iso8601_ms(std::string_view(text, size));
                if (!ms) {
                    return nullptr;
                }
                sink.i64[out_row] = *ms;
            } else {
                p = scan_int64(p, end, sink.i64[out_row]);
            }
            break;
        case data_type::boolean:
            if (*p == 't') {
                p = scan_literal(p, end, "true");
                sink.flag[out_row] = 1;
            } else {
                p = scan_literal(p, end, "false");
                sink.flag[out_row] = 0;
            }
            break;
        case data_type::string: {
            if (*p != '"') {
                return nullptr;
            }
            const char* text = nullptr;
            std::size_t size = 0;
            p = scan_plain_string(p, end, limit, text, size);
            strings_[slot] = std::string_view(text, size);
            break;
        }
    }
    if (p != nullptr) {
        present |= bit;
    }
    return p;
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
    // From here on the closing brace at end[-1] stops every scan that starts before it (it is
    // neither blank, a digit, nor part of a literal), so the scans below test for `end` only
    // where a token could run past it.
    // simdjson validates the UTF-8 of the whole record (stage 1), skipped values included.
    if (has_non_ascii(p, end, limit) &&
        !simdjson::validate_utf8(p, static_cast<std::size_t>(end - p))) {
        return false;
    }
    std::uint64_t present = 0;
    std::uint64_t nulled = 0;
    p = skip_space(p + 1, end);
    if (*p == '}') {
        ++p;
    } else {
        std::size_t hint_count = hints_.size();
        for (std::uint32_t ordinal = 0;; ++ordinal) {
            if (*p != '"') {
                return false;
            }
            ++p;
            int slot = -1;
            const char* after_key = nullptr;
            // The hint reads up to 64 bytes at p (key_hint::matches): inside the column's bytes.
            if (ordinal < hint_count && p + simdjson::SIMDJSON_PADDING <= limit &&
                hints_[ordinal].matches(p)) {
                slot = hints_[ordinal].slot;
                after_key = p + hints_[ordinal].size + 1;
            } else {
                // A key with an escape (or a control character) is left to simdjson.
                const char* quote = find_special(p, end, limit);
                if (quote == end || *quote != '"') {
                    return false;
                }
                const std::string_view key(p, static_cast<std::size_t>(quote - p));
                slot = plan_.find(key);
                remember(ordinal, key, slot);
                hint_count = hints_.size();
                after_key = quote + 1;
            }
            if (after_key >= end) {
                return false;  // the key's quote lies past the record
            }
            p = *after_key == ':' ? after_key : skip_space(after_key, end);
            if (*p != ':') {
                return false;
            }
            p = skip_space(p + 1, end);
            if (slot < 0) {
                p = *p == '"' ? skip_string(p, end, limit) : skip_atom(p, end);
            } else {
                p = flat_value(
                        p, end, limit, static_cast<std::size_t>(slot), out_row, present, nulled);
            }
            if (p == nullptr) {
                return false;
            }
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
    present_[0] = present;
    nulled_[0] = nulled;
    strings_readable_end_ = limit;
    return commit(out_row);
}

}  // namespace sluice::detail::json
