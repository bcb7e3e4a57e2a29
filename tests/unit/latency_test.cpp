// End-to-end latency: records carry their creation time as batch lineage, and each sink's
// records are timed from creation until the sink is done with them: when consume() returns,
// or, for a sink whose writes a broker or node acknowledges later, when the sink says so.
#include <sluice/sluice.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <limits>
#include <thread>

using namespace sluice;

namespace {

std::int64_t wall_clock_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
}

column_ptr int64_column(std::initializer_list<std::int64_t> values) {
    auto c = std::make_shared<column>(data_type::int64);
    for (const auto v : values) {
        c->push_int64(v);
    }
    return c;
}

batch numbered_batch(std::initializer_list<std::int64_t> values) {
    return batch(make_schema({field{"n", data_type::int64}}), {int64_column(values)});
}

/// A sink whose writes complete later, like the Kafka and Elasticsearch sinks: it keeps each
/// batch's creation times and delivers them all in finish().
class deferred_delivery_sink final : public sink {
public:
    explicit deferred_delivery_sink(std::uint64_t* timed_before_delivery)
        : timed_before_delivery_(timed_before_delivery) {}

    operator_traits traits() const override { return {concurrency::serial, true, true}; }
    void bind(const schema_ptr& input, bind_context& ctx) override {
        (void)input;
        (void)ctx;
    }
    void consume(const batch& input, operator_context& ctx) override {
        (void)ctx;
        held_.push_back(input.created_ns());
    }
    void finish(operator_context& ctx) override {
        *timed_before_delivery_ = ctx.metrics().event_latency.count();
        for (const auto& created : held_) {
            ctx.record_delivered(created);
        }
    }

private:
    std::uint64_t* timed_before_delivery_;
    std::vector<column_ptr> held_;
};

}  // namespace

TEST_CASE("a latency histogram fed a whole batch at once agrees with one fed record by record",
          "[latency]") {
    latency_histogram one_by_one;
    latency_histogram batched;
    std::vector<std::int64_t> created;
    const std::int64_t now = 10'000'000'000;
    for (std::int64_t i = 0; i < 5000; ++i) {
        created.push_back(now - i * i * 37);  // 0 ns .. ~0.9 s ago
        one_by_one.record(static_cast<std::uint64_t>(i * i * 37));
    }
    created.push_back(now + 5'000);  // from a clock ahead of ours: counts as 0
    one_by_one.record(0);
    batched.record_since(created, now);
    REQUIRE(batched.count() == one_by_one.count());
    CHECK(batched.sum_ns() == one_by_one.sum_ns());
    CHECK(batched.sum_ns() > 0);
    for (int b = 0; b < latency_histogram::bucket_count; ++b) {
        REQUIRE(batched.count_in_bucket(b) == one_by_one.count_in_bucket(b));
    }
    for (const double q : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0}) {
        CHECK(batched.quantile(q) == one_by_one.quantile(q));
    }
}

TEST_CASE("a latency histogram's buckets are contiguous and at most 1/16 of their value wide",
          "[latency]") {
    // Each bucket's upper bound lands in that bucket and the next value in the next one, so
    // the buckets tile every value with no gap or overlap.
    for (int b = 0; b + 1 < latency_histogram::bucket_count; ++b) {
        const auto upper = latency_histogram::bucket_upper_bound(b);
        latency_histogram at_bound;
        at_bound.record(upper);
        latency_histogram past_bound;
        past_bound.record(upper + 1);
        REQUIRE(at_bound.count_in_bucket(b) == 1);
        REQUIRE(past_bound.count_in_bucket(b + 1) == 1);
    }
    CHECK(latency_histogram::bucket_upper_bound(latency_histogram::bucket_count - 1) ==
          std::numeric_limits<std::uint64_t>::max());
    // A percentile is its bucket's upper bound: never below the value, at most 6.25 % above.
    std::uint64_t value = 1;
    for (int i = 0; i < 2000; ++i) {
        latency_histogram h;
        h.record(value);
        const auto reported = h.quantile(1.0);
        REQUIRE(reported >= value);
        REQUIRE(static_cast<double>(reported) <= static_cast<double>(value) * 1.0625);
        value = value + value / 97 + 1;  // about 2 % apart: every bucket up to ~2^57 ns
    }
}

TEST_CASE("percentiles of an interval come from the difference of two snapshots", "[latency]") {
    latency_histogram h;
    for (int i = 0; i < 1000; ++i) {
        h.record(1'000);  // the first interval: all about 1 us
    }
    std::array<std::uint64_t, latency_histogram::bucket_count> before{};
    for (int b = 0; b < latency_histogram::bucket_count; ++b) {
        before[static_cast<std::size_t>(b)] = h.count_in_bucket(b);
    }
    for (int i = 0; i < 10; ++i) {
        h.record(50'000'000);  // the second: all about 50 ms
    }
    std::array<std::uint64_t, latency_histogram::bucket_count> interval{};
    for (int b = 0; b < latency_histogram::bucket_count; ++b) {
        interval[static_cast<std::size_t>(b)] =
                h.count_in_bucket(b) - before[static_cast<std::size_t>(b)];
    }
    const auto p50 = latency_histogram::quantile_of(interval, 0.5);
    CHECK(p50 >= 50'000'000);
    CHECK(p50 < 50'000'000 * 1.2);
    CHECK(h.quantile(0.5) < 2'000);  // the whole run is still dominated by the first interval
    const std::array<std::uint64_t, latency_histogram::bucket_count> nothing{};
    CHECK(latency_histogram::quantile_of(nothing, 0.5) == 0);
}

TEST_CASE("an operator's named counters add up and its gauges keep the last value",
          "[latency][metrics]") {
    metric_set set;
    CHECK(set.value("bulk_retries") == 0);
    set.add("bulk_retries", 2);
    set.add("bulk_retries", 3);
    set.set("consumer_lag", 100);
    set.set("consumer_lag", 7);
    const auto all = set.snapshot();
    REQUIRE(all.size() == 2);
    CHECK(all[0].name == "bulk_retries");
    CHECK(all[0].kind == metric_set::kind::counter);
    CHECK(all[0].value == 5);
    CHECK(all[1].name == "consumer_lag");
    CHECK(all[1].kind == metric_set::kind::gauge);
    CHECK(all[1].value == 7);
}

TEST_CASE("creation times follow the rows a batch keeps", "[latency][core]") {
    auto source = numbered_batch({10, 11, 12, 13});
    source.set_created_ns(int64_column({100, 101, 102, 103}));

    SECTION("a filter keeps the creation times of the rows it keeps") {
        const std::vector<std::uint8_t> keep{0, 1, 0, 1};
        const auto kept = source.filter_rows(keep);
        REQUIRE(kept.created_ns() != nullptr);
        REQUIRE(kept.created_ns()->size() == 2);
        CHECK(kept.created_ns()->int64_values()[0] == 101);
        CHECK(kept.created_ns()->int64_values()[1] == 103);
    }
    SECTION("a new column keeps them as they are") {
        const auto wider =
                source.with_column(field{"m", data_type::int64}, int64_column({1, 2, 3, 4}));
        CHECK(wider.created_ns() == source.created_ns());
    }
    SECTION("an output with other rows (an aggregate) has none") {
        auto aggregate = numbered_batch({46});
        aggregate.inherit_lineage(source);
        CHECK(aggregate.created_ns() == nullptr);
    }
    SECTION("an output built from selected rows gets theirs") {
        auto decoded = numbered_batch({10, 13});
        const std::vector<std::uint8_t> accepted{1, 0, 0, 1};
        decoded.inherit_lineage(source, accepted);
        REQUIRE(decoded.created_ns() != nullptr);
        CHECK(decoded.created_ns()->int64_values()[1] == 103);
    }
}

TEST_CASE("sinks measure every record from its creation until they accepted it",
          "[latency][pipeline]") {
    // A paced generator: each record is created when it is due, so the wait for its batch
    // to fill (up to max_latency) is part of the latency the sinks see.
    const std::string yaml = R"(
name: latency
sources:
  fleet: {type: generator, sensors: 20, rate: 20000, count: 6000, seed: 3, emit: json,
          batch: {max_records: 4096, max_latency: 40ms}}
transforms:
  parsed:
    type: json_decode
    inputs: [fleet]
    schema: {sensor_id: string, temperature: float64, timestamp: timestamp_ms}
  hot: {type: filter, inputs: [parsed], condition: "temperature > 22"}
sinks:
  all: {type: blackhole, inputs: [parsed]}
  some: {type: blackhole, inputs: [hot]}
)";
    register_builtin_operators();
    const auto started = wall_clock_ns();
    auto p = load_pipeline_from_string(yaml, "latency.yaml");
    const auto summary = p->run();
    const auto took = static_cast<std::uint64_t>(wall_clock_ns() - started);
    REQUIRE(summary.records_read == 6000);
    std::uint64_t hot = 0;
    for (const auto* m : p->metrics()) {
        if (m->role == "sink") {
            INFO(m->id);
            // Every accepted record was measured, the filtered sink only for its own rows.
            CHECK(m->event_latency.count() == m->records_in.load());
            CHECK(m->event_latency.quantile(1.0) <= took * 1.2);
            if (m->id == "some") {
                hot = m->records_in.load();
            }
        } else {
            CHECK(m->event_latency.count() == 0);
        }
    }
    CHECK(hot > 0);
    CHECK(hot < 6000);
}

TEST_CASE("a sink that times its own deliveries is timed by it, not when consume() returns",
          "[latency][pipeline]") {
    const std::string yaml = R"(
name: deferred
sources:
  fleet: {type: generator, sensors: 20, count: 3000, seed: 5, emit: json,
          batch: {max_records: 500}}
transforms:
  parsed:
    type: json_decode
    inputs: [fleet]
    schema: {sensor_id: string, temperature: float64}
sinks:
  now: {type: blackhole, inputs: [parsed]}
)";
    register_builtin_operators();
    auto p = load_pipeline_from_string(yaml, "deferred.yaml");
    std::uint64_t timed_before_delivery = 12345;
    p->add_sink(node_declaration{"later", "deferred", {"parsed"}, {}},
                std::make_unique<deferred_delivery_sink>(&timed_before_delivery));
    const auto summary = p->run();
    REQUIRE(summary.records_read == 3000);
    CHECK(timed_before_delivery == 0);  // the runtime left this sink's records alone
    for (const auto* m : p->metrics()) {
        if (m->role == "sink") {
            INFO(m->id);
            CHECK(m->records_in.load() == 3000);
            CHECK(m->event_latency.count() == 3000);  // ...and the sink timed each one once
        }
    }
}
