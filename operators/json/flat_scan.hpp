#pragma once

// Private to the json operator: the pieces of the flat-record scanner (row_decoder::decode_flat).
//
// Each function reads the bytes [p, end) of one record and either accepts the plainest form of
// one JSON token, returning what it read, or declines (nullptr / false). A decline is never an
// error: the record then goes to simdjson, which accepts or rejects it with the exact reason.
// What is accepted here must be accepted by simdjson with the same value, so every form is a
// subset of what simdjson reads: numbers without exponents and with at most 18 digits (exact by
// Clinger's fast path, as simdjson computes them), strings without escapes or control
// characters, `true`/`false`/`null` followed by a delimiter.
//
// Reads never pass `end`, except whole 8-byte words that end at or before `limit` (the end of
// the input column's bytes, so always readable memory). The caller has checked that the
// record's last byte, end[-1], is its closing brace: loops over blanks, digits and atoms stop
// there at the latest, so they do not test for `end` (they need p < end on entry).
//
// A scalar must end at a comma or closing brace of the enclosing object, or whitespace, for
// simdjson to read it as the flat path does. The scans of numbers and literals leave that test
// to their caller, which looks at the byte after every value anyway (a comma, or blanks and
// then a comma or the closing brace) and declines anything else.
//
// UTF-8: stage 1 validates the UTF-8 of a whole record, skipped values included. A byte above
// 0x7F can only stand where the scanner reads string or key bytes or a skipped atom (it accepts
// nothing else but ASCII), so those scans note in an accumulator, `high`, whether a byte they
// read was above 0x7F: whole blocks, which may reach past the string (even past the record:
// that only asks for a needless check), and every byte of the byte-wise loops. The caller
// validates the record only when has_high_bit(high), instead of a separate pass over every
// record.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#    include <emmintrin.h>
#endif

namespace sluice::detail::json {

inline bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// The first byte at or after `p` that is not JSON whitespace. Does not test for `end`: the
/// caller guarantees a non-blank byte in [p, end) (in a record, its closing brace).
inline const char* skip_space(const char* p, [[maybe_unused]] const char* end) noexcept {
    while (is_space(*p)) {
        ++p;
    }
    return p;
}

/// Appends the decimal digits at `p` to `value` (wrapping past 19 digits: callers count the
/// digits and decline); returns the first byte that is not a digit.
inline const char* append_digits(const char* p, std::uint64_t& value) noexcept {
    // In unsigned int, not char: no zero extension per digit.
    for (unsigned digit = static_cast<unsigned char>(*p) - unsigned{'0'}; digit <= 9;
         digit = static_cast<unsigned char>(*++p) - unsigned{'0'}) {
        value = value * 10 + digit;
    }
    return p;
}

/// The integer part of a JSON number at `p`, `0|[1-9][0-9]*`, into `value`: returns the byte
/// after it, or `p` if there is no digit. A zero ends the part (`01` is then not followed by
/// a delimiter, and declined).
inline const char* scan_integer_digits(const char* p, std::uint64_t& value) noexcept {
    return *p == '0' ? p + 1 : append_digits(p, value);
}

/// The number at `p` as a double, if it is `-?(0|[1-9][0-9]*)(\.[0-9]+)?` with at most 18
/// digits: then the digits d and fraction length f give d / 10^f exactly
/// rounded (d < 10^18 is not always exact as a double, so also d < 2^53: Clinger's fast path,
/// which is simdjson's first path too; both round correctly, so they agree bit for bit).
/// Returns the byte after the number, or nullptr to decline.
inline const char* scan_double(const char* p, double& out) noexcept {
    static constexpr double powers[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                        1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const bool negative = *p == '-';
    p += negative ? 1 : 0;
    const char* const digits = p;
    std::uint64_t value = 0;
    p = scan_integer_digits(p, value);
    if (p == digits) {
        return nullptr;
    }
    std::size_t fraction = 0;
    if (*p == '.') {
        ++p;
        const char* const fraction_digits = p;
        p = append_digits(p, value);
        fraction = static_cast<std::size_t>(p - fraction_digits);
        if (fraction == 0) {
            return nullptr;
        }
    }
    // Digits counted with the point and any leading zeros: value < 10^18, no overflow above.
    if (p - digits > 19 || (fraction == 0 && p - digits > 18) ||
        value >= (std::uint64_t{1} << 53)) {
        return nullptr;
    }
    auto d = static_cast<double>(value);
    if (fraction != 0) {
        d /= powers[fraction];
    }
    out = negative ? -d : d;
    return p;
}

/// The integer at `p`, if it is `-?(0|[1-9][0-9]*)` with at most 18 digits. Returns the byte
/// after it, or nullptr to decline (more digits; a fraction or an exponent is declined by the
/// caller, at the byte returned).
inline const char* scan_int64(const char* p, std::int64_t& out) noexcept {
    const bool negative = *p == '-';
    p += negative ? 1 : 0;
    const char* const digits = p;
    std::uint64_t value = 0;
    p = scan_integer_digits(p, value);
    if (p == digits || p - digits > 18) {
        return nullptr;
    }
    out = negative ? -static_cast<std::int64_t>(value) : static_cast<std::int64_t>(value);
    return p;
}

/// The literal `word` (`true`, `false`, `null`) at `p`, inside the record. Returns the byte
/// after it, or nullptr.
template <std::size_t Size>
inline const char* scan_literal(const char* p, const char* end, const char (&word)[Size]) noexcept {
    constexpr std::size_t size = Size - 1;
    if (static_cast<std::size_t>(end - p) <= size || std::memcmp(p, word, size) != 0) {
        return nullptr;
    }
    return p + size;
}

namespace flat_scan_detail {

constexpr std::uint64_t ones = 0x0101010101010101ULL;
constexpr std::uint64_t highs = 0x8080808080808080ULL;

// High bit of each byte of `w` that is a quote, a backslash or below 0x20, exact for the lowest
// one (borrows run upward only from a true hit).
constexpr std::uint64_t special_bytes(std::uint64_t w) noexcept {
    const std::uint64_t quote = w ^ (ones * '"');
    const std::uint64_t backslash = w ^ (ones * '\\');
    return (((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) |
            ((w - ones * 0x20) & ~w)) &
           highs;
}

}  // namespace flat_scan_detail

/// Notes in `high` whether `c` is above 0x7F (not ASCII).
inline void note_byte(std::uint64_t& high, char c) noexcept {
    high |= static_cast<unsigned char>(c) & 0x80U;
}

/// True if a byte noted in `high` was above 0x7F.
inline bool has_high_bit(std::uint64_t high) noexcept {
    return high != 0;
}

/// The first quote, backslash or control character (< 0x20) at or after `p` and before `end`,
/// or `end`; notes every byte it read, up to the one returned at least, in `high`. Reads 16
/// bytes at a time with SSE2 (x86-64 always has it), else 8 on a little-endian machine.
inline const char* find_special(const char* p,
                                const char* end,
                                const char* limit,
                                std::uint64_t& high) noexcept {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i below_space = _mm_set1_epi8(0x1F);
    while (limit - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        high |= static_cast<unsigned>(_mm_movemask_epi8(v));
        // A byte is a control character if max(byte, 0x1F) is 0x1F (an unsigned compare).
        const __m128i special =
                _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                             _mm_cmpeq_epi8(_mm_max_epu8(v, below_space), below_space));
        if (const auto hits = static_cast<unsigned>(_mm_movemask_epi8(special)); hits != 0) {
            const char* hit = p + std::countr_zero(hits);
            return hit < end ? hit : end;
        }
        p += 16;
        if (p >= end) {
            return end;
        }
    }
#else
    if constexpr (std::endian::native == std::endian::little) {
        while (p + 8 <= limit) {
            std::uint64_t w = 0;
            std::memcpy(&w, p, 8);
            high |= w & flat_scan_detail::highs;
            if (const auto hits = flat_scan_detail::special_bytes(w); hits != 0) {
                const char* hit = p + std::countr_zero(hits) / 8;
                return hit < end ? hit : end;
            }
            p += 8;
            if (p >= end) {
                return end;
            }
        }
    }
#endif
    while (p < end && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20) {
        note_byte(high, *p);
        ++p;
    }
    return p;
}

/// The content of the string whose opening quote is at `p`, if it holds no escape and no
/// control character (then its bytes are what simdjson would unescape it to). Returns the byte
/// after the closing quote, or nullptr. ORs the bytes read into `high`.
inline const char* scan_plain_string(const char* p,
                                     const char* end,
                                     const char* limit,
                                     const char*& content,
                                     std::size_t& size,
                                     std::uint64_t& high) noexcept {
    const char* const first = p + 1;
    const char* const stop = find_special(first, end, limit, high);
    if (stop == end || *stop != '"') {
        return nullptr;
    }
    content = first;
    size = static_cast<std::size_t>(stop - first);
    return stop + 1;
}

/// Skips the string whose opening quote is at `p`, escapes included (a backslash takes the
/// next byte with it, as stage 1 reads it), declining control characters, escaped or not.
/// Returns the byte after the closing quote, or nullptr. ORs the bytes read into `high`.
inline const char* skip_string(const char* p,
                               const char* end,
                               const char* limit,
                               std::uint64_t& high) noexcept {
    ++p;
    for (;;) {
        p = find_special(p, end, limit, high);
        if (p == end || static_cast<unsigned char>(*p) < 0x20) {
            return nullptr;
        }
        if (*p == '"') {
            return p + 1;
        }
        // A backslash and the byte it escapes, which stage 1 still refuses if it is a control
        // character (an escape does not make `\<0x01>` legal).
        if (p + 1 >= end || static_cast<unsigned char>(p[1]) < 0x20) {
            return nullptr;
        }
        note_byte(high, p[1]);
        p += 2;
    }
}

/// Skips a scalar that is not a string (a number or literal, possibly malformed: simdjson does
/// not parse the values of keys it skips either) up to the delimiter after it. Declines
/// anything that opens a container or holds a quote, a colon or a control character. ORs the
/// bytes read into `high`.
inline const char* skip_atom(const char* p, const char* end, std::uint64_t& high) noexcept {
    const char* const first = p;
    while (*p != ',' && *p != '}' && !is_space(*p)) {
        const char c = *p;
        if (c == '{' || c == '[' || c == ']' || c == ':' || c == '"' ||
            static_cast<unsigned char>(c) < 0x20) {
            return nullptr;
        }
        note_byte(high, c);
        ++p;
    }
    return p == first || p == end ? nullptr : p;
}

}  // namespace sluice::detail::json
