// What the kafka source tells the metrics, against the real broker (scripts/services start
// kafka), with pipelines run in this process through the public API so that
// pipeline::metrics() can be read: end-to-end latency measured from the message timestamps
// `sluice generate` sets, the kafka sink's timing of its deliveries, and the consumer lag.
#include "kafka_test_support.hpp"

#include <sluice/sluice.hpp>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>

using namespace sluice;
using namespace sluice::kafka_test;

namespace {

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
}

/// Runs a loaded pipeline on its own thread while the test watches its metrics.
class running_pipeline {
public:
    explicit running_pipeline(const std::string& yaml) {
        register_builtin_operators();
        pipeline_ = load_pipeline_from_string(yaml, "kafka-metrics-test.yaml");
        runner_ = std::thread([this] {
            try {
                pipeline_->run();
            } catch (...) {
                failure_ = std::current_exception();
            }
            finished_.store(true);
        });
    }
    ~running_pipeline() { stop(); }
    running_pipeline(const running_pipeline&) = delete;
    running_pipeline& operator=(const running_pipeline&) = delete;

    /// Metrics in declaration order: sources, transforms, sinks.
    std::vector<const operator_metrics*> metrics() const { return pipeline_->metrics(); }

    /// Waits until `done()` holds, the run ended or `timeout` passed; returns `done()`.
    bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done() && !finished_.load() && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(20ms);
        }
        return done();
    }

    /// Stops the run (drain, flush, commit) and rethrows its failure, if any.
    void stop() {
        if (runner_.joinable()) {
            pipeline_->stop();
            runner_.join();
        }
        if (failure_) {
            std::rethrow_exception(std::exchange(failure_, nullptr));
        }
    }

private:
    std::unique_ptr<pipeline> pipeline_;
    std::thread runner_;
    std::atomic<bool> finished_{false};
    std::exception_ptr failure_;
};

/// A gate the `gated` test sink waits at: closed, every consume() blocks (a sink that has
/// stopped accepting), so the runtime holds the source back once its batches in flight are
/// used up; opened, records flow.
struct sink_gate {
    std::mutex mutex;
    std::condition_variable opened_cv;
    bool opened = false;

    void set(bool open) {
        {
            std::lock_guard lock(mutex);
            opened = open;
        }
        opened_cv.notify_all();
    }
    /// Waits (at most 120 s, so a broken test cannot hang) until the gate is open.
    void pass() {
        std::unique_lock lock(mutex);
        opened_cv.wait_for(lock, 120s, [this] { return opened; });
    }
};

sink_gate& gate() {
    static sink_gate g;
    return g;
}

class gated_sink final : public sink {
public:
    void bind(const schema_ptr&, bind_context&) override {}
    void consume(const batch&, operator_context&) override { gate().pass(); }
};

void register_gated_sink() {
    static std::once_flag once;
    std::call_once(once, [] {
        operator_registry::global().add_sink(
                "gated",
                "test sink: accepts records only once the test opens its gate",
                [](option_spec&) {},
                [](const options&, build_context&) -> std::unique_ptr<sink> {
                    return std::make_unique<gated_sink>();
                });
    });
}

/// The value of `name` in `metrics.extra`, or nullopt if it was never published.
std::optional<std::int64_t> published(const operator_metrics& metrics, std::string_view name) {
    for (const auto& sample : metrics.extra.snapshot()) {
        if (sample.name == name) {
            return sample.value;
        }
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("the kafka source reports its consumer lag while held back and zero once caught up",
          "[kafka][lag]") {
    require_broker();
    constexpr std::uint64_t total = 30'000;
    constexpr int partitions = 3;
    const auto topic = unique_name("sluice-lag");
    create_topic(topic, partitions);
    produce_readings(topic, total);

    // Before its first record is handed out a partition's lag is counted from where it starts:
    // the low watermark (earliest), or the group's committed offset, of which a new group has
    // none, so auto.offset.reset (earliest) applies.
    const std::string start = GENERATE(as<std::string>{}, "earliest", "committed");
    INFO("start: " << start);
    register_gated_sink();
    gate().set(false);
    // Small batches and few of them in flight: with the sink's gate closed the source hands
    // out 4 x 100 records and then waits, far behind the end of the topic.
    running_pipeline run(fmt::format(R"(name: kafka-lag-test
runtime: {{max_batches_in_flight: 4}}
sources:
  in:
    type: kafka
    brokers: '{}'
    group_id: '{}'
    topics: ['{}']
    start: {}
    batch: {{max_records: 100, max_latency: 50ms}}
sinks:
  out: {{type: gated, inputs: [in]}}
)",
                                     brokers(),
                                     unique_name("sluice-lag-group"),
                                     topic,
                                     start));
    const auto metrics = run.metrics();
    const operator_metrics& source = *metrics.front();
    const operator_metrics& sink = *metrics.back();

    // Held back: the lag is reported (by the reporter thread: poll() is not running) and large.
    const bool behind =
            run.wait_until([&] { return published(source, "consumer_lag").value_or(0) > 0; }, 60s);
    // Two more reports, so that they come from the source at rest: its last batch handed out.
    std::this_thread::sleep_for(2500ms);
    const auto held_lag = published(source, "consumer_lag");
    const auto held_max = published(source, "consumer_lag_max");
    const auto handed_out = source.records_out.load();
    gate().set(true);
    REQUIRE(behind);
    REQUIRE(held_lag);
    REQUIRE(held_max);
    // Every record not handed out, over all partitions (librdkafka fetched all three at once).
    CHECK(*held_lag == static_cast<std::int64_t>(total - handed_out));
    CHECK(*held_max > 0);
    CHECK(*held_max <= *held_lag);
    CHECK(handed_out < total);

    // Open: everything arrives, and the lag comes down to 0 (within a few report intervals).
    const bool all = run.wait_until([&] { return sink.records_out.load() >= total; }, 120s);
    const bool caught_up = run.wait_until(
            [&] {
                return published(source, "consumer_lag") == 0 &&
                       published(source, "consumer_lag_max") == 0;
            },
            30s);
    run.stop();
    CHECK(all);
    CHECK(sink.records_out.load() == total);
    CHECK(caught_up);
}

TEST_CASE("a kafka -> json_decode -> file pipeline records the end-to-end latency of every record",
          "[kafka][latency]") {
    require_broker();
    constexpr std::uint64_t total = 20'000;
    constexpr int partitions = 3;
    const auto dir = scratch("latency");
    const auto topic = unique_name("sluice-latency");

    // `sluice generate` is what users feed pipelines with: its message timestamps must be the
    // wall clock at the time of sending (CreateTime), which the latency is measured from.
    const auto produced_from = wall_ms();
    {
        sluice_process generate({"generate",
                                 "--kafka",
                                 brokers(),
                                 "--topic",
                                 topic,
                                 "--partitions",
                                 std::to_string(partitions),
                                 "--count",
                                 std::to_string(total),
                                 "--quiet"},
                                (dir / "generate.log").string());
        const auto code = generate.wait(120s);
        INFO(generate.log());
        REQUIRE(code == 0);
    }
    const auto produced_until = wall_ms();
    const auto messages = read_topic(topic, partitions, total);
    REQUIRE(messages.size() == total);
    std::size_t create_time = 0;
    std::size_t in_window = 0;
    for (const auto& m : messages) {
        create_time += m.timestamp_type == RD_KAFKA_TIMESTAMP_CREATE_TIME ? 1 : 0;
        in_window += m.timestamp_ms >= produced_from && m.timestamp_ms <= produced_until ? 1 : 0;
    }
    CHECK(create_time == total);
    CHECK(in_window == total);

    // Every record is at least this old when the pipeline reads it: a latency measured from
    // the time the source read it (rather than the message timestamp) would be smaller.
    constexpr auto minimum_age = 1500ms;
    std::this_thread::sleep_until(
            std::chrono::system_clock::time_point(std::chrono::milliseconds(produced_until)) +
            minimum_age);

    const auto output = dir / "out.ndjson";
    running_pipeline run(pipeline_yaml(topic, unique_name("sluice-latency-group"), output, 1000));
    const auto sink = run.metrics().back();
    const bool all = run.wait_until([&] { return sink->records_out.load() >= total; }, 120s);
    run.stop();
    const auto consumed_until = wall_ms();
    REQUIRE(all);
    CHECK(count_lines(output) == total);

    REQUIRE(sink->records_out.load() == total);
    CHECK(sink->event_latency.count() == total);
    // quantile() is the upper bound of a histogram bucket (at most 2^(1/4) above the value).
    const auto minimum_ns =
            static_cast<std::uint64_t>(std::chrono::nanoseconds(minimum_age).count());
    const auto maximum_ns =
            static_cast<std::uint64_t>((consumed_until - produced_from) * 1'000'000);
    CHECK(sink->event_latency.quantile(0.0) >= minimum_ns);
    CHECK(sink->event_latency.quantile(1.0) <= maximum_ns + maximum_ns / 5);
    remove_scratch(dir);
}

TEST_CASE("the kafka sink times each record once, when the broker acknowledged it",
          "[kafka][delivery]") {
    require_broker();
    constexpr std::uint64_t total = 5'000;
    const auto topic = unique_name("sluice-sink-latency");
    create_topic(topic, 2);
    register_builtin_operators();
    auto p = load_pipeline_from_string(fmt::format(R"(name: kafka-sink-latency
sources:
  fleet: {{type: generator, count: {total}, sensors: 50, seed: 9, batch: {{max_records: 500}}}}
sinks:
  out: {{type: kafka, inputs: [fleet], brokers: '{brokers}', topic: '{topic}', key_column: key,
         format: raw, value_column: value}}
)",
                                                   fmt::arg("total", total),
                                                   fmt::arg("brokers", brokers()),
                                                   fmt::arg("topic", topic)),
                                       "kafka-sink-latency.yaml");
    const auto summary = p->run();
    REQUIRE(summary.records_read == total);
    const auto* sink = p->metrics().back();
    REQUIRE(sink->id == "out");
    CHECK(sink->records_out.load() == total);
    // From the delivery reports, and not also when consume() returned (that would be 2x).
    CHECK(sink->event_latency.count() == total);
    CHECK(read_topic(topic, 2, total).size() == total);
}
