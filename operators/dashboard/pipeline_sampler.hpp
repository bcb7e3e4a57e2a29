#pragma once

// Once a second the server reads every operator's counters into a sample kept in a bounded
// ring, so the Pipeline page shows the last minutes as soon as it opens and every browser
// sees the same numbers. Latency percentiles are over the interval since the previous sample
// (bucket-count differences), not since the start.

#include <sluice/core/metrics.hpp>
#include <sluice/graph/pipeline.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace sluice::dashboard_detail {

struct quantiles {
    std::uint64_t p50 = 0, p99 = 0, p999 = 0;  ///< ns
    std::uint64_t count = 0;                   ///< values in the interval
};

struct operator_sample {
    std::uint64_t records_in = 0, records_out = 0, rejected = 0, batches_in = 0;  ///< cumulative
    quantiles batch_latency;                                                      ///< interval
    quantiles event_latency;  ///< interval (sinks)
    std::vector<metric_set::sample> extra;
};

struct pipeline_sample {
    std::int64_t wall_ms = 0;
    std::vector<operator_sample> operators;  ///< in pipeline::metrics() order
    quantiles event_latency;                 ///< all sinks, interval
    quantiles event_latency_total;           ///< all sinks, since the start
};

/// Thread-safe: `take` from the sampler thread, reads from any thread.
class pipeline_sampler {
public:
    pipeline_sampler(const pipeline& p, std::size_t keep);

    /// Reads the counters now; the sample is kept (the oldest dropped past `keep`).
    void take(std::int64_t now_ms);
    /// Samples taken after `after_ms`, oldest first.
    std::vector<pipeline_sample> since(std::int64_t after_ms) const;

    /// [{"id","type","role"},...]
    void append_operators_json(std::string& out) const;
    static void append_sample_json(std::string& out, const pipeline_sample& s);

private:
    using counts = std::array<std::uint64_t, latency_histogram::bucket_count>;

    const pipeline& pipeline_;
    std::size_t keep_;
    mutable std::mutex mutex_;
    std::deque<pipeline_sample> samples_;
    std::vector<counts> last_batch_;  // per operator, at the previous sample
    std::vector<counts> last_event_;
    counts last_all_events_{};
};

}  // namespace sluice::dashboard_detail
