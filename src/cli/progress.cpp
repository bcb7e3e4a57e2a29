#include "progress.hpp"

#include <fmt/format.h>

namespace sluice::cli {

std::string human_count(double value) {
    if (value >= 1e9) {
        return fmt::format("{:.2f}G", value / 1e9);
    }
    if (value >= 1e6) {
        return fmt::format("{:.2f}M", value / 1e6);
    }
    if (value >= 1e4) {
        return fmt::format("{:.1f}k", value / 1e3);
    }
    return fmt::format("{:.0f}", value);
}

namespace {

std::string human_duration_ns(std::uint64_t ns) {
    if (ns >= 1'000'000'000) {
        return fmt::format("{:.2f}s", static_cast<double>(ns) / 1e9);
    }
    if (ns >= 1'000'000) {
        return fmt::format("{:.1f}ms", static_cast<double>(ns) / 1e6);
    }
    if (ns >= 1'000) {
        return fmt::format("{:.0f}us", static_cast<double>(ns) / 1e3);
    }
    return fmt::format("{}ns", ns);
}

}  // namespace

progress_reporter::progress_reporter(const pipeline& p)
    : pipeline_(p)
    , started_(std::chrono::steady_clock::now())
    , last_time_(started_) {}

std::string progress_reporter::line() {
    std::uint64_t read = 0;
    std::uint64_t written = 0;
    std::uint64_t rejected = 0;
    for (const auto* m : pipeline_.metrics()) {
        rejected += m->rejected.load();
        if (m->role == "source") {
            read += m->records_out.load();
        } else if (m->role == "sink") {
            written += m->records_out.load();
        }
    }
    std::size_t in_flight = 0;
    for (std::size_t i = 0;; ++i) {
        bool is_source = false;
        std::size_t seen = 0;
        for (const auto* m : pipeline_.metrics()) {
            if (m->role == "source" && seen++ == i) {
                is_source = true;
            }
        }
        if (!is_source) {
            break;
        }
        in_flight += pipeline_.batches_in_flight(i);
    }
    const auto now = std::chrono::steady_clock::now();
    const double interval = std::chrono::duration<double>(now - last_time_).count();
    const double since_start = std::chrono::duration<double>(now - started_).count();
    const double read_rate = interval > 0 ? static_cast<double>(read - last_read_) / interval : 0;
    const double write_rate = interval > 0 ? static_cast<double>(written - last_written_) / interval : 0;
    last_time_ = now;
    last_read_ = read;
    last_written_ = written;
    return fmt::format("[{:>5.0f}s] read {} ({}/s) | written {} ({}/s) | rejected {} | in flight {}", since_start,
                       human_count(static_cast<double>(read)), human_count(read_rate),
                       human_count(static_cast<double>(written)), human_count(write_rate), rejected, in_flight);
}

std::string progress_reporter::summary(const run_summary& totals) const {
    std::string out;
    const double seconds = std::chrono::duration<double>(totals.elapsed).count();
    fmt::format_to(std::back_inserter(out),
                   "pipeline '{}' {} in {:.2f}s: read {} records ({}/s), written {}, rejected {}\n",
                   pipeline_.name(), totals.stopped_by_request ? "stopped" : "finished", seconds, totals.records_read,
                   human_count(seconds > 0 ? static_cast<double>(totals.records_read) / seconds : 0),
                   totals.records_written, totals.records_rejected);
    fmt::format_to(std::back_inserter(out), "  {:<20} {:<14} {:>12} {:>12} {:>9} {:>10} {:>10}\n", "operator", "type",
                   "records in", "records out", "rejected", "p50/batch", "p99/batch");
    for (const auto* m : pipeline_.metrics()) {
        const bool is_source = m->role == "source";
        fmt::format_to(std::back_inserter(out), "  {:<20} {:<14} {:>12} {:>12} {:>9} {:>10} {:>10}\n", m->id, m->type,
                       is_source ? std::string("-") : fmt::format("{}", m->records_in.load()), m->records_out.load(),
                       m->rejected.load(), human_duration_ns(m->batch_latency.quantile(0.5)),
                       human_duration_ns(m->batch_latency.quantile(0.99)));
    }
    return out;
}

}  // namespace sluice::cli
