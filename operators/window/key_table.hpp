#pragma once

// The window operator's key index: encoded key bytes -> key id, as a flat open-addressing table
// (linear probing, the full hash stored in each entry). A lookup usually reads one entry and
// compares the key bytes once; std::unordered_map chased a bucket and a node per lookup, which
// with 10,000 keys cost a cache miss each (README "Performance").

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

namespace sluice::detail::window {

/// A fast 64-bit hash of a short byte string (8-byte words, multiply-xorshift mixing). Not for
/// adversarial input: keys come from the pipeline's own records and the table stays at most
/// half full, so a poor distribution costs time, never correctness.
inline std::uint64_t hash_key_bytes(std::string_view bytes) noexcept {
    constexpr std::uint64_t k = 0x9E3779B97F4A7C15ULL;
    const char* p = bytes.data();
    std::size_t n = bytes.size();
    std::uint64_t h = 0x243F6A8885A308D3ULL ^ (static_cast<std::uint64_t>(n) * k);
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * k;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    if (n != 0) {
        std::uint64_t w = 0;
        std::memcpy(&w, p, n);
        h = (h ^ w) * k;
    }
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    h ^= h >> 32;
    return h;
}

/// Maps a hash to the ids stored under it; the caller compares the keys (it owns them).
/// Not thread-safe.
class key_table {
public:
    static constexpr std::uint32_t npos = std::numeric_limits<std::uint32_t>::max();

    /// The id stored under `hash` whose key `equal(id)` confirms, or npos.
    template <class Equal>
    std::uint32_t find(std::uint64_t hash, Equal&& equal) const {
        if (entries_.empty()) {
            return npos;
        }
        for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const entry& e = entries_[i];
            if (e.id == npos) {
                return npos;
            }
            if (e.hash == hash && equal(e.id)) {
                return e.id;
            }
        }
    }

    /// The first id stored under `hash` without comparing keys (npos if none): a candidate to
    /// prefetch before `find` confirms it.
    std::uint32_t candidate(std::uint64_t hash) const noexcept {
        if (entries_.empty()) {
            return npos;
        }
        for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const entry& e = entries_[i];
            if (e.id == npos || e.hash == hash) {
                return e.id;
            }
        }
    }

    void prefetch(std::uint64_t hash) const noexcept {
        if (!entries_.empty()) {
            __builtin_prefetch(&entries_[hash & mask_]);
        }
    }

    /// Adds `id` under `hash` (the caller made sure the key is not in the table).
    void insert(std::uint64_t hash, std::uint32_t id) {
        if ((size_ + 1) * 2 > entries_.size()) {
            grow();
        }
        place(hash, id);
        ++size_;
    }

    /// Removes `id`, stored under `hash`. Backward-shift deletion: no tombstones, so lookups
    /// stay short however many keys come and go.
    void erase(std::uint64_t hash, std::uint32_t id) noexcept {
        if (entries_.empty()) {
            return;
        }
        std::size_t i = hash & mask_;
        while (entries_[i].id != id) {
            if (entries_[i].id == npos) {
                return;
            }
            i = (i + 1) & mask_;
        }
        std::size_t j = i;
        for (;;) {
            j = (j + 1) & mask_;
            if (entries_[j].id == npos) {
                break;
            }
            const std::size_t home = entries_[j].hash & mask_;
            // The entry at j may move to i only if its home is not cyclically within (i, j].
            const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) {
                entries_[i] = entries_[j];
                i = j;
            }
        }
        entries_[i] = entry{};
        --size_;
    }

    std::size_t size() const noexcept { return size_; }
    std::size_t memory_bytes() const noexcept { return entries_.capacity() * sizeof(entry); }

private:
    struct entry {
        std::uint64_t hash = 0;
        std::uint32_t id = npos;
    };

    void place(std::uint64_t hash, std::uint32_t id) noexcept {
        std::size_t i = hash & mask_;
        while (entries_[i].id != npos) {
            i = (i + 1) & mask_;
        }
        entries_[i] = {hash, id};
    }

    void grow() {
        std::vector<entry> old = std::move(entries_);
        entries_.assign(old.empty() ? 64 : old.size() * 2, entry{});
        mask_ = entries_.size() - 1;
        for (const entry& e : old) {
            if (e.id != npos) {
                place(e.hash, e.id);
            }
        }
    }

    std::vector<entry> entries_;
    std::size_t size_ = 0;
    std::size_t mask_ = 0;
};

}  // namespace sluice::detail::window
