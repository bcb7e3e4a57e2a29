#include <sluice/sluice.hpp>

#include <catch2/catch.hpp>

using namespace sluice;

TEST_CASE("a column keeps values and missing values row by row", "[core]") {
    column c(data_type::float64);
    for (int i = 0; i < 130; ++i) {
        if (i % 7 == 3) {
            c.push_null();
        } else {
            c.push_float64(i * 0.5);
        }
    }
    REQUIRE(c.size() == 130);
    CHECK(c.null_count() == 19);
    for (std::size_t i = 0; i < 130; ++i) {
        CHECK(c.is_valid(i) == (i % 7 != 3));
        if (c.is_valid(i)) {
            CHECK(c.float64_values()[i] == static_cast<double>(i) * 0.5);
        }
    }
}

TEST_CASE("a string column filters rows and keeps missing ones missing", "[core]") {
    column c(data_type::string);
    c.push_string("alpha");
    c.push_null();
    c.push_string("");
    c.push_string("delta");
    const std::vector<std::uint8_t> keep{1, 1, 0, 1};
    const auto kept = c.filter(keep);
    REQUIRE(kept.size() == 3);
    CHECK(kept.string_at(0) == "alpha");
    CHECK_FALSE(kept.is_valid(1));
    CHECK(kept.string_at(2) == "delta");
}

TEST_CASE("a batch derived from another keeps its lineage and event-time column", "[core]") {
    auto s = make_schema({{"t", data_type::timestamp_ms}, {"v", data_type::float64}});
    auto t = std::make_shared<column>(data_type::timestamp_ms);
    auto v = std::make_shared<column>(data_type::float64);
    t->push_int64(1000);
    v->push_float64(1.5);
    batch b(s, {t, v});
    b.set_event_time_column(0);
    b.set_watermark_ms(900);
    b.set_origin({3, 7, 1});
    bool released = false;
    b.add_ack(std::make_shared<ack_token>(
            std::vector<source_position>{{0, 5, 9}},
            [&](const auto&, bool delivered) { released = delivered; }));
    auto extra = std::make_shared<column>(data_type::boolean);
    extra->push_bool(true);
    const auto wider = b.with_column({"flag", data_type::boolean}, extra);
    CHECK(wider.num_columns() == 3);
    CHECK(wider.event_time_column() == std::optional<std::size_t>(0));
    CHECK(wider.watermark_ms() == 900);
    CHECK(wider.origin().sequence == 7);
    CHECK(wider.source_positions() == std::vector<source_position>{{0, 5, 9}});
    b = batch();
    CHECK_FALSE(released);  // `wider` still holds the token
}

TEST_CASE("durations parse in every unit and reject the rest", "[core]") {
    using namespace std::chrono_literals;
    CHECK(parse_duration("50ms") == std::optional<std::chrono::nanoseconds>(50ms));
    CHECK(parse_duration("5s") == std::optional<std::chrono::nanoseconds>(5s));
    CHECK(parse_duration("1.5s") == std::optional<std::chrono::nanoseconds>(1500ms));
    CHECK(parse_duration("2m") == std::optional<std::chrono::nanoseconds>(2min));
    CHECK(parse_duration("1h") == std::optional<std::chrono::nanoseconds>(1h));
    CHECK(parse_duration("1d") == std::optional<std::chrono::nanoseconds>(24h));
    CHECK(parse_duration("250us") == std::optional<std::chrono::nanoseconds>(250us));
    CHECK(parse_duration("0") == std::optional<std::chrono::nanoseconds>(0ns));
    CHECK_FALSE(parse_duration("5"));
    CHECK_FALSE(parse_duration("5 seconds"));
    CHECK_FALSE(parse_duration("-5s"));
    CHECK_FALSE(parse_duration("s"));
    CHECK(format_duration(90s) == "90s");
    CHECK(format_duration(60s) == "1m");
    CHECK(format_duration(50ms) == "50ms");
}

TEST_CASE("the latency histogram's percentiles are within its bucket error", "[core]") {
    latency_histogram h;
    for (std::uint64_t i = 1; i <= 10000; ++i) {
        h.record(i * 1000);
    }
    const auto p50 = static_cast<double>(h.quantile(0.5));
    const auto p99 = static_cast<double>(h.quantile(0.99));
    CHECK(p50 >= 5e6 * 0.99);
    CHECK(p50 <= 5e6 * 1.0625);
    CHECK(p99 >= 9.9e6 * 0.99);
    CHECK(p99 <= 9.9e6 * 1.0625);
}

TEST_CASE("a failed acknowledgement reports its positions as not delivered", "[core]") {
    std::optional<bool> delivered;
    {
        auto token = std::make_shared<ack_token>(std::vector<source_position>{{2, 10, 20}},
                                                 [&](const auto& positions, bool ok) {
                                                     CHECK(positions.size() == 1);
                                                     delivered = ok;
                                                 });
        token->fail("sink down");
    }
    CHECK(delivered == std::optional<bool>(false));
}
