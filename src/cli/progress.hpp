#pragma once

#include <sluice/graph/pipeline.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace sluice::cli {

/// Formats the once-a-second progress line and the end-of-run summary from the pipeline's
/// counters. Rates are over the last interval, not the whole run.
class progress_reporter {
public:
    explicit progress_reporter(const pipeline& p);

    /// "[   3s] read 1.23M (412k/s) | written 1.20M (400k/s) | rejected 12 | in flight 3"
    std::string line();
    /// A table: one row per operator with records in/out, rejected and batch latency.
    std::string summary(const run_summary& totals) const;

private:
    const pipeline& pipeline_;
    std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point last_time_;
    std::uint64_t last_read_ = 0;
    std::uint64_t last_written_ = 0;
};

/// 1234567 -> "1.23M"
std::string human_count(double value);

}  // namespace sluice::cli
