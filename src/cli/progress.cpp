#include "progress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

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

std::string latency_or_dash(const latency_histogram& h, double q) {
    return h.count() == 0 ? std::string("-") : human_duration_ns(h.quantile(q));
}

}  // namespace

std::array<std::uint64_t, latency_histogram::bucket_count> sink_latency_counts(const pipeline& p) {
    std::array<std::uint64_t, latency_histogram::bucket_count> counts{};
    for (const auto* m : p.metrics()) {
        if (m->role != "sink") {
            continue;
        }
        for (int b = 0; b < latency_histogram::bucket_count; ++b) {
            counts[static_cast<std::size_t>(b)] += m->event_latency.count_in_bucket(b);
        }
    }
    return counts;
}

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
    const double write_rate =
            interval > 0 ? static_cast<double>(written - last_written_) / interval : 0;
    last_time_ = now;
    last_read_ = read;
    last_written_ = written;
    auto text = fmt::format(
            "[{:>5.0f}s] read {} ({}/s) | written {} ({}/s) | rejected {} | in flight {}",
            since_start,
            human_count(static_cast<double>(read)),
            human_count(read_rate),
            human_count(static_cast<double>(written)),
            human_count(write_rate),
            rejected,
            in_flight);
    // Sources that know how far behind they are (Kafka: consumer_lag) publish it as a gauge.
    std::int64_t lag = 0;
    bool has_lag = false;
    for (const auto* m : pipeline_.metrics()) {
        for (const auto& sample : m->extra.snapshot()) {
            if (m->role == "source" && sample.name == "consumer_lag") {
                lag += sample.value;
                has_lag = true;
            }
        }
    }
    if (has_lag) {
        fmt::format_to(
                std::back_inserter(text), " | lag {}", human_count(static_cast<double>(lag)));
    }
    const auto counts = sink_latency_counts(pipeline_);
    std::array<std::uint64_t, latency_histogram::bucket_count> interval_counts{};
    for (std::size_t b = 0; b < counts.size(); ++b) {
        interval_counts[b] = counts[b] - last_latency_counts_[b];
    }
    last_latency_counts_ = counts;
    if (std::any_of(interval_counts.begin(), interval_counts.end(), [](std::uint64_t c) {
            return c != 0;
        })) {
        fmt::format_to(std::back_inserter(text),
                       " | e2e p50 {} p99 {}",
                       human_duration_ns(latency_histogram::quantile_of(interval_counts, 0.5)),
                       human_duration_ns(latency_histogram::quantile_of(interval_counts, 0.99)));
    }
    return text;
}

std::string progress_reporter::summary(const run_summary& totals) const {
    std::string out;
    const double seconds = std::chrono::duration<double>(totals.elapsed).count();
    fmt::format_to(
            std::back_inserter(out),
            "pipeline '{}' {} in {:.2f}s: read {} records ({}/s), written {}, rejected {}\n",
            pipeline_.name(),
            totals.stopped_by_request ? "stopped" : "finished",
            seconds,
            totals.records_read,
            human_count(seconds > 0 ? static_cast<double>(totals.records_read) / seconds : 0),
            totals.records_written,
            totals.records_rejected);
    const auto all_sinks = sink_latency_counts(pipeline_);
    if (std::any_of(all_sinks.begin(), all_sinks.end(), [](std::uint64_t c) { return c != 0; })) {
        fmt::format_to(
                std::back_inserter(out),
                "end-to-end latency (record created -> delivered): p50 {}, p99 {}, p99.9 {}\n",
                human_duration_ns(latency_histogram::quantile_of(all_sinks, 0.5)),
                human_duration_ns(latency_histogram::quantile_of(all_sinks, 0.99)),
                human_duration_ns(latency_histogram::quantile_of(all_sinks, 0.999)));
    }
    constexpr auto row = "  {:<20} {:<14} {:>12} {:>12} {:>9} {:>10} {:>10} {:>9} {:>9} {:>9}\n";
    fmt::format_to(std::back_inserter(out),
                   row,
                   "operator",
                   "type",
                   "records in",
                   "records out",
                   "rejected",
                   "p50/batch",
                   "p99/batch",
                   "e2e p50",
                   "e2e p99",
                   "e2e p99.9");
    for (const auto* m : pipeline_.metrics()) {
        const bool is_source = m->role == "source";
        fmt::format_to(std::back_inserter(out),
                       row,
                       m->id,
                       m->type,
                       is_source ? std::string("-") : fmt::format("{}", m->records_in.load()),
                       m->records_out.load(),
                       m->rejected.load(),
                       human_duration_ns(m->batch_latency.quantile(0.5)),
                       human_duration_ns(m->batch_latency.quantile(0.99)),
                       latency_or_dash(m->event_latency, 0.5),
                       latency_or_dash(m->event_latency, 0.99),
                       latency_or_dash(m->event_latency, 0.999));
    }
    return out;
}

}  // namespace sluice::cli
