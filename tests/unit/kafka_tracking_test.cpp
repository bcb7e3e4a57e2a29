// Pure logic of the kafka operators (no broker): the contiguous-offset commit tracker, the
// per-partition watermark and the option checks, including librdkafka's own property errors.
#include <sluice/ops/kafka.hpp>
#include <sluice/sluice.hpp>

#include <catch2/catch.hpp>

#include <chrono>

using namespace sluice;
using namespace std::chrono_literals;

TEST_CASE("the commit position follows acknowledged batches in hand-out order", "[kafka]") {
    kafka_offset_tracker t;
    t.issue(0, 9);
    t.issue(10, 19);
    t.issue(20, 29);
    CHECK(t.in_flight() == 3);
    CHECK_FALSE(t.take_commit());

    // A later batch acknowledged first must not let the earlier one be skipped.
    REQUIRE(t.acknowledge(10, 19));
    CHECK_FALSE(t.take_commit());
    CHECK_FALSE(t.commit_position());

    REQUIRE(t.acknowledge(0, 9));
    CHECK(t.take_commit() == 20);
    CHECK_FALSE(t.take_commit());  // reported once

    REQUIRE(t.acknowledge(20, 29));
    CHECK(t.take_commit() == 30);
    CHECK(t.in_flight() == 0);
}

TEST_CASE("offset gaps between batches do not hold the commit back", "[kafka]") {
    // Compaction and transaction markers leave holes: contiguity is by batch, not by offset.
    kafka_offset_tracker t;
    t.issue(100, 150);
    t.issue(175, 180);
    REQUIRE(t.acknowledge(175, 180));
    REQUIRE(t.acknowledge(100, 150));
    CHECK(t.take_commit() == 181);
}

TEST_CASE("an acknowledgement that matches no in-flight batch changes nothing", "[kafka]") {
    kafka_offset_tracker t;
    t.issue(0, 9);
    CHECK_FALSE(t.acknowledge(0, 8));
    CHECK_FALSE(t.acknowledge(10, 19));
    REQUIRE(t.acknowledge(0, 9));
    CHECK_FALSE(t.acknowledge(0, 9));  // twice: the second finds nothing pending
    CHECK(t.take_commit() == 10);
}

TEST_CASE("a failed batch stops the commit position before it for good", "[kafka]") {
    kafka_offset_tracker t;
    t.issue(0, 9);
    t.issue(10, 19);
    t.issue(20, 29);
    REQUIRE(t.acknowledge(0, 9));
    REQUIRE(t.fail(10, 19));
    REQUIRE(t.acknowledge(20, 29));
    CHECK(t.blocked());
    CHECK(t.take_commit() == 10);
    CHECK(t.commit_position() == 10);
    CHECK(t.in_flight() == 0);
}

TEST_CASE("a replayed range after a rewind commits the rewound position", "[kafka]") {
    kafka_offset_tracker t;
    t.issue(50, 59);
    REQUIRE(t.acknowledge(50, 59));
    CHECK(t.take_commit() == 60);
    t.issue(40, 49);  // e.g. an offset reset moved the fetch position back
    REQUIRE(t.acknowledge(40, 49));
    CHECK(t.take_commit() == 50);
}

TEST_CASE("the watermark is the minimum over active partitions minus the allowed lateness",
          "[kafka]") {
    using clock = kafka_watermarks::clock;
    const auto t0 = clock::time_point{} + 1h;
    kafka_watermarks w(5ms, 10s);
    w.assign(0, t0);
    w.assign(1, t0);
    CHECK(w.current(t0) == no_watermark);  // partition 1 has no data yet and is not idle
    w.observe(0, 1000, t0);
    CHECK(w.current(t0) == no_watermark);
    w.observe(1, 800, t0);
    CHECK(w.current(t0) == 795);
    w.observe(0, 2000, t0 + 1s);
    CHECK(w.current(t0 + 1s) == 795);

    // Partition 1 goes silent: after the idle timeout it no longer holds the watermark back.
    CHECK(w.current(t0 + 10s) == 1995);

    // The watermark never goes back, even when the slow partition speaks again.
    w.observe(1, 900, t0 + 12s);
    CHECK(w.current(t0 + 12s) == 1995);
}

TEST_CASE("with every partition idle the watermark reaches the largest time seen", "[kafka]") {
    using clock = kafka_watermarks::clock;
    const auto t0 = clock::time_point{} + 1h;
    kafka_watermarks w(0ms, 2s);
    w.assign(3, t0);
    w.assign(4, t0);
    w.observe(3, 5000, t0);
    w.observe(4, 7000, t0);
    CHECK(w.current(t0) == 5000);
    CHECK(w.current(t0 + 3s) == 7000);
    w.revoke(4);
    w.observe(3, 6000, t0 + 4s);
    CHECK(w.current(t0 + 4s) == 7000);  // monotonic
}

TEST_CASE("without an idle timeout a silent partition holds the watermark", "[kafka]") {
    using clock = kafka_watermarks::clock;
    const auto t0 = clock::time_point{} + 1h;
    kafka_watermarks w(0ms, 0s);
    w.assign(0, t0);
    w.assign(1, t0);
    w.observe(0, 5000, t0);
    CHECK(w.current(t0 + 1h) == no_watermark);
}

TEST_CASE("a kafka record's creation time is its message timestamp in nanoseconds", "[kafka]") {
    const std::vector<std::int64_t> timestamps_ms{1'764'150'000'123, 0, 1'764'150'000'124};
    const auto created = kafka_creation_times(timestamps_ms);
    REQUIRE(created->type() == data_type::int64);
    REQUIRE(created->size() == 3);
    CHECK(created->null_count() == 0);
    const auto ns = created->int64_values();
    CHECK(ns[0] == 1'764'150'000'123'000'000);
    CHECK(ns[1] == 0);
    CHECK(ns[2] == 1'764'150'000'124'000'000);

    // It is lineage the batch carries beside its columns, one value per row.
    auto values = std::make_shared<column>(data_type::timestamp_ms);
    for (const auto t : timestamps_ms) {
        values->push_int64(t);
    }
    batch b(make_schema({{"timestamp", data_type::timestamp_ms, false}}), {values});
    b.set_created_ns(created);
    REQUIRE(b.created_ns() != nullptr);
    CHECK(b.created_ns()->int64_values()[2] == ns[2]);
    CHECK(kafka_creation_times({})->size() == 0);
}

TEST_CASE("consumer lag sums the partitions whose watermark and position are known", "[kafka]") {
    kafka_lag lag;
    CHECK(lag.total == 0);
    lag.add(1000, 400);  // 600 behind
    lag.add(50, 50);     // caught up
    lag.add(700, 690);   // 10 behind
    CHECK(lag.total == 610);
    CHECK(lag.max == 600);
    CHECK(lag.partitions == 3);

    // Unknown values (librdkafka's -1001 before a fetch answered, no record read yet) leave
    // the partition out rather than counting it as caught up or as wholly behind.
    lag.add(-1001, 10);
    lag.add(500, -1001);
    CHECK(lag.partitions == 3);
    CHECK(lag.total == 610);

    // A watermark cached from a fetch older than the last record read is not negative lag.
    lag.add(100, 120);
    CHECK(lag.total == 610);
    CHECK(lag.max == 600);
    CHECK(lag.partitions == 4);
}

namespace {

const operator_descriptor& kafka_descriptor(operator_role role) {
    register_builtin_operators();
    const auto* d = operator_registry::global().find(role, "kafka");
    REQUIRE(d != nullptr);
    return *d;
}

std::string config_errors(operator_role role,
                          const std::vector<std::pair<std::string, std::string>>& values) {
    const auto& d = kafka_descriptor(role);
    try {
        const options opts = options::from_values(d.spec, "kafka", "k", values);
        build_context build;
        if (role == operator_role::source) {
            (void)d.make_source(opts, build);
        } else {
            (void)d.make_sink(opts, build);
        }
    } catch (const config_error& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST_CASE("the kafka source needs topics or a topic regex, not both", "[kafka]") {
    CHECK_THAT(config_errors(operator_role::source, {{"group_id", "g"}}),
               Catch::Contains("requires 'topics' (a list of topic names) or 'topic_regex'"));
    CHECK_THAT(config_errors(operator_role::source,
                             {{"group_id", "g"}, {"topics", "[a]"}, {"topic_regex", "a.*"}}),
               Catch::Contains("give either 'topics' or 'topic_regex', not both"));
    CHECK_THAT(config_errors(operator_role::source, {{"group_id", "g"}, {"topic_regex", "a(("}}),
               Catch::Contains("'topic_regex' 'a((' is not a valid regular expression"));
    CHECK(config_errors(operator_role::source, {{"group_id", "g"}, {"topics", "[a, b]"}}).empty());
}

TEST_CASE("a rejected property never shows a value that may be a secret", "[kafka]") {
    // A misspelled name: the value is most likely the secret meant for the right one.
    const auto misspelled = config_errors(
            operator_role::source,
            {{"group_id", "g"}, {"topics", "[a]"}, {"librdkafka", "{sasl.pasword: hunter2}"}});
    CHECK_THAT(misspelled, Catch::Contains("librdkafka rejected 'sasl.pasword' (value not shown)"));
    CHECK_THAT(misspelled, !Catch::Contains("hunter2"));
    // A known property of a secret-bearing kind that librdkafka rejects: no value either.
    const auto quoted =
            config_errors(operator_role::sink,
                          {{"topic", "t"}, {"librdkafka", "{sasl.oauthbearer.method: hunter2}"}});
    CHECK_THAT(quoted,
               Catch::Contains("librdkafka rejected 'sasl.oauthbearer.method' (value not shown)"));
    CHECK_THAT(quoted, !Catch::Contains("hunter2"));
}

TEST_CASE("librdkafka's own text explains a rejected property", "[kafka]") {
    const auto errors =
            config_errors(operator_role::source,
                          {{"group_id", "g"},
                           {"topics", "[a]"},
                           {"librdkafka", "{fetch.wait.max.ms: soon, no.such.thing: 1}"}});
    CHECK_THAT(errors,
               Catch::Contains("librdkafka rejected 'fetch.wait.max.ms: soon': Invalid value for "
                               "configuration property \"fetch.wait.max.ms\""));
    CHECK_THAT(errors,
               Catch::Contains("librdkafka rejected 'no.such.thing' (value not shown): No such "
                               "configuration property: \"no.such.thing\""));
    CHECK_THAT(config_errors(operator_role::source,
                             {{"group_id", "g"},
                              {"topics", "[a]"},
                              {"librdkafka", "{enable.auto.commit: true}"}}),
               Catch::Contains("'enable.auto.commit' cannot be set here"));
    CHECK(config_errors(operator_role::source,
                        {{"group_id", "g"},
                         {"topics", "[a]"},
                         {"librdkafka", "{fetch.wait.max.ms: 100}"}})
                  .empty());
}

TEST_CASE("the kafka sink checks its topic and value options", "[kafka]") {
    CHECK_THAT(config_errors(operator_role::sink, {}),
               Catch::Contains("requires 'topic' (or 'topic_column')"));
    CHECK_THAT(config_errors(operator_role::sink, {{"topic", "t"}, {"topic_column", "c"}}),
               Catch::Contains("give either 'topic' or 'topic_column', not both"));
    CHECK_THAT(config_errors(operator_role::sink, {{"topic", "t"}, {"format", "raw"}}),
               Catch::Contains("format 'raw' requires 'value_column'"));
    CHECK_THAT(config_errors(operator_role::sink, {{"topic", "t"}, {"value_column", "v"}}),
               Catch::Contains("'value_column' is only used with format 'raw'"));
    CHECK_THAT(config_errors(operator_role::sink, {{"topic", "t"}, {"librdkafka", "{acks: 1}"}}),
               Catch::Contains("'acks' cannot be set here"));
    CHECK(config_errors(operator_role::sink, {{"topic", "t"}, {"key_column", "k"}}).empty());
}

TEST_CASE("the kafka sink reports unknown or mistyped columns at bind time", "[kafka]") {
    const auto& d = kafka_descriptor(operator_role::sink);
    const options opts = options::from_values(
            d.spec, "kafka", "k", {{"topic", "t"}, {"key_column", "n"}, {"format", "json"}});
    build_context build;
    auto sink = d.make_sink(opts, build);
    diagnostics_collector out;
    bind_context ctx(
            "kafka", "k", [](std::string_view) { return source_location{}; }, &out);
    sink->bind(make_schema({{"n", data_type::int64, false}}), ctx);
    REQUIRE(ctx.failed());
    REQUIRE(out.items().size() == 1);
    CHECK_THAT(out.items()[0].message,
               Catch::Contains("'key_column' column 'n' must be a string, got int64"));
}
