#include <sluice/core/assert.hpp>
#include <sluice/core/row_json.hpp>

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

namespace sluice {

namespace {

// 0: copy as is; 1: needs an escape. Bytes >= 0x80 are copied (UTF-8 passes through).
constexpr std::array<std::uint8_t, 256> make_escape_table() {
    std::array<std::uint8_t, 256> table{};
    for (int c = 0; c < 0x20; ++c) {
        table[static_cast<std::size_t>(c)] = 1;
    }
    table['"'] = 1;
    table['\\'] = 1;
    return table;
}

constexpr std::array<std::uint8_t, 256> escape_table = make_escape_table();

constexpr char hex_digits[] = "0123456789abcdef";

void append_escape(std::string& out, unsigned char c) {
    switch (c) {
        case '"':
            out.append("\\\"", 2);
            return;
        case '\\':
            out.append("\\\\", 2);
            return;
        case '\n':
            out.append("\\n", 2);
            return;
        case '\r':
            out.append("\\r", 2);
            return;
        case '\t':
            out.append("\\t", 2);
            return;
        case '\b':
            out.append("\\b", 2);
            return;
        case '\f':
            out.append("\\f", 2);
            return;
        default: {
            const char buf[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15]};
            out.append(buf, 6);
            return;
        }
    }
}

// Length of the valid UTF-8 sequence starting at `p` (at most `n` bytes), or 0 if invalid
// (truncated, overlong, surrogate, beyond U+10FFFF, stray continuation byte).
std::size_t utf8_sequence_length(const unsigned char* p, std::size_t n) noexcept {
    const unsigned char b0 = p[0];
    if (b0 < 0x80) {
        return 1;
    }
    auto cont = [&](std::size_t i) {
        return i < n && (p[i] & 0xC0) == 0x80;
    };
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        return cont(1) ? 2 : 0;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (!cont(1) || !cont(2)) {
            return 0;
        }
        if (b0 == 0xE0 && p[1] < 0xA0) {
            return 0;  // overlong
        }
        if (b0 == 0xED && p[1] >= 0xA0) {
            return 0;  // UTF-16 surrogate
        }
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) {
            return 0;
        }
        if (b0 == 0xF0 && p[1] < 0x90) {
            return 0;  // overlong
        }
        if (b0 == 0xF4 && p[1] >= 0x90) {
            return 0;  // beyond U+10FFFF
        }
        return 4;
    }
    return 0;
}

constexpr std::int64_t ms_per_day = 86'400'000;

constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    const std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil_date {
    std::int64_t year;
    unsigned month;
    unsigned day;
};

constexpr civil_date civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2 ? 1 : 0), m, d};
}

constexpr bool is_leap(std::int64_t y) noexcept {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
    constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

inline void put2(char* p, unsigned v) noexcept {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
}

// Reads exactly `count` digits at `text[pos]`.
bool read_digits(std::string_view text, std::size_t& pos, std::size_t count, unsigned& value) {
    if (pos + count > text.size()) {
        return false;
    }
    unsigned v = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    pos += count;
    value = v;
    return true;
}

constexpr char digit_pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";

char* write_uint(char* p, std::uint64_t value) noexcept {
    char digits[20];
    char* const end = digits + sizeof digits;
    char* q = end;
    while (value >= 100) {
        const auto pair = static_cast<std::size_t>(value % 100) * 2;
        value /= 100;
        q -= 2;
        std::memcpy(q, digit_pairs + pair, 2);
    }
    if (value >= 10) {
        q -= 2;
        std::memcpy(q, digit_pairs + static_cast<std::size_t>(value) * 2, 2);
    } else {
        *--q = static_cast<char>('0' + value);
    }
    const auto n = static_cast<std::size_t>(end - q);
    std::memcpy(p, q, n);
    return p + n;
}

char* write_int(char* p, std::int64_t value) noexcept {
    if (value < 0) {
        *p++ = '-';
        return write_uint(p, 0 - static_cast<std::uint64_t>(value));
    }
    return write_uint(p, static_cast<std::uint64_t>(value));
}

template <std::size_t N>
char* write_literal(char* p, const char (&text)[N]) noexcept {
    std::memcpy(p, text, N - 1);
    return p + N - 1;
}

// At most 32 bytes.
char* write_double(char* p, double value) noexcept {
    if (!std::isfinite(value)) [[unlikely]] {
        return write_literal(p, "null");
    }
    // Fast path for values with at most 3 decimals (most sensor readings): if value is the
    // double nearest to units/1000, that decimal (trailing zeros dropped) is its shortest
    // round-trip text, since any other decimal of at most 3 places is >= 0.001 away while
    // doubles below 1e12 are spaced < 0.001 apart. Gives the same text as Dragonbox below.
    const double scaled = value * 1000.0;
    if (scaled > -1e15 && scaled < 1e15) {
        const auto units = static_cast<std::int64_t>(scaled + (scaled >= 0 ? 0.5 : -0.5));
        if (static_cast<double>(units) / 1000.0 == value && (units != 0 || !std::signbit(value))) {
            std::uint64_t magnitude = units < 0 ? 0 - static_cast<std::uint64_t>(units)
                                                : static_cast<std::uint64_t>(units);
            if (units < 0) {
                *p++ = '-';
            }
            p = write_uint(p, magnitude / 1000);
            *p++ = '.';
            auto fraction = static_cast<unsigned>(magnitude % 1000);
            *p++ = static_cast<char>('0' + fraction / 100);
            fraction %= 100;
            if (fraction != 0) {
                *p++ = static_cast<char>('0' + fraction / 10);
                if (fraction % 10 != 0) {
                    *p++ = static_cast<char>('0' + fraction % 10);
                }
            }
            return p;
        }
    }
    // fmt 9's `{}` is Dragonbox: the shortest text that round-trips.
    char* const start = p;
    p = fmt::format_to(p, FMT_COMPILE("{}"), value);
    const auto len = static_cast<std::size_t>(p - start);
    if (std::memchr(start, '.', len) == nullptr && std::memchr(start, 'e', len) == nullptr) {
        p = write_literal(p, ".0");
    }
    return p;
}

// At most 6 * text.size() + 2 bytes.
char* write_string(char* p, std::string_view text) noexcept {
    *p++ = '"';
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t run_start = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (escape_table[s[i]] != 0) [[unlikely]] {
            std::memcpy(p, text.data() + run_start, i - run_start);
            p += i - run_start;
            const unsigned char c = s[i];
            switch (c) {
                case '"':
                    p = write_literal(p, "\\\"");
                    break;
                case '\\':
                    p = write_literal(p, "\\\\");
                    break;
                case '\n':
                    p = write_literal(p, "\\n");
                    break;
                case '\r':
                    p = write_literal(p, "\\r");
                    break;
                case '\t':
                    p = write_literal(p, "\\t");
                    break;
                case '\b':
                    p = write_literal(p, "\\b");
                    break;
                case '\f':
                    p = write_literal(p, "\\f");
                    break;
                default:
                    p = write_literal(p, "\\u00");
                    *p++ = hex_digits[c >> 4];
                    *p++ = hex_digits[c & 15];
                    break;
            }
            run_start = i + 1;
        }
    }
    std::memcpy(p, text.data() + run_start, n - run_start);
    p += n - run_start;
    *p++ = '"';
    return p;
}

// At most 30 bytes (years beyond 0..9999 get a sign and more digits).
char* write_iso8601(char* p, std::int64_t epoch_ms) noexcept {
    const std::int64_t days = floor_div(epoch_ms, ms_per_day);
    const auto in_day = static_cast<unsigned>(epoch_ms - days * ms_per_day);
    const civil_date date = civil_from_days(days);
    if (date.year < 0 || date.year > 9999) [[unlikely]] {
        p = fmt::format_to(p, "{:+05}", date.year);
    } else {
        const auto y = static_cast<unsigned>(date.year);
        put2(p, y / 100);
        put2(p + 2, y % 100);
        p += 4;
    }
    char buf[20] = {'-', 0, 0, '-', 0, 0, 'T', 0, 0, ':', 0, 0, ':', 0, 0, '.', 0, 0, 0, 'Z'};
    put2(buf + 1, date.month);
    put2(buf + 4, date.day);
    put2(buf + 7, in_day / 3'600'000);
    put2(buf + 10, in_day / 60'000 % 60);
    put2(buf + 13, in_day / 1000 % 60);
    const unsigned ms = in_day % 1000;
    buf[16] = static_cast<char>('0' + ms / 100);
    put2(buf + 17, ms % 100);
    std::memcpy(p, buf, 20);
    return p + 20;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
    out.push_back('"');
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t run_start = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (escape_table[p[i]] != 0) [[unlikely]] {
            out.append(text.data() + run_start, i - run_start);
            append_escape(out, p[i]);
            run_start = i + 1;
        }
    }
    out.append(text.data() + run_start, n - run_start);
    out.push_back('"');
}

void append_json_string_lossy(std::string& out, std::string_view text) {
    out.push_back('"');
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t run_start = 0;
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        if (c < 0x80) {
            if (escape_table[c] != 0) {
                out.append(text.data() + run_start, i - run_start);
                append_escape(out, c);
                run_start = i + 1;
            }
            ++i;
            continue;
        }
        const std::size_t len = utf8_sequence_length(p + i, n - i);
        if (len == 0) {
            out.append(text.data() + run_start, i - run_start);
            out.append("\xEF\xBF\xBD", 3);  // U+FFFD REPLACEMENT CHARACTER
            ++i;
            run_start = i;
        } else {
            i += len;
        }
    }
    out.append(text.data() + run_start, n - run_start);
    out.push_back('"');
}

void append_json_double(std::string& out, double value) {
    char buf[40];
    const char* end = write_double(buf, value);
    out.append(buf, static_cast<std::size_t>(end - buf));
}

void append_json_int(std::string& out, std::int64_t value) {
    char buf[24];
    const char* end = write_int(buf, value);
    out.append(buf, static_cast<std::size_t>(end - buf));
}

void append_iso8601_ms(std::string& out, std::int64_t epoch_ms) {
    char buf[40];
    const char* end = write_iso8601(buf, epoch_ms);
    out.append(buf, static_cast<std::size_t>(end - buf));
}

std::optional<std::int64_t> parse_iso8601_ms(std::string_view text) noexcept {
    std::size_t pos = 0;
    unsigned year = 0;
    unsigned month = 0;
    unsigned day = 0;
    if (!read_digits(text, pos, 4, year) || pos >= text.size() || text[pos++] != '-' ||
        !read_digits(text, pos, 2, month) || pos >= text.size() || text[pos++] != '-' ||
        !read_digits(text, pos, 2, day)) {
        return std::nullopt;
    }
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
        return std::nullopt;
    }
    std::int64_t ms = days_from_civil(year, month, day) * ms_per_day;
    if (pos == text.size()) {
        return ms;
    }
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') {
        return std::nullopt;
    }
    ++pos;
    unsigned hour = 0;
    unsigned minute = 0;
    unsigned second = 0;
    if (!read_digits(text, pos, 2, hour) || pos >= text.size() || text[pos++] != ':' ||
        !read_digits(text, pos, 2, minute)) {
        return std::nullopt;
    }
    if (pos < text.size() && text[pos] == ':') {
        ++pos;
        if (!read_digits(text, pos, 2, second)) {
            return std::nullopt;
        }
    }
    if (hour > 23 || minute > 59 || second > 59) {
        return std::nullopt;
    }
    ms += (hour * 3600LL + minute * 60LL + second) * 1000LL;
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;
        std::size_t digits = 0;
        unsigned fraction = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 3) {
                fraction = fraction * 10 + static_cast<unsigned>(text[pos] - '0');
            }
            ++digits;
            ++pos;
        }
        if (digits == 0) {
            return std::nullopt;
        }
        for (std::size_t i = digits; i < 3; ++i) {
            fraction *= 10;
        }
        ms += fraction;
    }
    if (pos == text.size()) {
        return ms;
    }
    if (text[pos] == 'Z' || text[pos] == 'z') {
        return pos + 1 == text.size() ? std::optional<std::int64_t>(ms) : std::nullopt;
    }
    if (text[pos] != '+' && text[pos] != '-') {
        return std::nullopt;
    }
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    unsigned off_hour = 0;
    unsigned off_minute = 0;
    if (!read_digits(text, pos, 2, off_hour)) {
        return std::nullopt;
    }
    if (pos < text.size() && text[pos] == ':') {
        ++pos;
    }
    if (pos < text.size() && !read_digits(text, pos, 2, off_minute)) {
        return std::nullopt;
    }
    if (pos != text.size() || off_hour > 23 || off_minute > 59) {
        return std::nullopt;
    }
    // Local time = UTC + offset, so UTC = local - offset.
    return ms - sign * (off_hour * 3'600'000LL + off_minute * 60'000LL);
}

void append_json_value(std::string& out,
                       const column& values,
                       std::size_t row,
                       json_timestamp_format timestamps) {
    if (!values.is_valid(row)) {
        out.append("null", 4);
        return;
    }
    switch (values.type()) {
        case data_type::float64:
            append_json_double(out, values.float64_values()[row]);
            return;
        case data_type::int64:
            append_json_int(out, values.int64_values()[row]);
            return;
        case data_type::boolean:
            if (values.bool_values()[row] != 0) {
                out.append("true", 4);
            } else {
                out.append("false", 5);
            }
            return;
        case data_type::string:
            append_json_string(out, values.string_at(row));
            return;
        case data_type::timestamp_ms:
            if (timestamps == json_timestamp_format::iso8601) {
                out.push_back('"');
                append_iso8601_ms(out, values.int64_values()[row]);
                out.push_back('"');
            } else {
                append_json_int(out, values.int64_values()[row]);
            }
            return;
    }
}

row_json_writer::row_json_writer(const schema& fields, row_json_options options)
    : options_(options) {
    for (const field& f : fields.fields()) {
        types_.push_back(f.type);
        append_json_string(keys_, f.name);
        keys_.push_back(':');
        key_ends_.push_back(static_cast<std::uint32_t>(keys_.size()));
        switch (f.type) {
            case data_type::float64:
            case data_type::int64:
                fixed_bound_ += 32;
                break;
            case data_type::boolean:
                fixed_bound_ += 5;
                break;
            case data_type::string:
                fixed_bound_ += 2;
                break;
            case data_type::timestamp_ms:
                fixed_bound_ += 32;
                break;
        }
        fixed_bound_ += 1;  // ','
    }
    fixed_bound_ += keys_.size() + 1;  // the terminator
}

row_json_cursor row_json_writer::prepare(const batch& input) const {
    SLUICE_ASSERT(input.num_columns() == types_.size());
    row_json_cursor cursor;
    cursor.writer_ = this;
    cursor.rows_ = input.num_rows();
    cursor.columns_.reserve(types_.size());
    for (std::size_t i = 0; i < types_.size(); ++i) {
        const column& values = input.column_at(i);
        SLUICE_ASSERT(values.type() == types_[i]);
        row_json_cursor::column_view view{
                values.type(),
                nullptr,
                nullptr,
                values.validity_words().empty() ? nullptr : values.validity_words().data()};
        switch (values.type()) {
            case data_type::float64:
                view.values = values.float64_values().data();
                break;
            case data_type::int64:
            case data_type::timestamp_ms:
                view.values = values.int64_values().data();
                break;
            case data_type::boolean:
                view.values = values.bool_values().data();
                break;
            case data_type::string:
                view.values = values.string_bytes().data();
                view.offsets = values.string_offsets().data();
                break;
        }
        cursor.columns_.push_back(view);
    }
    return cursor;
}

void row_json_writer::append_row(std::string& out, const batch& input, std::size_t row) const {
    prepare(input).append_row(out, row);
}

void row_json_writer::append_ndjson(std::string& out, const batch& input) const {
    if (input.num_rows() == 0) {
        return;
    }
    prepare(input).append_rows(out, 0, input.num_rows(), '\n');
}

std::size_t row_json_cursor::row_bound(std::size_t row) const noexcept {
    std::size_t bound = writer_->fixed_bound_;
    for (const column_view& c : columns_) {
        if (c.type == data_type::string) {
            bound += 6 * static_cast<std::size_t>(c.offsets[row + 1] - c.offsets[row]);
        }
    }
    return bound;
}

char* row_json_cursor::write_row(char* p, std::size_t row) const noexcept {
    const row_json_writer& w = *writer_;
    const bool skip_nulls = w.options_.skip_nulls;
    const bool iso = w.options_.timestamps == json_timestamp_format::iso8601;
    *p++ = '{';
    bool first = true;
    std::uint32_t key_start = 0;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        const column_view& c = columns_[i];
        const std::uint32_t key_end = w.key_ends_[i];
        const bool valid =
                c.validity == nullptr || ((c.validity[row >> 6] >> (row & 63)) & 1U) != 0;
        if (!valid && skip_nulls) {
            key_start = key_end;
            continue;
        }
        if (!first) {
            *p++ = ',';
        }
        first = false;
        std::memcpy(p, w.keys_.data() + key_start, key_end - key_start);
        p += key_end - key_start;
        key_start = key_end;
        if (!valid) {
            p = write_literal(p, "null");
            continue;
        }
        switch (c.type) {
            case data_type::float64:
                p = write_double(p, static_cast<const double*>(c.values)[row]);
                break;
            case data_type::int64:
                p = write_int(p, static_cast<const std::int64_t*>(c.values)[row]);
                break;
            case data_type::boolean:
                p = static_cast<const std::uint8_t*>(c.values)[row] != 0
                            ? write_literal(p, "true")
                            : write_literal(p, "false");
                break;
            case data_type::string: {
                const char* chars = static_cast<const char*>(c.values);
                p = write_string(p,
                                 std::string_view(chars + c.offsets[row],
                                                  c.offsets[row + 1] - c.offsets[row]));
                break;
            }
            case data_type::timestamp_ms: {
                const std::int64_t ms = static_cast<const std::int64_t*>(c.values)[row];
                if (iso) {
                    *p++ = '"';
                    p = write_iso8601(p, ms);
                    *p++ = '"';
                } else {
                    p = write_int(p, ms);
                }
                break;
            }
        }
    }
    *p++ = '}';
    return p;
}

void row_json_cursor::append_row(std::string& out, std::size_t row, char terminator) {
    append_rows(out, row, row + 1, terminator);
}

void row_json_cursor::append_rows(std::string& out,
                                  std::size_t first,
                                  std::size_t last,
                                  char terminator) {
    // Rows are written through a raw pointer into a scratch buffer sized for the worst case
    // (every string byte escaped as \u00XX), then appended with one copy: std::string offers
    // no way to write past its size without zero-filling first.
    for (std::size_t row = first; row < last; ++row) {
        const std::size_t bound = row_bound(row);
        if (scratch_.size() < bound) {
            scratch_.resize(std::max(bound, 2 * scratch_.size()));
        }
        char* end = write_row(scratch_.data(), row);
        if (terminator != '\0') {
            *end++ = terminator;
        }
        out.append(scratch_.data(), static_cast<std::size_t>(end - scratch_.data()));
    }
}

}  // namespace sluice
