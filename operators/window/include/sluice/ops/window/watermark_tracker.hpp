#pragma once

#include <sluice/core/batch.hpp>

#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace sluice {

/// The event-time watermark of an operator with several input streams (sources, or a
/// source's partitions as separate streams): the minimum over the streams' own watermarks,
/// leaving out streams that have been silent for longer than `idle_timeout` in processing
/// time, so one idle partition does not stall every window.
///
/// A stream's own watermark is the one its batches carry (sources compute it from their
/// partitions); when a stream's batches carry none (`no_watermark`), it is derived from the
/// data: max event time seen − `max_out_of_orderness`. Both the per-stream and the combined
/// watermark never go back. Until every active stream has a watermark, the combined one stays
/// where it was.
///
/// Not thread-safe (one per serial operator).
class watermark_tracker {
public:
    /// `idle_timeout_ms` <= 0: streams never count as idle.
    watermark_tracker(std::int64_t max_out_of_orderness_ms, std::int64_t idle_timeout_ms);

    /// Records one batch of `stream` seen at processing time `now_ms`: the watermark it carries
    /// (or `no_watermark`) and the largest event time in it (or `no_watermark` if it has no
    /// rows). Returns the combined watermark afterwards.
    std::int64_t observe(std::uint32_t stream,
                         std::int64_t batch_watermark_ms,
                         std::int64_t max_event_time_ms,
                         std::int64_t now_ms);

    /// The combined watermark (`no_watermark` before there is one).
    std::int64_t current() const noexcept { return current_; }
    /// Streams seen so far.
    std::size_t streams() const noexcept { return streams_.size(); }
    /// Streams silent for longer than the idle timeout at `now_ms`.
    std::size_t idle_streams(std::int64_t now_ms) const noexcept;

private:
    struct stream_state {
        std::int64_t watermark = no_watermark;  // own watermark, monotonic
        std::int64_t max_event_time = no_watermark;
        std::int64_t last_seen_ms = 0;
    };
    bool is_idle(const stream_state& s, std::int64_t now_ms) const noexcept {
        return idle_timeout_ > 0 && now_ms - s.last_seen_ms > idle_timeout_;
    }

    std::int64_t max_out_of_orderness_;
    std::int64_t idle_timeout_;
    std::int64_t current_ = no_watermark;
    std::unordered_map<std::uint32_t, stream_state> streams_;
};

}  // namespace sluice
