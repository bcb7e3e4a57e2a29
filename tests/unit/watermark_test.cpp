#include <sluice/ops/watermark.hpp>
#include <sluice/sluice.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

using namespace sluice;

namespace {

schema_ptr timed_schema() {
    return make_schema(
            {{"timestamp", data_type::timestamp_ms, true}, {"partition", data_type::int64, false}});
}

batch rows(std::vector<std::pair<std::int64_t, std::int64_t>> time_partition,
           std::uint32_t stream = 0) {
    auto t = std::make_shared<column>(data_type::timestamp_ms);
    auto p = std::make_shared<column>(data_type::int64);
    for (const auto& [time, partition] : time_partition) {
        time < 0 ? t->push_null() : t->push_int64(time);
        p->push_int64(partition);
    }
    batch b(timed_schema(), {t, p});
    b.set_watermark_ms(999'999'999);  // the source's own clock, to be replaced
    b.set_origin({stream, 0, 0});
    return b;
}

std::unique_ptr<watermark_transform> bound(watermark_config config) {
    auto op = std::make_unique<watermark_transform>(std::move(config));
    diagnostics_collector out;
    bind_context ctx("watermark", "timed", {}, &out);
    REQUIRE(op->bind(timed_schema(), ctx));
    return op;
}

}  // namespace

// Before anything is complete, batches carry the earliest watermark (no_watermark + 1), not
// none: a window would derive its own from the records' event times.
TEST_CASE("watermark trails the newest event time and never goes back", "[watermark]") {
    auto op = bound({"timestamp", std::chrono::seconds(10), ""});
    operator_context ctx("watermark", "timed", nullptr, nullptr, nullptr);
    CHECK(op->process(rows({}), ctx).watermark_ms() == no_watermark + 1);
    const auto in = rows({{50'000, 0}, {-1, 0}, {30'000, 0}});
    const auto out = op->process(in, ctx);
    CHECK(out.watermark_ms() == 40'000);
    CHECK(out.event_time_column() == 0);
    CHECK(out.shared_column(0) == in.shared_column(0));  // passed through, not copied
    CHECK(op->process(rows({{20'000, 0}}), ctx).watermark_ms() ==
          40'000);  // late record: no step back
    CHECK(op->process(rows({{65'000, 0}}), ctx).watermark_ms() == 55'000);
    CHECK(op->process(rows({}), ctx).watermark_ms() == 55'000);
    // Another stream has its own watermark.
    CHECK(op->process(rows({{1'000, 0}}, 7), ctx).watermark_ms() == -9'000);
}

TEST_CASE("watermark per partition follows the slowest partition", "[watermark]") {
    auto op = bound({"timestamp", std::chrono::seconds(1), "partition"});
    operator_context ctx("watermark", "timed", nullptr, nullptr, nullptr);
    CHECK(op->process(rows({{100'000, 0}, {10'000, 1}}), ctx).watermark_ms() == 9'000);
    CHECK(op->process(rows({{200'000, 0}}), ctx).watermark_ms() == 9'000);
    CHECK(op->process(rows({{150'000, 1}}), ctx).watermark_ms() == 149'000);
    CHECK(op->process(rows({{160'000, 2}}), ctx).watermark_ms() ==
          149'000);  // a new partition, ahead
}

TEST_CASE("watermark waits for every expected partition unless it stays idle", "[watermark]") {
    std::int64_t clock = 0;
    watermark_config config{
            "timestamp", std::chrono::seconds(1), "partition", 3, std::chrono::seconds(30)};
    config.clock = [&clock] {
        return clock;
    };
    auto op = bound(config);
    operator_context ctx("watermark", "timed", nullptr, nullptr, nullptr);
    // A backlog: partition 0 is read far ahead of 1 and 2, which have delivered nothing yet.
    CHECK(op->process(rows({{100'000, 0}, {140'000, 0}}), ctx).watermark_ms() == no_watermark + 1);
    clock = 10'000;
    CHECK(op->process(rows({{20'000, 1}}), ctx).watermark_ms() == no_watermark + 1);
    CHECK(op->process(rows({{30'000, 2}}), ctx).watermark_ms() == 19'000);
    // Partition 1 goes quiet: after 30 s of wall time it no longer holds the others back.
    clock = 39'000;
    CHECK(op->process(rows({{150'000, 0}, {40'000, 2}}), ctx).watermark_ms() == 19'000);
    clock = 40'000;
    CHECK(op->process(rows({{45'000, 2}}), ctx).watermark_ms() == 44'000);
    // Every partition idle: the largest counts.
    clock = 100'000;
    CHECK(op->process(rows({}), ctx).watermark_ms() == 149'000);
}

TEST_CASE("watermark reports unknown and mistyped columns", "[watermark]") {
    watermark_transform op({"partition_id", std::chrono::seconds(0), "timestamp"});
    diagnostics_collector out;
    bind_context ctx(
            "watermark",
            "timed",
            [](std::string_view key) {
                return source_location{std::string(key), 1, 1};
            },
            &out);
    CHECK(op.bind(timed_schema(), ctx) == nullptr);
    REQUIRE(out.items().size() == 2);
    CHECK(out.items()[0].where.file == "column");
    CHECK(out.items()[0].message ==
          "watermark 'timed': column: unknown column 'partition_id' (the input has {timestamp: "
          "timestamp_ms, "
          "partition: int64})");
    CHECK(out.items()[1].message ==
          "watermark 'timed': partition_column column 'timestamp' must be int64, found "
          "timestamp_ms");
}
