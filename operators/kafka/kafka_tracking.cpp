#include <sluice/core/batch.hpp>
#include <sluice/ops/kafka.hpp>

#include <algorithm>
#include <limits>

namespace sluice {

// ---------------------------------------------------------------------------------------------
// kafka_offset_tracker
// ---------------------------------------------------------------------------------------------

void kafka_offset_tracker::issue(std::int64_t first, std::int64_t last) {
    ranges_.push_back({first, std::max(first, last), state::pending});
    ++in_flight_;
}

kafka_offset_tracker::range* kafka_offset_tracker::find(std::int64_t first, std::int64_t last) {
    // At most max_batches_in_flight ranges are kept per partition: a linear scan is cheapest.
    for (auto& r : ranges_) {
        if (r.first == first && r.last == last && r.status == state::pending) {
            return &r;
        }
    }
    return nullptr;
}

bool kafka_offset_tracker::acknowledge(std::int64_t first, std::int64_t last) {
    range* r = find(first, last);
    if (r == nullptr) {
        return false;
    }
    r->status = state::accepted;
    --in_flight_;
    while (!ranges_.empty() && ranges_.front().status == state::accepted) {
        committed_ = ranges_.front().last + 1;
        moved_ = true;
        ranges_.pop_front();
    }
    return true;
}

bool kafka_offset_tracker::fail(std::int64_t first, std::int64_t last) {
    range* r = find(first, last);
    if (r == nullptr) {
        return false;
    }
    r->status = state::failed;
    --in_flight_;
    // The failed batch stays at its place in the queue for good: the accepted run in front of
    // it is still committed, nothing behind it ever is.
    blocked_ = true;
    return true;
}

std::optional<std::int64_t> kafka_offset_tracker::take_commit() {
    if (!moved_) {
        return std::nullopt;
    }
    moved_ = false;
    return committed_;
}

// ---------------------------------------------------------------------------------------------
// kafka_watermarks
// ---------------------------------------------------------------------------------------------

kafka_watermarks::kafka_watermarks(std::chrono::milliseconds max_out_of_orderness,
                                   std::chrono::nanoseconds idle_timeout)
    : max_out_of_orderness_ms_(max_out_of_orderness.count())
    , idle_timeout_(idle_timeout)
    , emitted_(no_watermark) {}

void kafka_watermarks::assign(std::int32_t id, clock::time_point now) {
    for (auto& [pid, state] : partitions_) {
        if (pid == id) {
            state.last_seen = now;
            return;
        }
    }
    partitions_.emplace_back(id, partition_state{no_watermark, now});
}

void kafka_watermarks::revoke(std::int32_t id) {
    std::erase_if(partitions_, [id](const auto& p) { return p.first == id; });
}

void kafka_watermarks::observe(std::int32_t id, std::int64_t timestamp_ms, clock::time_point now) {
    for (auto& [pid, state] : partitions_) {
        if (pid == id) {
            state.max_timestamp = std::max(state.max_timestamp, timestamp_ms);
            state.last_seen = now;
            return;
        }
    }
    partitions_.emplace_back(id, partition_state{timestamp_ms, now});
}

std::int64_t kafka_watermarks::current(clock::time_point now) {
    std::int64_t active_min = std::numeric_limits<std::int64_t>::max();
    std::int64_t overall_max = no_watermark;
    bool any_active = false;
    for (const auto& [pid, state] : partitions_) {
        overall_max = std::max(overall_max, state.max_timestamp);
        const bool idle = idle_timeout_.count() > 0 && now - state.last_seen >= idle_timeout_;
        if (!idle) {
            any_active = true;
            active_min = std::min(active_min, state.max_timestamp);
        }
    }
    std::int64_t max_time = any_active ? active_min : overall_max;
    if (max_time != no_watermark) {
        const std::int64_t candidate = max_time - max_out_of_orderness_ms_;
        emitted_ = std::max(emitted_, candidate);
    }
    return emitted_;
}

// ---------------------------------------------------------------------------------------------
// kafka_lag
// ---------------------------------------------------------------------------------------------

void kafka_lag::add(std::int64_t high_watermark, std::int64_t next_offset) noexcept {
    if (high_watermark < 0 || next_offset < 0) {
        return;
    }
    const std::int64_t behind = std::max<std::int64_t>(0, high_watermark - next_offset);
    total += behind;
    max = std::max(max, behind);
    ++partitions;
}

// ---------------------------------------------------------------------------------------------
// creation times
// ---------------------------------------------------------------------------------------------

column_ptr kafka_creation_times(std::span<const std::int64_t> timestamps_ms) {
    auto created = std::make_shared<column>(data_type::int64);
    created->resize(timestamps_ms.size());
    std::transform(timestamps_ms.begin(),
                   timestamps_ms.end(),
                   created->mutable_int64().begin(),
                   [](std::int64_t ms) { return ms * 1'000'000; });
    return created;
}

}  // namespace sluice
