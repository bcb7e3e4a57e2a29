// The elasticsearch sink's bulk body builder: index names, ids and NDJSON lines, no server.
#include "../../operators/elasticsearch/bulk_body.hpp"
#include "../../operators/elasticsearch/index_template.hpp"

#include <sluice/sluice.hpp>

#include <catch2/catch.hpp>

#include <memory>

using namespace sluice;
using namespace sluice::es_detail;

namespace {

schema_ptr reading_schema() {
    return make_schema({{"sensor_id", data_type::string},
                        {"temperature", data_type::float64},
                        {"timestamp", data_type::timestamp_ms},
                        {"ok", data_type::boolean}});
}

batch readings(std::vector<std::int64_t> times, std::vector<source_position> positions) {
    auto ids = std::make_shared<column>(data_type::string);
    auto temps = std::make_shared<column>(data_type::float64);
    auto ts = std::make_shared<column>(data_type::timestamp_ms);
    auto ok = std::make_shared<column>(data_type::boolean);
    for (std::size_t i = 0; i < times.size(); ++i) {
        ids->push_string("s\"" + std::to_string(i));
        temps->push_float64(20.5 + static_cast<double>(i));
        ts->push_int64(times[i]);
        ok->push_bool(i % 2 == 0);
    }
    batch b(reading_schema(), {ids, temps, ts, ok});
    b.set_event_time_column(2);
    if (!positions.empty()) {
        b.add_ack(std::make_shared<ack_token>(positions, [](const auto&, bool) {}));
    }
    return b;
}

std::vector<std::string> lines_of(const std::string& body) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < body.size()) {
        const auto end = body.find('\n', start);
        out.push_back(body.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::unique_ptr<bulk_body_builder> builder_for(body_settings settings) {
    std::string key;
    std::string error;
    auto b = bulk_body_builder::make(*reading_schema(), settings, key, error);
    INFO(key << ": " << error);
    REQUIRE(b);
    return b;
}

}  // namespace

TEST_CASE("a fixed index and source positions give one action and one document line per row",
          "[elasticsearch]") {
    auto b = builder_for({"sensors", "", "", json_timestamp_format::epoch_ms});
    CHECK(b->ids() == id_mode::from_position);
    std::string body;
    std::vector<doc_span> spans;
    b->append_batch(readings({1767225600000, 1767225601000}, {{3, 100, 101}}), body, spans, 0);
    const auto lines = lines_of(body);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == R"({"index":{"_index":"sensors","_id":"3-100"}})");
    CHECK(lines[1] ==
          R"({"sensor_id":"s\"0","temperature":20.5,"timestamp":1767225600000,"ok":true})");
    CHECK(lines[2] == R"({"index":{"_index":"sensors","_id":"3-101"}})");
    CHECK(lines[3] ==
          R"({"sensor_id":"s\"1","temperature":21.5,"timestamp":1767225601000,"ok":false})");
    REQUIRE(spans.size() == 2);
    CHECK(body.substr(spans[1].begin, spans[1].doc_begin - spans[1].begin) == lines[2] + "\n");
    CHECK(body.substr(spans[1].doc_begin, spans[1].end - spans[1].doc_begin) == lines[3] + "\n");
    CHECK(spans[1].end == body.size());
}

TEST_CASE("rows map to positions across several ranges and partitions", "[elasticsearch]") {
    auto b = builder_for({"sensors", "", "", json_timestamp_format::epoch_ms});
    std::string body;
    std::vector<doc_span> spans;
    b->append_batch(readings({1, 2, 3, 4}, {{0, 7, 8}, {2, 50, 51}}), body, spans, 0);
    const auto lines = lines_of(body);
    CHECK(lines[0].find(R"("_id":"0-7")") != std::string::npos);
    CHECK(lines[2].find(R"("_id":"0-8")") != std::string::npos);
    CHECK(lines[4].find(R"("_id":"2-50")") != std::string::npos);
    CHECK(lines[6].find(R"("_id":"2-51")") != std::string::npos);
}

TEST_CASE("when rows were dropped the id names the batch range and the row", "[elasticsearch]") {
    auto b = builder_for({"sensors", "", "", json_timestamp_format::epoch_ms});
    std::string body;
    std::vector<doc_span> spans;
    b->append_batch(readings({1, 2}, {{0, 10, 19}}), body, spans, 0);
    const auto lines = lines_of(body);
    CHECK(lines[0].find(R"("_id":"0-10-19-0")") != std::string::npos);
    CHECK(lines[2].find(R"("_id":"0-10-19-1")") != std::string::npos);
}

TEST_CASE("a batch without positions gets automatic ids", "[elasticsearch]") {
    auto b = builder_for({"sensors", "", "", json_timestamp_format::epoch_ms});
    std::string body;
    std::vector<doc_span> spans;
    b->append_batch(readings({1}, {}), body, spans, 0);
    CHECK(lines_of(body)[0] == R"({"index":{"_index":"sensors"}})");
}

TEST_CASE("an id template joins column values and escapes the result", "[elasticsearch]") {
    auto b = builder_for(
            {"sensors", "{sensor_id}-{timestamp}/{{x}}", "", json_timestamp_format::epoch_ms});
    CHECK(b->ids() == id_mode::from_template);
    std::string body;
    std::vector<doc_span> spans;
    b->append_batch(readings({1767225600000}, {{0, 0, 0}}), body, spans, 0);
    CHECK(lines_of(body)[0] == R"({"index":{"_index":"sensors","_id":"s\"0-1767225600000/{x}"}})");
}

TEST_CASE("a window_id column is the default id", "[elasticsearch]") {
    auto s = make_schema({{"window_id", data_type::string}, {"mean", data_type::float64}});
    std::string key;
    std::string error;
    auto b = bulk_body_builder::make(
            *s, {"agg", "", "", json_timestamp_format::epoch_ms}, key, error);
    REQUIRE(b);
    CHECK(b->ids() == id_mode::from_column);
    auto w = std::make_shared<column>(data_type::string);
    w->push_string("sensor-0001@1767225600000");
    auto m = std::make_shared<column>(data_type::float64);
    m->push_float64(1.0);
    std::string body;
    std::vector<doc_span> spans;
    b->append_batch(batch(s, {w, m}), body, spans, 0);
    CHECK(lines_of(body)[0] == R"({"index":{"_index":"agg","_id":"sensor-0001@1767225600000"}})");
}

TEST_CASE("a date pattern names the index from each row's event time in UTC", "[elasticsearch]") {
    auto b = builder_for({"sensors-%Y.%m.%d", "", "", json_timestamp_format::iso8601});
    std::string body;
    std::vector<doc_span> spans;
    // 2025-12-31T23:59:59.999Z, 2026-01-01T00:00:00Z, 2024-02-29T12:00:00Z, missing (now_ms)
    b->append_batch(readings({1767225599999, 1767225600000, 1709208000000, 0}, {{0, 0, 3}}),
                    body,
                    spans,
                    951782400000 /* 2000-02-29 */);
    const auto lines = lines_of(body);
    CHECK(lines[0].find(R"("_index":"sensors-2025.12.31")") != std::string::npos);
    CHECK(lines[1].find(R"("timestamp":"2025-12-31T23:59:59.999Z")") != std::string::npos);
    CHECK(lines[2].find(R"("_index":"sensors-2026.01.01")") != std::string::npos);
    CHECK(lines[4].find(R"("_index":"sensors-2024.02.29")") != std::string::npos);
    CHECK(lines[6].find(R"("_index":"sensors-1970.01.01")") != std::string::npos);  // a valid 0
}

TEST_CASE("index patterns accept hour and day-of-year fields and reject bad names",
          "[elasticsearch]") {
    std::string error;
    auto p = index_pattern::parse("logs-%Y-%j-%H%%", error);
    REQUIRE(p);
    CHECK(p->has_date());
    CHECK(p->wildcard() == "logs-*%");
    CHECK(index_pattern::parse("sensors-%Y.%m.%d", error)->wildcard() == "sensors-*");
    CHECK(std::string(p->name_for(1709208000000)) == "logs-2024-060-12%");
    CHECK(std::string(p->name_for(1709211600000)) == "logs-2024-060-13%");
    CHECK(index_pattern::parse("sensors", error)->wildcard() == "sensors");

    CHECK_FALSE(index_pattern::parse("Sensors", error));
    CHECK(error.find("lowercase") != std::string::npos);
    CHECK_FALSE(index_pattern::parse("sensors-%Q", error));
    CHECK(error.find("unknown date field '%Q'") != std::string::npos);
    CHECK_FALSE(index_pattern::parse("_sensors", error));
    CHECK_FALSE(index_pattern::parse("a b", error));
    CHECK_FALSE(index_pattern::parse("x%", error));
    CHECK_FALSE(index_pattern::parse("", error));
}

TEST_CASE("id templates report syntax errors and unknown columns", "[elasticsearch]") {
    std::string error;
    CHECK_FALSE(id_template::parse("{sensor_id", error));
    CHECK(error.find("unclosed") != std::string::npos);
    CHECK_FALSE(id_template::parse("fixed", error));
    CHECK(error.find("names no column") != std::string::npos);
    CHECK_FALSE(id_template::parse("a}b{c}", error));
    auto t = id_template::parse("{nope}", error);
    REQUIRE(t);
    CHECK_FALSE(t->bind(*reading_schema(), error));
    CHECK(error.find("unknown column 'nope'") != std::string::npos);

    std::string key;
    CHECK_FALSE(bulk_body_builder::make(*reading_schema(), {"x", "{nope}", "", {}}, key, error));
    CHECK(key == "id");
    CHECK_FALSE(bulk_body_builder::make(*reading_schema(), {"x", "", "sensor_id", {}}, key, error));
    CHECK(key == "time_field");
    auto no_time = make_schema({{"a", data_type::int64}});
    CHECK_FALSE(bulk_body_builder::make(*no_time, {"x-%Y", "", "", {}}, key, error));
    CHECK(key == "index");
}

TEST_CASE("the index template maps columns by type with overrides", "[elasticsearch]") {
    template_settings t;
    t.name = "sluice-out";
    t.pattern = "sensors-*";
    t.mappings = {{"temperature", "float"}};
    CHECK(check_mappings(t, *reading_schema()).empty());
    const auto body = template_body(t, *reading_schema());
    CHECK(body ==
          R"({"index_patterns":["sensors-*"],"priority":200,"template":{"settings":{"index":{"number_of_shards":1,"number_of_replicas":0}},)"
          R"("mappings":{"properties":{"sensor_id":{"type":"keyword"},"temperature":{"type":"float"},)"
          R"("timestamp":{"type":"date","format":"strict_date_optional_time||epoch_millis"},"ok":{"type":"boolean"}}}}})");
    t.refresh_interval_ms = 5000;
    CHECK(template_body(t, *reading_schema())
                  .find(R"("number_of_replicas":0,"refresh_interval":"5000ms"}},)") !=
          std::string::npos);
    t.translog_durability = "async";
    CHECK(template_body(t, *reading_schema())
                  .find(R"("refresh_interval":"5000ms","translog":{"durability":"async"}}},)") !=
          std::string::npos);
    t.mappings = {{"where", "geo_point"}};
    CHECK(check_mappings(t, *reading_schema()).find("unknown column 'where'") != std::string::npos);
    t.mappings = {{"ok", "bool"}};
    CHECK(check_mappings(t, *reading_schema()).find("unknown field type 'bool'") !=
          std::string::npos);
}

TEST_CASE("a row whose event time is missing goes to the index of the given current time",
          "[elasticsearch]") {
    auto b = builder_for({"sensors-%Y.%m.%d", "", "", json_timestamp_format::epoch_ms});
    auto ids = std::make_shared<column>(data_type::string);
    auto temps = std::make_shared<column>(data_type::float64);
    auto ts = std::make_shared<column>(data_type::timestamp_ms);
    auto ok = std::make_shared<column>(data_type::boolean);
    ids->push_string("a");
    temps->push_float64(1.5);
    ts->push_null();
    ok->push_bool(true);
    batch input(reading_schema(), {ids, temps, ts, ok});
    std::string body;
    std::vector<doc_span> spans;
    b->append_batch(input, body, spans, 951782400000 /* 2000-02-29T00:00:00Z */);
    const auto lines = lines_of(body);
    CHECK(lines[0] ==
          R"({"index":{"_index":"sensors-2000.02.29"}})");  // no positions: automatic id
    CHECK(lines[1] == R"({"sensor_id":"a","temperature":1.5,"timestamp":null,"ok":true})");
}
