// Minimum of per-stream watermarks, idle streams left out.

#include <sluice/ops/window/watermark_tracker.hpp>

#include <algorithm>

namespace sluice {

watermark_tracker::watermark_tracker(std::int64_t max_out_of_orderness_ms,
                                     std::int64_t idle_timeout_ms)
    : max_out_of_orderness_(std::max<std::int64_t>(max_out_of_orderness_ms, 0))
    , idle_timeout_(idle_timeout_ms) {}

std::int64_t watermark_tracker::observe(std::uint32_t stream,
                                        std::int64_t batch_watermark_ms,
                                        std::int64_t max_event_time_ms,
                                        std::int64_t now_ms) {
    stream_state& s = streams_[stream];
    s.last_seen_ms = now_ms;
    if (max_event_time_ms != no_watermark) {
        s.max_event_time = std::max(s.max_event_time, max_event_time_ms);
    }
    std::int64_t own = batch_watermark_ms;
    if (own == no_watermark && s.max_event_time != no_watermark) {
        // Guard the subtraction: an event time near INT64_MIN must not wrap around.
        own = s.max_event_time < no_watermark + max_out_of_orderness_
                      ? no_watermark
                      : s.max_event_time - max_out_of_orderness_;
    }
    s.watermark = std::max(s.watermark, own);

    std::int64_t combined = no_watermark;
    bool any_active = false;
    bool all_known = true;
    for (const auto& [id, other] : streams_) {
        if (is_idle(other, now_ms)) {
            continue;
        }
        if (other.watermark == no_watermark) {
            all_known = false;
            break;
        }
        combined = any_active ? std::min(combined, other.watermark) : other.watermark;
        any_active = true;
    }
    if (any_active && all_known) {
        current_ = std::max(current_, combined);
    }
    return current_;
}

std::size_t watermark_tracker::idle_streams(std::int64_t now_ms) const noexcept {
    return static_cast<std::size_t>(
            std::count_if(streams_.begin(), streams_.end(), [&](const auto& item) {
                return is_idle(item.second, now_ms);
            }));
}

}  // namespace sluice
