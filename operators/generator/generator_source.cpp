#include <sluice/core/duration.hpp>
#include <sluice/core/row_json.hpp>
#include <sluice/operator/batching.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/generator.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <thread>

namespace sluice {

namespace {

using steady = std::chrono::steady_clock;

enum class emit_mode {
    json,
    columns
};

/// Options of the `generator` source.
struct generator_config {
    simulator_config simulation;  ///< the fleet and its faults
    double rate = 0;              ///< records per second of wall time; 0 = as fast as possible
    std::uint64_t count = 0;      ///< stop after this many records; 0 = no limit
    std::chrono::nanoseconds duration{0};  ///< stop after this much wall time; 0 = no limit
    emit_mode emit = emit_mode::json;      ///< JSON messages (key, value) or typed columns
    batching_config batching;              ///< batch cut at max_records or max_latency
};

/// Parses `start_time`: "now", an integer of ms since the epoch, or an ISO-8601 timestamp.
std::optional<std::int64_t> parse_start_time(std::string_view text) {
    if (text == "now") {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                .count();
    }
    std::int64_t ms = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec == std::errc{} && end == text.data() + text.size()) {
        return ms;
    }
    return parse_iso8601_ms(text);
}

std::int64_t to_ms(std::chrono::nanoseconds value) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(value).count();
}

void describe_generator(option_spec& spec) {
    spec.field("sensors", option_kind::integer)
            .defaults("100")
            .at_least(1)
            .at_most(1'000'000)
            .describe(
                    "number of simulated sensors, spread over buildings (25 sensors each) and 5 "
                    "floors");
    spec.field("rate", option_kind::number)
            .defaults("0")
            .at_least(0)
            .at_most(1e9)
            .describe("records per second of wall-clock time; 0 = as fast as possible");
    spec.field("count", option_kind::integer)
            .defaults("0")
            .at_least(0)
            .describe("total records to produce, then finish; 0 = no limit");
    spec.field("duration", option_kind::duration)
            .defaults("0")
            .describe("wall-clock time to run, then finish; 0 = no limit");
    spec.field("seed", option_kind::integer)
            .defaults("42")
            .at_least(0)
            .describe("random seed: the same seed and options give the same records");
    spec.field("start_time", option_kind::string)
            .defaults("2026-01-01T00:00:00Z")
            .describe("event time of the first reading: ISO-8601, ms since the epoch, or \"now\"");
    spec.field("interval", option_kind::duration)
            .defaults("1s")
            .at_least(1e6)
            .describe("event-time spacing of one sensor's readings (whole milliseconds)");
    spec.field("anomaly_rate", option_kind::number)
            .defaults("0.01")
            .at_least(0)
            .at_most(1)
            .describe("fraction of readings that are spikes (is_anomaly = true)");
    spec.field("out_of_order", option_kind::number)
            .defaults("0")
            .at_least(0)
            .at_most(1)
            .describe("fraction of readings delivered late, by up to max_delay of event time");
    spec.field("max_delay", option_kind::duration)
            .defaults("0")
            .describe("largest event-time delay of a late reading; the watermark trails by it");
    spec.field("emit", option_kind::string)
            .defaults("json")
            .one_of({"json", "columns"})
            .describe(
                    "json: columns key (sensor id) and value (JSON text), like Kafka messages; "
                    "columns: typed columns");
    describe_batching(spec);
    spec.check([](const options& opts, diagnostics_collector& out) {
        if (!parse_start_time(opts.get_string("start_time"))) {
            out.add(opts.error("start_time",
                               "invalid-value",
                               fmt::format("'start_time' must be an ISO-8601 timestamp, ms since "
                                           "the epoch or \"now\", got '{}'",
                                           opts.get_string("start_time"))));
        }
        if (opts.get_number("out_of_order") > 0 && opts.get_duration("max_delay").count() <= 0) {
            out.add(opts.error("max_delay",
                               "cross-field",
                               fmt::format("'out_of_order' ({}) needs a positive 'max_delay' "
                                           "(the bound on how late a reading arrives)",
                                           opts.get_number("out_of_order"))));
        }
        const auto max_delay = opts.get_duration("max_delay");
        if (max_delay.count() > 0 && max_delay < std::chrono::milliseconds(1)) {
            out.add(opts.error("max_delay",
                               "invalid-value",
                               fmt::format("'max_delay' must be at least 1ms, got {}",
                                           format_duration(max_delay))));
        }
    });
}

generator_config read_generator_config(const options& opts) {
    generator_config config;
    simulator_config& sim = config.simulation;
    sim.sensors = static_cast<std::size_t>(opts.get_int("sensors"));
    sim.seed = static_cast<std::uint64_t>(opts.get_int("seed"));
    sim.start_time_ms =
            parse_start_time(opts.get_string("start_time")).value_or(simulator_default_start_ms);
    sim.interval_ms = std::max<std::int64_t>(1, to_ms(opts.get_duration("interval")));
    sim.anomaly_rate = opts.get_number("anomaly_rate");
    sim.out_of_order = opts.get_number("out_of_order");
    sim.max_delay_ms = to_ms(opts.get_duration("max_delay"));
    config.rate = opts.get_number("rate");
    config.count = static_cast<std::uint64_t>(opts.get_int("count"));
    config.duration = opts.get_duration("duration");
    config.emit = opts.get_string("emit") == "columns" ? emit_mode::columns : emit_mode::json;
    config.batching = read_batching(opts);
    return config;
}

/// The `generator` source: a sensor_simulator cut into batches, optionally paced by the wall
/// clock. Positions are sequence numbers (partition 0). Polled from one thread at a time.
class generator_source final : public source {
public:
    explicit generator_source(generator_config config)
        : config_(config)
        , simulator_(config.simulation) {}

    schema_ptr output_schema() const override {
        return config_.emit == emit_mode::columns ? sensor_simulator::columns_schema()
                                                  : sensor_simulator::json_schema();
    }

    poll_status poll(source_batch& out, operator_context& ctx) override {
        if (ctx.stop_requested()) {
            return poll_status::finished;
        }
        const std::uint64_t produced = simulator_.produced();
        if (config_.count != 0 && produced >= config_.count) {
            return poll_status::finished;
        }
        const steady::time_point now = steady::now();
        if (!started_) {
            // The clock starts at the first poll, not at build time, so a slow pipeline start
            // does not turn into a burst.
            started_ = true;
            start_ = now;
        }
        const bool timed = config_.duration.count() > 0;
        const steady::time_point end = start_ + config_.duration;
        if (timed && now >= end) {
            return poll_status::finished;
        }
        std::size_t n = std::max<std::size_t>(1, config_.batching.max_records);
        if (config_.count != 0) {
            n = static_cast<std::size_t>(std::min<std::uint64_t>(n, config_.count - produced));
        }
        if (config_.rate > 0) {
            n = paced_count(n, now, timed, end);
            if (n == 0) {
                return timed && steady::now() >= end ? poll_status::finished : poll_status::idle;
            }
        }

        batch data = config_.emit == emit_mode::columns ? simulator_.next_columns(n)
                                                        : simulator_.next_json(n);
        const std::int64_t max_time = simulator_.max_event_time_ms();
        data.set_watermark_ms(max_time == no_watermark
                                      ? no_watermark
                                      : max_time - config_.simulation.max_delay_ms);
        data.set_created_ns(creation_times(produced, n));
        out.data = std::move(data);
        out.positions.assign(1,
                             source_position{0,
                                             static_cast<std::int64_t>(produced),
                                             static_cast<std::int64_t>(produced + n - 1)});
        return poll_status::produced;
    }

private:
    /// Wall-clock creation time of records first..first+n-1 (ns since the epoch). With a rate,
    /// a record is created when it is due, as a real sensor would send it, so the time it waits
    /// for its batch to fill counts in the end-to-end latency; as fast as possible, it is now.
    column_ptr creation_times(std::uint64_t first, std::size_t n) const {
        auto created = std::make_shared<column>(data_type::int64);
        created->resize(n);
        auto& values = created->mutable_int64();
        const auto steady_now = steady::now();
        const std::int64_t wall_now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count();
        for (std::size_t i = 0; i < n; ++i) {
            const auto due =
                    config_.rate > 0 ? std::min(due_at(first + i), steady_now) : steady_now;
            values[i] =
                    wall_now -
                    std::chrono::duration_cast<std::chrono::nanoseconds>(steady_now - due).count();
        }
        return created;
    }

    steady::time_point due_at(std::uint64_t record) const {
        // Capped at ~30 years so a tiny rate cannot overflow the clock arithmetic.
        const double ns = std::min(static_cast<double>(record) * 1e9 / config_.rate, 1e18);
        return start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
    }

    /// How many of the next `wanted` records to emit now under `rate`, after sleeping (never
    /// longer than max_latency) until a batch is full, its oldest record has waited
    /// max_latency, or the poll's own time is up. 0 = nothing is due yet.
    std::size_t paced_count(std::size_t wanted,
                            steady::time_point now,
                            bool timed,
                            steady::time_point end) const {
        const std::uint64_t first = simulator_.produced();
        const auto max_latency = config_.batching.max_latency;
        steady::time_point poll_deadline = now + max_latency;
        if (timed) {
            poll_deadline = std::min(poll_deadline, end);
        }
        const steady::time_point first_due = due_at(first);
        if (first_due > poll_deadline) {
            std::this_thread::sleep_until(poll_deadline);
            return 0;
        }
        const steady::time_point cut =
                std::min({poll_deadline, first_due + max_latency, due_at(first + wanted - 1)});
        if (cut > now) {
            std::this_thread::sleep_until(cut);
        }
        const double elapsed = std::chrono::duration<double>(steady::now() - start_).count();
        // Record k is due at k / rate seconds, so floor(elapsed * rate) + 1 records are due.
        const auto due_total = static_cast<std::uint64_t>(std::floor(elapsed * config_.rate)) + 1;
        if (due_total <= first) {
            return 0;
        }
        return static_cast<std::size_t>(std::min<std::uint64_t>(wanted, due_total - first));
    }

    generator_config config_;
    sensor_simulator simulator_;
    bool started_ = false;
    steady::time_point start_;
};

}  // namespace

void register_generator_operators(operator_registry& registry) {
    registry.add_source(
            "generator",
            "simulated sensor fleet: temperature, humidity, faults, anomalies, late arrivals",
            describe_generator,
            [](const options& opts, build_context&) -> std::unique_ptr<source> {
                return std::make_unique<generator_source>(read_generator_config(opts));
            });
}

}  // namespace sluice
