#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// A lock-free histogram of durations in nanoseconds with logarithmic buckets: 16 per power
/// of two, so a percentile read from it (a bucket's upper bound) is at most 6.25 % above the
/// true value. Values below 32 ns have a bucket each. Thread-safe.
class latency_histogram {
public:
    static constexpr int sub_bucket_bits = 4;
    static constexpr int buckets_per_octave = 1 << sub_bucket_bits;
    /// Buckets 0..2*buckets_per_octave-1 hold one value each; above that, every power of two
    /// up to 2^63 has buckets_per_octave buckets.
    static constexpr int bucket_count = (65 - sub_bucket_bits) * buckets_per_octave;

    void record(std::uint64_t nanoseconds) noexcept;
    /// Records `now_ns - t` for every t in `since_ns` (all in ns on one clock; a negative
    /// difference, from clock skew between machines, counts as 0). Counts locally first, so a
    /// whole batch costs one atomic add per bucket it touches, not one per record.
    void record_since(std::span<const std::int64_t> since_ns, std::int64_t now_ns) noexcept;
    std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
    /// The sum of every recorded value in ns (for a mean, and Prometheus' `_sum`).
    std::uint64_t sum_ns() const noexcept { return sum_ns_.load(std::memory_order_relaxed); }
    /// The q-quantile (0 <= q <= 1) in nanoseconds: the upper bound of the bucket holding it;
    /// 0 if nothing was recorded.
    std::uint64_t quantile(double q) const noexcept;

    /// For exporters (Prometheus): the number of values in bucket `bucket` and the largest
    /// value the bucket holds, in ns. Buckets are in increasing order.
    std::uint64_t count_in_bucket(int bucket) const noexcept {
        return buckets_[static_cast<std::size_t>(bucket)].load(std::memory_order_relaxed);
    }
    static std::uint64_t bucket_upper_bound(int bucket) noexcept;
    /// The q-quantile of bucket counts laid out like this histogram's (e.g. the difference
    /// of two snapshots, for the percentiles of one interval); 0 if the counts are all 0.
    static std::uint64_t quantile_of(std::span<const std::uint64_t> counts, double q) noexcept;

private:
    std::array<std::atomic<std::uint64_t>, bucket_count> buckets_{};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_ns_{0};
};

/// Named numbers an operator publishes beyond the common counters (Kafka consumer lag,
/// Elasticsearch bulk results, ...): counters only grow, gauges are set. Names are
/// snake_case and become part of the Prometheus metric name. Thread-safe (a mutex: meant to
/// be updated per batch, not per record).
class metric_set {
public:
    enum class kind {
        counter,
        gauge
    };
    struct sample {
        std::string name;
        metric_set::kind kind;
        std::int64_t value;
    };

    /// Adds `delta` to counter `name` (created at 0 on first use).
    void add(std::string_view name, std::int64_t delta);
    /// Sets gauge `name` to `value`.
    void set(std::string_view name, std::int64_t value);
    /// The current value of `name`, or 0 if it was never published.
    std::int64_t value(std::string_view name) const;
    /// Every published number, sorted by name.
    std::vector<sample> snapshot() const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::pair<kind, std::int64_t>, std::less<>> values_;
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
    latency_histogram batch_latency;         ///< time spent in the operator per batch
    /// Sinks: per record, from its creation (batch::created_ns) until this sink delivered it:
    /// wrote it, or, for a sink with operator_traits::times_delivery, had it acknowledged.
    latency_histogram event_latency;
    metric_set extra;  ///< operator-specific numbers (see metric_set)
};

}  // namespace sluice
