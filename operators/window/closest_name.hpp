#pragma once

// Private helper: the "did you mean" suggestion of the window operator's bind errors.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::detail::window {

/// Levenshtein distance, case-sensitive.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

/// "unknown column 'x'; did you mean 'y'?" or "unknown column 'x' (columns: a, b)".
inline std::string unknown_column_message(std::string_view name, const std::vector<std::string>& columns) {
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
