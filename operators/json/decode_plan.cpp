#include "decode_plan.hpp"

namespace sluice::detail::json {

std::unique_ptr<json_decode_transform::plan> make_plan(const json_decode_config& config) {
    auto p = std::make_unique<json_decode_transform::plan>();
    p->slots.reserve(config.schema.size());
    p->words = (config.schema.size() + 63) / 64;
    p->required_mask.assign(p->words, 0);
    p->numeric_mask.assign(p->words, 0);
    for (const auto& f : config.schema) {
        const auto index = p->slots.size();
        p->slots.push_back({f.name, f.name + std::string(16, '\0'), f.type, !f.nullable});
        const std::uint64_t bit = std::uint64_t{1} << (index & 63);
        if (!f.nullable) {
            p->required_mask[index >> 6] |= bit;
        }
        if (f.type == data_type::string) {
            p->string_slots.push_back(static_cast<std::uint32_t>(index));
            if (p->words == 1) {
                p->flat_string_mask |= bit;
            }
        } else {
            p->numeric_mask[index >> 6] |= bit;
        }
    }
    p->string_bytes_per_row = std::make_unique<std::atomic<std::uint32_t>[]>(p->slots.size());
    for (std::size_t i = 0; i < p->slots.size(); ++i) {
        p->string_bytes_per_row[i].store(16,
                                         std::memory_order_relaxed);  // until a batch says better
    }
    if (p->slots.size() > json_decode_transform::plan::linear_limit) {
        for (std::size_t i = 0; i < p->slots.size(); ++i) {
            p->by_name.emplace(p->slots[i].name, static_cast<std::uint32_t>(i));
        }
    }
    return p;
}

}  // namespace sluice::detail::json
