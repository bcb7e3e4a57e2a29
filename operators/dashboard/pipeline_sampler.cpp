#include "pipeline_sampler.hpp"

#include <sluice/core/row_json.hpp>

#include <fmt/format.h>

namespace sluice::dashboard_detail {
namespace {

using counts = std::array<std::uint64_t, latency_histogram::bucket_count>;

counts read_counts(const latency_histogram& h) {
    counts out{};
    for (int b = 0; b < latency_histogram::bucket_count; ++b) {
        out[static_cast<std::size_t>(b)] = h.count_in_bucket(b);
    }
    return out;
}

quantiles quantiles_of(const counts& c) {
    quantiles q;
    for (const auto n : c) {
        q.count += n;
    }
    if (q.count != 0) {
        q.p50 = latency_histogram::quantile_of(c, 0.5);
        q.p99 = latency_histogram::quantile_of(c, 0.99);
        q.p999 = latency_histogram::quantile_of(c, 0.999);
    }
    return q;
}

/// The counts since `last`, which then becomes `now`.
counts advance(counts& last, const counts& now) {
    counts diff{};
    for (std::size_t b = 0; b < now.size(); ++b) {
        diff[b] = now[b] >= last[b] ? now[b] - last[b] : 0;
    }
    last = now;
    return diff;
}

void append_quantiles(std::string& out, const quantiles& q) {
    fmt::format_to(std::back_inserter(out), "[{},{},{},{}]", q.p50, q.p99, q.p999, q.count);
}

}  // namespace

pipeline_sampler::pipeline_sampler(const pipeline& p, std::size_t keep)
    : pipeline_(p)
    , keep_(keep) {}

void pipeline_sampler::take(std::int64_t now_ms) {
    const auto metrics = pipeline_.metrics();
    pipeline_sample s;
    s.wall_ms = now_ms;
    const std::lock_guard lock(mutex_);
    last_batch_.resize(metrics.size());
    last_event_.resize(metrics.size());
    counts all_events{};
    for (std::size_t i = 0; i < metrics.size(); ++i) {
        const auto* m = metrics[i];
        operator_sample o;
        o.records_in = m->records_in.load();
        o.records_out = m->records_out.load();
        o.rejected = m->rejected.load();
        o.batches_in = m->batches_in.load();
        o.batch_latency = quantiles_of(advance(last_batch_[i], read_counts(m->batch_latency)));
        if (m->role == "sink") {
            const auto events = read_counts(m->event_latency);
            for (std::size_t b = 0; b < events.size(); ++b) {
                all_events[b] += events[b];
            }
            o.event_latency = quantiles_of(advance(last_event_[i], events));
        }
        o.extra = m->extra.snapshot();
        s.operators.push_back(std::move(o));
    }
    s.event_latency_total = quantiles_of(all_events);
    s.event_latency = quantiles_of(advance(last_all_events_, all_events));
    samples_.push_back(std::move(s));
    while (samples_.size() > keep_) {
        samples_.pop_front();
    }
}

std::vector<pipeline_sample> pipeline_sampler::since(std::int64_t after_ms) const {
    const std::lock_guard lock(mutex_);
    std::vector<pipeline_sample> out;
    for (const auto& s : samples_) {
        if (s.wall_ms > after_ms) {
            out.push_back(s);
        }
    }
    return out;
}

void pipeline_sampler::append_operators_json(std::string& out) const {
    out += '[';
    bool first = true;
    for (const auto* m : pipeline_.metrics()) {
        out += first ? "{\"id\":" : ",{\"id\":";
        first = false;
        append_json_string(out, m->id);
        out += ",\"type\":";
        append_json_string(out, m->type);
        out += ",\"role\":";
        append_json_string(out, m->role);
        out += '}';
    }
    out += ']';
}

// {"t":ms,"ops":[[in,out,rejected,batches,[batch p50,p99,p99.9,n],[e2e ...],{extra}],...],
//  "e2e":[p50,p99,p99.9,n] (interval), "e2e_total":[...] (since the start)}; latencies in ns.
void pipeline_sampler::append_sample_json(std::string& out, const pipeline_sample& s) {
    fmt::format_to(std::back_inserter(out), R"({{"t":{},"ops":[)", s.wall_ms);
    for (std::size_t i = 0; i < s.operators.size(); ++i) {
        const auto& o = s.operators[i];
        fmt::format_to(std::back_inserter(out),
                       "{}[{},{},{},{},",
                       i == 0 ? "" : ",",
                       o.records_in,
                       o.records_out,
                       o.rejected,
                       o.batches_in);
        append_quantiles(out, o.batch_latency);
        out += ',';
        append_quantiles(out, o.event_latency);
        out += ",{";
        for (std::size_t e = 0; e < o.extra.size(); ++e) {
            if (e != 0) {
                out += ',';
            }
            append_json_string(out, o.extra[e].name);
            fmt::format_to(std::back_inserter(out), ":{}", o.extra[e].value);
        }
        out += "}]";
    }
    out += "],\"e2e\":";
    append_quantiles(out, s.event_latency);
    out += ",\"e2e_total\":";
    append_quantiles(out, s.event_latency_total);
    out += '}';
}

}  // namespace sluice::dashboard_detail
