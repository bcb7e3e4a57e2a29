#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace sluice {

/// A lock-free histogram of durations in nanoseconds with logarithmic buckets (4 per power
/// of two, so a percentile read from it is within 19 % of the true value). Thread-safe.
class latency_histogram {
public:
    static constexpr int buckets_per_octave = 4;
    static constexpr int bucket_count = 64 * buckets_per_octave;

    void record(std::uint64_t nanoseconds) noexcept;
    std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
    /// The q-quantile (0 <= q <= 1) in nanoseconds: the upper bound of the bucket holding it;
    /// 0 if nothing was recorded.
    std::uint64_t quantile(double q) const noexcept;

private:
    std::array<std::atomic<std::uint64_t>, bucket_count> buckets_{};
    std::atomic<std::uint64_t> count_{0};
};

/// Counters of one operator instance, read by the progress line, the summary and /metrics.
/// Thread-safe (relaxed atomics: exact totals once the pipeline is drained).
struct operator_metrics {
    std::string id;    ///< operator id from the pipeline
    std::string type;  ///< operator type, e.g. "json_decode"
    std::string role;  ///< "source", "transform" or "sink"
    std::atomic<std::uint64_t> batches_in{0};
    std::atomic<std::uint64_t> records_in{0};
    std::atomic<std::uint64_t> records_out{0};
    std::atomic<std::uint64_t> bytes_in{0};
    std::atomic<std::uint64_t> rejected{0};  ///< records sent to the dead-letter sink
    latency_histogram batch_latency;          ///< time spent in the operator per batch
};

}  // namespace sluice
