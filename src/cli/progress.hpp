#pragma once

#include <sluice/graph/pipeline.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

namespace sluice::cli {

/// Formats the once-a-second progress line and the end-of-run summary from the pipeline's
/// counters. Rates are over the last interval, not the whole run.
class progress_reporter {
public:
    explicit progress_reporter(const pipeline& p);

    /// "[   3s] read 1.23M (412k/s) | written 1.20M (400k/s) | rejected 12 | in flight 3 |
    /// lag 5.2k | e2e p50 4.1ms p99 12ms": lag is what Kafka sources have yet to read (absent
    /// without such a source); the latency percentiles are over the records the sinks delivered
    /// during the last interval (absent when no record carries a creation time).
    std::string line();
    /// A table: one row per operator with records in/out, rejected and batch latency.
    std::string summary(const run_summary& totals) const;

private:
    const pipeline& pipeline_;
    std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point last_time_;
    std::uint64_t last_read_ = 0;
    std::uint64_t last_written_ = 0;
    std::array<std::uint64_t, latency_histogram::bucket_count> last_latency_counts_{};
};

/// Bucket counts of every sink's end-to-end latency histogram, added up.
std::array<std::uint64_t, latency_histogram::bucket_count> sink_latency_counts(const pipeline& p);

/// 1234567 -> "1.23M"
std::string human_count(double value);

}  // namespace sluice::cli
