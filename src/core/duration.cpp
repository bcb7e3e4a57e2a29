#include <sluice/core/duration.hpp>

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace sluice {
namespace {

struct unit {
    std::string_view suffix;
    double nanoseconds;
};

// Longest suffixes first so "ms" is not read as "m" + "s".
constexpr std::array<unit, 7> units{{{"ns", 1.0},
                                     {"us", 1e3},
                                     {"ms", 1e6},
                                     {"s", 1e9},
                                     {"m", 60e9},
                                     {"h", 3600e9},
                                     {"d", 86400e9}}};

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) noexcept {
    if (text == "0") {
        return std::chrono::nanoseconds{0};
    }
    std::size_t digits_end = 0;
    while (digits_end < text.size() &&
           ((text[digits_end] >= '0' && text[digits_end] <= '9') || text[digits_end] == '.')) {
        ++digits_end;
    }
    if (digits_end == 0 || digits_end == text.size()) {
        return std::nullopt;
    }
    double value = 0;
    const auto number = text.substr(0, digits_end);
    const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || ptr != number.data() + number.size()) {
        return std::nullopt;
    }
    const auto suffix = text.substr(digits_end);
    for (const auto& u : units) {
        if (suffix == u.suffix) {
            const double ns = value * u.nanoseconds;
            if (!std::isfinite(ns) || ns > 9.2e18) {
                return std::nullopt;
            }
            return std::chrono::nanoseconds{static_cast<std::int64_t>(std::llround(ns))};
        }
    }
    return std::nullopt;
}

std::string format_duration(std::chrono::nanoseconds value) {
    const auto ns = value.count();
    if (ns == 0) {
        return "0s";
    }
    // Largest unit first. Reverse iterators rather than std::views::reverse: clang 14 (the
    // clang-tidy of `make lint`) cannot compile libstdc++ 12's ranges.
    for (auto u = units.rbegin(); u != units.rend(); ++u) {
        const auto per = static_cast<std::int64_t>(u->nanoseconds);
        if (ns % per == 0) {
            return fmt::format("{}{}", ns / per, u->suffix);
        }
    }
    return fmt::format("{}ns", ns);
}

}  // namespace sluice
