#include <sluice/ops/dashboard.hpp>

#include <fmt/format.h>

#include <map>

namespace sluice {
namespace {

// Exported bucket bounds: the engine histogram's octave edges (2^k - 1 ns) from ~2 us to ~137 s.
// Each is the upper bound of one of its buckets, so the cumulative counts are exact.
constexpr int first_octave = 10;
constexpr int last_octave = 36;

std::string escape_label(std::string_view value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

/// Metric names allow [a-zA-Z0-9_:] and no leading digit; anything else becomes '_'.
std::string metric_name(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == ':';
        out += ok ? c : '_';
    }
    if (out.empty() || (out[0] >= '0' && out[0] <= '9')) {
        out.insert(out.begin(), '_');
    }
    return out;
}

struct family {
    std::string type;  // counter, gauge, histogram
    std::string help;
    std::string samples;
};

void append_histogram(family& f,
                      const std::string& name,
                      const std::string& labels,
                      const latency_histogram& h) {
    std::uint64_t cumulative = 0;
    int bucket = 0;
    for (int octave = first_octave; octave <= last_octave; ++octave) {
        const std::uint64_t bound = (std::uint64_t{1} << (octave + 1)) - 1;
        for (; bucket < latency_histogram::bucket_count &&
               latency_histogram::bucket_upper_bound(bucket) <= bound;
             ++bucket) {
            cumulative += h.count_in_bucket(bucket);
        }
        fmt::format_to(std::back_inserter(f.samples),
                       "{}_bucket{{{},le=\"{}\"}} {}\n",
                       name,
                       labels,
                       static_cast<double>(bound) / 1e9,
                       cumulative);
    }
    for (; bucket < latency_histogram::bucket_count; ++bucket) {
        cumulative += h.count_in_bucket(bucket);
    }
    // +Inf and _count from the same sum, so they agree even while records are being counted
    // (_sum is read separately and may run a record ahead).
    fmt::format_to(std::back_inserter(f.samples),
                   "{}_bucket{{{},le=\"+Inf\"}} {}\n{}_sum{{{}}} {}\n{}_count{{{}}} {}\n",
                   name,
                   labels,
                   cumulative,
                   name,
                   labels,
                   static_cast<double>(h.sum_ns()) / 1e9,
                   name,
                   labels,
                   cumulative);
}

}  // namespace

void append_prometheus_text(std::string& out,
                            std::string_view pipeline_name,
                            const std::vector<const operator_metrics*>& metrics) {
    // Families keep one TYPE line and contiguous samples however many operators report them.
    std::map<std::string, family> families;
    const auto counter = [&](const std::string& name,
                             const char* help,
                             const std::string& labels,
                             std::uint64_t v) {
        auto& f = families[name];
        f.type = "counter";
        f.help = help;
        fmt::format_to(std::back_inserter(f.samples), "{}{{{}}} {}\n", name, labels, v);
    };
    for (const auto* m : metrics) {
        const auto labels = fmt::format(R"(pipeline="{}",operator="{}",type="{}",role="{}")",
                                        escape_label(pipeline_name),
                                        escape_label(m->id),
                                        escape_label(m->type),
                                        escape_label(m->role));
        counter("sluice_records_in_total",
                "Records an operator received.",
                labels,
                m->records_in.load());
        counter("sluice_records_out_total",
                "Records an operator produced (sources) or accepted (sinks).",
                labels,
                m->records_out.load());
        counter("sluice_records_rejected_total",
                "Records an operator sent to the dead-letter sink.",
                labels,
                m->rejected.load());
        counter("sluice_batches_in_total",
                "Batches an operator received.",
                labels,
                m->batches_in.load());
        counter("sluice_bytes_in_total", "Bytes an operator received.", labels, m->bytes_in.load());
        auto& batch = families["sluice_batch_latency_seconds"];
        batch.type = "histogram";
        batch.help = "Time an operator spent on one batch.";
        append_histogram(batch, "sluice_batch_latency_seconds", labels, m->batch_latency);
        if (m->role == "sink") {
            auto& event = families["sluice_event_latency_seconds"];
            event.type = "histogram";
            event.help =
                    "End to end, per record: from its creation until this sink delivered it "
                    "(written, or acknowledged by the broker or node).";
            append_histogram(event, "sluice_event_latency_seconds", labels, m->event_latency);
        }
        for (const auto& sample : m->extra.snapshot()) {
            auto name = metric_name(fmt::format("sluice_{}_{}", m->type, sample.name));
            const bool is_counter = sample.kind == metric_set::kind::counter;
            if (is_counter && !name.ends_with("_total")) {
                name += "_total";
            }
            auto& f = families[name];
            f.type = is_counter ? "counter" : "gauge";
            f.help = fmt::format("'{}' published by {} operators.", sample.name, m->type);
            fmt::format_to(
                    std::back_inserter(f.samples), "{}{{{}}} {}\n", name, labels, sample.value);
        }
    }
    for (const auto& [name, f] : families) {
        fmt::format_to(std::back_inserter(out),
                       "# HELP {} {}\n# TYPE {} {}\n{}",
                       name,
                       f.help,
                       name,
                       f.type,
                       f.samples);
    }
}

}  // namespace sluice
