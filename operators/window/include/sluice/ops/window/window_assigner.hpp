#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice {

/// The kinds of windows.
enum class window_kind : std::uint8_t {
    tumbling,  ///< fixed size, no overlap: [k·size, (k+1)·size)
    hopping,   ///< fixed size, starting every `slide`: [k·slide, k·slide + size)
    session,   ///< per key, records closer than `gap` to each other; [first, last + gap)
};

/// Bounds of one window in event-time ms: [start, end).
struct window_bounds {
    std::int64_t start = 0;
    std::int64_t end = 0;

    bool operator==(const window_bounds&) const = default;
};

/// Maps an event time to the windows that contain it. Tumbling and hopping windows are
/// aligned to the Unix epoch (a 1-minute window starts on a whole minute, UTC). A session
/// window starts as [t, t + gap); overlapping ones are merged by the window operator.
///
/// A value type; thread-safe for concurrent const use.
class window_assigner {
public:
    /// Preconditions: size_ms >= 1; for hopping 1 <= slide_ms <= size_ms; for session gap_ms >=
    /// 1 (pass it as size_ms). Tumbling ignores slide_ms.
    window_assigner(window_kind kind, std::int64_t size_ms, std::int64_t slide_ms);

    window_kind kind() const noexcept { return kind_; }
    /// Most windows one record can belong to: ceil(size / slide) for hopping, 1 otherwise.
    std::size_t max_windows() const noexcept { return max_windows_; }

    /// Writes the windows containing `time_ms` to `out` (room for `max_windows()`), latest
    /// start first; returns how many.
    std::size_t assign(std::int64_t time_ms, window_bounds* out) const noexcept;

private:
    window_kind kind_;
    std::int64_t size_;
    std::int64_t slide_;
    std::size_t max_windows_;
};

/// ⌊value / divisor⌋ for a positive divisor (rounds toward −∞ for negative values, unlike `/`).
constexpr std::int64_t floor_div(std::int64_t value, std::int64_t divisor) noexcept {
    const std::int64_t q = value / divisor;
    return (value % divisor != 0 && value < 0) ? q - 1 : q;
}

}  // namespace sluice
