#pragma once

// Private helper: the "did you mean" suggestion of the window operator's bind errors.

#include <sluice/core/edit_distance.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::detail::window {

/// "unknown column 'x'; did you mean 'y'?" or "unknown column 'x' (columns: a, b)".
inline std::string unknown_column_message(std::string_view name,
                                          const std::vector<std::string>& columns) {
    std::string best;
    // Up to half the name may differ ("sensor" -> "sensor_id"), at least two edits.
    std::size_t best_distance = std::max<std::size_t>(2, name.size() / 2) + 1;
    for (const auto& c : columns) {
        const auto d = edit_distance(name, c);
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    if (!best.empty()) {
        return fmt::format("unknown column '{}'; did you mean '{}'?", name, best);
    }
    return fmt::format("unknown column '{}' (columns: {})", name, fmt::join(columns, ", "));
}

/// A duration as the window messages show it: whole seconds as "90s", anything else in ms.
inline std::string describe_ms(std::int64_t ms) {
    return ms % 1000 == 0 ? fmt::format("{}s", ms / 1000) : fmt::format("{}ms", ms);
}

}  // namespace sluice::detail::window
