#pragma once

// Private to the json operator: what the hot loop needs to know about the schema, computed
// once per transform.

#include <sluice/core/data_type.hpp>
#include <sluice/ops/json.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice {

struct json_decode_transform::plan {
    struct slot {
        std::string name;
        std::string padded_name;  // name + 16 NUL bytes, for word-wise compares
        data_type type = data_type::string;
        bool required = true;
    };

    std::vector<slot> slots;
    std::size_t words = 0;                     // 64-bit words of a per-row field bitset
    std::vector<std::uint64_t> required_mask;  // bit per required slot
    std::vector<std::uint64_t> numeric_mask;   // bit per slot stored by index (not string)
    std::vector<std::uint32_t> string_slots;
    std::uint64_t flat_string_mask = 0;  // bit per string slot when words == 1 (the flat path)
    // Only built for wide schemas: a linear scan of a few names is faster than hashing.
    std::unordered_map<std::string_view, std::uint32_t> by_name;

    static constexpr std::size_t linear_limit = 16;

    // Bytes per row each string slot held in the last batch decoded, to reserve the next
    // batch's columns close to their size: too little reallocates while decoding, too much
    // stays allocated in the batch downstream. A hint only (relaxed; races are harmless).
    mutable std::unique_ptr<std::atomic<std::uint32_t>[]> string_bytes_per_row;

    /// The slot called `key`, or -1.
    int find(std::string_view key) const noexcept {
        if (slots.size() <= linear_limit) {
            for (std::size_t i = 0; i < slots.size(); ++i) {
                const auto& name = slots[i].name;
                if (name.size() == key.size() &&
                    std::memcmp(name.data(), key.data(), key.size()) == 0) {
                    return static_cast<int>(i);
                }
            }
            return -1;
        }
        const auto it = by_name.find(key);
        return it == by_name.end() ? -1 : static_cast<int>(it->second);
    }
};

namespace detail::json {

/// The plan of a validated config.
std::unique_ptr<json_decode_transform::plan> make_plan(const json_decode_config& config);

}  // namespace detail::json

}  // namespace sluice
