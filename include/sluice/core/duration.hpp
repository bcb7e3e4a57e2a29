#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

/// Parses "250ms", "5s", "1m", "2h", "1d", "1500us", "1.5s"; a bare "0" is zero.
/// Returns nullopt for anything else (negative values included).
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) noexcept;

/// Shortest exact spelling, e.g. "50ms", "1m", "90s".
std::string format_duration(std::chrono::nanoseconds value);

}  // namespace sluice
