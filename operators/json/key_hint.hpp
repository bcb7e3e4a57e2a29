#pragma once

// Private to the json operator: matching a record's keys against the schema's names with a
// word or two of compares, remembering which key stood at each position in the last record.

#include <simdjson.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

namespace sluice::detail::json {

// True if the first `size` bytes of `a` and `b` are equal. Reads whole 8-byte words, so both
// must be readable up to `size` rounded up to 8: keys lie in the padded document, hint names
// carry 16 NUL bytes. Beats a memcmp call for keys longer than 16 bytes.
inline bool same_bytes(const char* a, const char* b, std::size_t size) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t x = 0;
        std::uint64_t y = 0;
        std::memcpy(&x, a + i, 8);
        std::memcpy(&y, b + i, 8);
        if (x != y) {
            return false;
        }
    }
    if (i == size) {
        return true;
    }
    std::uint64_t x = 0;
    std::uint64_t y = 0;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    const auto tail_bits = static_cast<unsigned>(size - i) * 8;  // 8..56
    const std::uint64_t mask = std::endian::native == std::endian::little
                                       ? (std::uint64_t{1} << tail_bits) - 1
                                       : ~std::uint64_t{0} << (64 - tail_bits);
    return ((x ^ y) & mask) == 0;
}

// The first `bytes` (0..8) bytes of a word loaded with memcpy.
constexpr std::uint64_t prefix_mask(std::size_t bytes) noexcept {
    if (bytes >= 8) {
        return ~std::uint64_t{0};
    }
    if (bytes == 0) {
        return 0;
    }
    return std::endian::native == std::endian::little ? (std::uint64_t{1} << (bytes * 8)) - 1
                                                      : ~std::uint64_t{0} << (64 - bytes * 8);
}

inline std::uint64_t load_word(const char* p) noexcept {
    std::uint64_t w = 0;
    std::memcpy(&w, p, 8);
    return w;
}

// Remembers, per key position in an object, which key was there in the previous record:
// records of one stream mostly share their key order, so one compare usually finds the slot.
// Keys of up to 15 bytes are compared together with their closing quote as two masked words,
// without a loop or a separate test of the quote.
struct key_hint {
    static constexpr std::size_t short_size = 15;  // longest key compared as two words

    std::uint64_t word0 = 0;  // the name and its closing quote (short keys), zero-padded
    std::uint64_t word1 = 0;
    std::uint64_t mask0 = 0;  // which of their bytes belong to the name and quote
    std::uint64_t mask1 = 0;
    const char* name = nullptr;  // padded name, for names longer than short_size
    std::uint32_t size = std::numeric_limits<std::uint32_t>::max();  // max = no hint
    int slot = -1;                                                   // -1 = ignored key

    /// The hint for the key `size` bytes long spelled at `padded_name` (followed by at least
    /// 16 readable bytes, which must stay in place), found in slot `slot` (-1: ignored).
    static key_hint of(const char* padded_name, std::size_t size, int slot) noexcept {
        key_hint hint;
        if (size <= short_size) {
            char quoted[16] = {};
            std::memcpy(quoted, padded_name, size);
            quoted[size] = '"';
            hint.word0 = load_word(quoted);
            hint.word1 = load_word(quoted + 8);
            hint.mask0 = prefix_mask(size + 1);
            hint.mask1 = size + 1 > 8 ? prefix_mask(size + 1 - 8) : 0;
        }
        hint.name = padded_name;
        hint.size = static_cast<std::uint32_t>(size);
        hint.slot = slot;
        return hint;
    }

    // Reads 16 bytes (or `size` rounded up to 8, and raw[size]) at `raw`: the caller guarantees
    // they are readable (a key inside a document with SIMDJSON_PADDING).
    bool matches(const char* raw) const noexcept {
        if (size <= short_size) {
            return (((load_word(raw) ^ word0) & mask0) | ((load_word(raw + 8) ^ word1) & mask1)) ==
                   0;
        }
        return size < simdjson::SIMDJSON_PADDING && raw[size] == '"' && same_bytes(raw, name, size);
    }
};

}  // namespace sluice::detail::json
