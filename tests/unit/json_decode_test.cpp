#include "support/json_decode_support.hpp"

#include <sluice/core/batch.hpp>
#include <sluice/core/row_json.hpp>
#include <sluice/operator/context.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/json.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace sluice;
using sluice::testing::collecting_dead_letters;

namespace {

json_decode_config config_of(const std::vector<std::pair<std::string, std::string>>& values) {
    return testing::json_decode_config_of(values);
}

/// Every diagnostic the option values produce (empty if they are valid).
std::vector<diagnostic> config_errors(
        const std::vector<std::pair<std::string, std::string>>& values) {
    try {
        (void)config_of(values);
    } catch (const config_error& e) {
        return e.diagnostics();
    }
    return {};
}

/// A batch with a string column "value" (nullopt = missing) and int64 "partition"/"offset".
batch raw_batch(const std::vector<std::optional<std::string>>& rows) {
    auto value = std::make_shared<column>(data_type::string);
    auto partition = std::make_shared<column>(data_type::int64);
    auto offset = std::make_shared<column>(data_type::int64);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (rows[i]) {
            value->push_string(*rows[i]);
        } else {
            value->push_null();
        }
        partition->push_int64(static_cast<std::int64_t>(i % 3));
        offset->push_int64(static_cast<std::int64_t>(100 + i));
    }
    return batch(make_schema({{"value", data_type::string},
                              {"partition", data_type::int64},
                              {"offset", data_type::int64}}),
                 {value, partition, offset});
}

/// Runs a configured json_decode over `input`, collecting dead letters.
struct decode_run {
    collecting_dead_letters dead;
    batch out;

    decode_run(const std::vector<std::pair<std::string, std::string>>& options,
               const batch& input) {
        json_decode_transform op(config_of(options));
        diagnostics_collector diagnostics;
        bind_context bind_ctx("json_decode", "parsed", nullptr, &diagnostics);
        const auto schema = op.bind(input.schema(), bind_ctx);
        REQUIRE(diagnostics.empty());
        REQUIRE(schema != nullptr);
        operator_context ctx("json_decode", "parsed", nullptr, &dead, nullptr);
        out = op.process(input, ctx);
        REQUIRE(out.schema() == schema);
        REQUIRE(ctx.metrics().rejected.load() == dead.items.size());
    }

    const column& col(std::string_view name) const {
        const auto* c = out.find_column(name);
        REQUIRE(c != nullptr);
        return *c;
    }
};

const std::pair<std::string, std::string> sensor_schema{
        "schema",
        "{sensor_id: string, temperature: float64, humidity: float64, timestamp: timestamp_ms, "
        "hour_of_day: int64, day_of_week: int64, status_flag: int64, location: string}"};

std::string sensor_record(int i) {
    return fmt::format(
            R"({{"sensor_id":"sensor-{:04d}","temperature":{},"humidity":45.2,"timestamp":{},)"
            R"("hour_of_day":7,"day_of_week":3,"status_flag":0,"location":"building-2/floor-3","is_anomaly":false}})",
            i,
            20.5 + i,
            1764140000000 + i);
}

}  // namespace

TEST_CASE("json_decode accepts good records and dead-letters each broken one with a precise reason",
          "[json]") {
    const std::vector<std::pair<std::string, std::string>> broken = {
            {R"({"sensor_id":"a","timestamp":)", "invalid JSON: INCOMPLETE_ARRAY_OR_OBJECT"},
            {R"(this is not json)", "invalid JSON: not a JSON value: this is not json"},
            {R"({"sensor_id":"a"})", "missing required field 'timestamp'"},
            {R"({"sensor_id":"a","timestamp":1,"temperature":"hot"})",
             "field 'temperature': expected float64, found string \"hot\""},
            {R"({"sensor_id":null,"timestamp":1})", "field 'sensor_id' is null"},
            {R"([{"sensor_id":"a","timestamp":1}])", "expected a JSON object, found an array"},
            {R"("just a string")", "expected a JSON object, found a string"},
            {R"(42)", "expected a JSON object, found a number"},
            {R"({"sensor_id":"a","timestamp":1} {"x":1})",
             "invalid JSON: trailing content at byte 32 after the object: {\"x\":1}"},
            {R"({"sensor_id":"a","timestamp":1}})", "invalid JSON: trailing content at byte 31"},
            {R"({"sensor_id":"a","timestamp":1} garbage)",
             "invalid JSON: INCOMPLETE_ARRAY_OR_OBJECT"},
            {R"({"sensor_id":"a","timestamp":1,"hour_of_day":7.5})",
             "field 'hour_of_day': expected int64, found 7.5 (not a whole number)"},
            {R"({"sensor_id":"a","timestamp":1,"hour_of_day":99999999999999999999})",
             "field 'hour_of_day': expected int64, found 99999999999999999999 (out of range)"},
            {R"({"sensor_id":"a","timestamp":1,"temperature":1e400})",
             "field 'temperature': expected float64, found 1e400 (not a valid number or out of "
             "range)"},
            {R"({"sensor_id":"a","timestamp":"yesterday"})",
             "field 'timestamp': expected timestamp_ms (integer ms since the epoch or an ISO-8601 "
             "string), found string \"yesterday\""},
            {R"({"sensor_id":"a","timestamp":"2024-02-30T00:00:00Z"})",
             "found string \"2024-02-30T00:00:00Z\""},
            {R"({"sensor_id":{"id":1},"timestamp":1})",
             "field 'sensor_id': expected string, found object"},
            {R"({"sensor_id":"a","timestamp":true})",
             "field 'timestamp': expected timestamp_ms, found bool true"},
            {R"({"sensor_id":"a\q","timestamp":1})",
             "invalid JSON: field 'sensor_id': STRING_ERROR"},
            {"{\"sensor_id\":\"\xff\",\"timestamp\":1}", "invalid JSON: UTF8_ERROR"},
            {R"({"sensor_id":"a","timestamp":1,})", "invalid JSON: TAPE_ERROR at byte"},
            {R"({"sensor_id":"a" "timestamp":1})", "invalid JSON: TAPE_ERROR"},
            {R"({"sensor_id":"a","timestamp":1,"status_flag":nul})",
             "invalid JSON: field 'status_flag': bad literal nul"},
            {"", "invalid JSON: empty record"},
            {"   ", "invalid JSON: empty record"},
    };
    std::vector<std::optional<std::string>> rows;
    std::vector<std::size_t> good_rows;
    for (std::size_t i = 0; i < broken.size(); ++i) {
        good_rows.push_back(rows.size());
        rows.emplace_back(sensor_record(static_cast<int>(i)));
        rows.emplace_back(broken[i].first);
    }
    rows.emplace_back(std::nullopt);  // a missing input value

    decode_run run({sensor_schema, {"required", "[sensor_id, timestamp]"}}, raw_batch(rows));

    CHECK(run.out.num_rows() + run.dead.items.size() == rows.size());
    REQUIRE(run.out.num_rows() == good_rows.size());
    REQUIRE(run.dead.items.size() == broken.size() + 1);
    for (std::size_t i = 0; i < broken.size(); ++i) {
        INFO("record: " << broken[i].first);
        CHECK(run.dead.items[i].payload == broken[i].first);
        CHECK_THAT(run.dead.items[i].reason, Catch::Contains(broken[i].second));
    }
    CHECK(run.dead.items.back().reason == "input column 'value' is null");
    const auto& sensor = run.col("sensor_id");
    const auto& temperature = run.col("temperature");
    for (std::size_t i = 0; i < good_rows.size(); ++i) {
        CHECK(sensor.string_at(i) == fmt::format("sensor-{:04d}", i));
        CHECK(temperature.float64_values()[i] == 20.5 + static_cast<double>(i));
    }
}

TEST_CASE(
        "json_decode converts every type, ISO-8601 timestamps with offsets and fractions included",
        "[json]") {
    const std::vector<std::optional<std::string>> rows = {
            R"({"f":1.5,"i":-42,"b":true,"s":"x","t":1714564800000})",
            R"({"f":-3,"i":7.0,"b":false,"s":"","t":"2024-05-01T12:00:00Z"})",
            R"({"f":1e3,"i":1e3,"b":true,"s":"y","t":"2024-05-01T12:00:00.123Z"})",
            R"({"f":0.1,"i":9223372036854775807,"b":true,"s":"z","t":"2024-05-01T14:00:00.1239+02:00"})",
            R"({"f":-0.0,"i":-9223372036854775808,"b":false,"s":"w","t":"2024-05-01T07:30:00-04:30"})",
            R"({"f":18446744073709551616,"i":0,"b":true,"s":"v","t":"2024-05-01 12:00:00.5"})",
            R"({"f":5e-324,"i":1,"b":true,"s":"u","t":"2024-05-01"})",
            R"({"f":2,"i":2,"b":true,"s":"t","t":-1})",
            R"({"f":2,"i":2,"b":true,"s":"t","t":"1969-12-31T23:59:59.999Z"})",
            R"({"f":2,"i":2,"b":true,"s":"t","t":"2024-02-29T00:00:00+0100"})",
    };
    decode_run run({{"schema", "{f: float64, i: int64, b: bool, s: string, t: timestamp_ms}"}},
                   raw_batch(rows));
    REQUIRE(run.dead.items.empty());
    REQUIRE(run.out.num_rows() == rows.size());

    const auto f = run.col("f").float64_values();
    CHECK(f[0] == 1.5);
    CHECK(f[1] == -3.0);
    CHECK(f[2] == 1000.0);
    CHECK(f[3] == 0.1);
    CHECK(f[4] == 0.0);
    CHECK(std::signbit(f[4]));
    CHECK(f[5] == 18446744073709551616.0);
    CHECK(f[6] == 5e-324);

    const auto i = run.col("i").int64_values();
    CHECK(i[0] == -42);
    CHECK(i[1] == 7);
    CHECK(i[2] == 1000);
    CHECK(i[3] == INT64_MAX);
    CHECK(i[4] == INT64_MIN);

    const auto b = run.col("b").bool_values();
    CHECK(b[0] == 1);
    CHECK(b[1] == 0);

    CHECK(run.col("s").string_at(0) == "x");
    CHECK(run.col("s").string_at(1).empty());
    CHECK(run.col("s").is_valid(1));

    const auto t = run.col("t").int64_values();
    CHECK(run.col("t").type() == data_type::timestamp_ms);
    const std::int64_t noon = 1714564800000;  // 2024-05-01T12:00:00Z
    CHECK(t[0] == noon);
    CHECK(t[1] == noon);
    CHECK(t[2] == noon + 123);
    CHECK(t[3] == noon + 123);  // 14:00+02:00 is noon UTC; fractions truncate to ms
    CHECK(t[4] == noon);        // 07:30-04:30 is noon UTC
    CHECK(t[5] == noon + 500);  // no offset: UTC
    CHECK(t[6] == noon - 12 * 3600 * 1000);
    CHECK(t[7] == -1);
    CHECK(t[8] == -1);
    CHECK(t[9] == 1709161200000);  // 2024-02-28T23:00:00Z

    CHECK(run.out.event_time_column() == run.out.schema()->index_of("t"));
}

TEST_CASE("json_decode leaves optional fields that are null or absent missing", "[json]") {
    const std::vector<std::optional<std::string>> rows = {
            R"({"id":"a","f":1.5,"i":3,"b":true,"s":"x","t":10})",
            R"({"id":"b","f":null,"i":null,"b":null,"s":null,"t":null})",
            R"({"id":"c"})",
            R"({"id":"d","f":2.5,"s":"y"})",
    };
    decode_run run(
            {{"schema", "{id: string, f: float64, i: int64, b: bool, s: string, t: timestamp_ms}"},
             {"required", "id"}},
            raw_batch(rows));
    REQUIRE(run.dead.items.empty());
    REQUIRE(run.out.num_rows() == 4);
    for (const auto* name : {"f", "i", "b", "s", "t"}) {
        INFO(name);
        const auto& c = run.col(name);
        CHECK(c.is_valid(0));
        CHECK_FALSE(c.is_valid(1));
        CHECK_FALSE(c.is_valid(2));
    }
    CHECK(run.col("f").is_valid(3));
    CHECK(run.col("f").float64_values()[3] == 2.5);
    CHECK_FALSE(run.col("i").is_valid(3));
    CHECK(run.col("s").string_at(3) == "y");
    CHECK(run.col("f").null_count() == 2);
    CHECK(run.col("i").null_count() == 3);
    CHECK_FALSE(run.col("id").has_nulls());

    const auto& fields = run.out.schema()->fields();
    CHECK_FALSE(fields[0].nullable);
    CHECK(fields[1].nullable);
}

TEST_CASE("json_decode lets the last of duplicated keys win and ignores unknown keys", "[json]") {
    const std::vector<std::optional<std::string>> rows = {
            R"({"a":1,"x":{"deep":[1,2,{"y":null}]},"a":2,"b":"first","b":"second"})",
            R"({"a":1,"a":null,"b":"k"})",
            R"({"b":"k","a":null,"a":5})",
    };
    decode_run run({{"schema", "{a: int64, b: string}"}, {"required", "b"}}, raw_batch(rows));
    REQUIRE(run.dead.items.empty());
    const auto& a = run.col("a");
    CHECK(a.int64_values()[0] == 2);
    CHECK(run.col("b").string_at(0) == "second");
    CHECK_FALSE(a.is_valid(1));
    CHECK(a.is_valid(2));
    CHECK(a.int64_values()[2] == 5);
}

TEST_CASE("json_decode unescapes strings and keys, unicode escapes and surrogate pairs included",
          "[json]") {
    const std::vector<std::optional<std::string>> rows = {
            R"({"s":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t","t":1})",
            "{\"s\":\"h\xc3\xa9llo \xe2\x82\xac\",\"t\":2}",
            R"({"\u0073":"escaped key","t":3})",
            R"({"s":"\u0000nul","t":4})",
            R"({"s":"\ud800","t":5})",  // a lone surrogate is not a character
    };
    decode_run run({{"schema", "{s: string, t: int64}"}}, raw_batch(rows));
    const auto& s = run.col("s");
    REQUIRE(run.out.num_rows() == 4);
    CHECK(s.string_at(0) == "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ / \b\f\n\r\t");
    CHECK(s.string_at(1) == "h\xc3\xa9llo \xe2\x82\xac");
    CHECK(s.string_at(2) == "escaped key");
    CHECK(s.string_at(3) == std::string_view("\0nul", 4));
    REQUIRE(run.dead.items.size() == 1);
    CHECK_THAT(run.dead.items[0].reason, Catch::Contains("field 's': STRING_ERROR"));
}

TEST_CASE("json_decode passes kept columns through, filtered to the accepted rows", "[json]") {
    SECTION("shared as is when every row is accepted") {
        const auto input = raw_batch({R"({"a":1})", R"({"a":2})"});
        decode_run run({{"schema", "{a: int64}"}, {"keep", "[offset, partition]"}}, input);
        REQUIRE(run.out.num_columns() == 3);
        CHECK(run.out.schema()->to_string() == "{a: int64, offset: int64, partition: int64}");
        CHECK(run.out.shared_column(1) == input.shared_column(2));
        CHECK(run.out.shared_column(2) == input.shared_column(1));
    }
    SECTION("filtered when rows are rejected") {
        const auto input =
                raw_batch({R"({"a":1})", R"({"a":"x"})", R"({"a":3})", "{", R"({"a":5})"});
        decode_run run({{"schema", "{a: int64}"}, {"keep", "[offset, value]"}}, input);
        REQUIRE(run.out.num_rows() == 3);
        const auto offsets = run.col("offset").int64_values();
        CHECK(std::vector<std::int64_t>(offsets.begin(), offsets.end()) ==
              std::vector<std::int64_t>{100, 102, 104});
        CHECK(run.col("value").string_at(1) == R"({"a":3})");
        const auto a = run.col("a").int64_values();
        CHECK(std::vector<std::int64_t>(a.begin(), a.end()) == std::vector<std::int64_t>{1, 3, 5});
    }
}

TEST_CASE("json_decode decodes each record alone even when other bytes follow it in memory",
          "[json]") {
    // The column stores records back to back, so every record is followed by the next one's
    // bytes; a truncated record must not borrow them.
    const std::vector<std::optional<std::string>> rows = {
            R"({"a":1)",
            R"(})",  // split object
            R"({"x":{"b":1})",
            R"(}})",  // unbalanced, followed by closing braces
            R"({"a":2,)",
            R"("a":3})",  // dangling comma, followed by a member
            R"({"a":12)",
            R"(34})",  // number cut short, followed by digits
            R"({"a":4})",
            R"({"a":5} )",
    };
    decode_run run({{"schema", "{a: int64}"}}, raw_batch(rows));
    REQUIRE(run.out.num_rows() == 2);
    const auto a = run.col("a").int64_values();
    CHECK(a[0] == 4);
    CHECK(a[1] == 5);
    CHECK(run.dead.items.size() == 8);
}

TEST_CASE("json_decode output inherits the input's lineage", "[json]") {
    std::vector<source_position> released;  // outlives `input`, whose token writes it
    auto input = raw_batch({R"({"a":1,"ts":5})", "not json", R"({"a":3,"ts":7})"});
    input.set_origin({3, 17});
    input.set_watermark_ms(1234);
    auto ack = std::make_shared<ack_token>(
            std::vector<source_position>{{2, 100, 102}},
            [&](const std::vector<source_position>& p, bool) { released = p; });
    input.add_ack(ack);
    auto flight = std::make_shared<flight_slot>([] {});
    input.set_flight(flight);

    {
        decode_run run({{"schema", "{a: int64, ts: timestamp_ms}"}}, input);
        CHECK(run.out.origin().stream == 3);
        CHECK(run.out.origin().sequence == 17);
        CHECK(run.out.watermark_ms() == 1234);
        REQUIRE(run.out.acks().size() == 1);
        CHECK(run.out.acks()[0] == ack);
        CHECK(run.out.flight() == flight);
        CHECK(run.out.event_time_column() == std::optional<std::size_t>(1));
        REQUIRE(run.dead.items.size() == 1);
        CHECK(run.dead.items[0].positions == std::vector<source_position>{{2, 100, 102}});
    }
    CHECK(released.empty());  // `input` and `ack` still hold the token
}

TEST_CASE("json_decode marks the configured event-time column, a kept one included", "[json]") {
    auto ts = std::make_shared<column>(data_type::timestamp_ms);
    auto value = std::make_shared<column>(data_type::string);
    value->push_string(R"({"a":1,"t1":1,"t2":2})");
    ts->push_int64(99);
    const batch input(
            make_schema({{"value", data_type::string}, {"ingest", data_type::timestamp_ms}}),
            {value, ts});

    SECTION("default: the first timestamp_ms field") {
        decode_run run({{"schema", "{a: int64, t1: timestamp_ms, t2: timestamp_ms}"}}, input);
        CHECK(run.out.event_time_column() == std::optional<std::size_t>(1));
    }
    SECTION("a later schema field") {
        decode_run run({{"schema", "{a: int64, t1: timestamp_ms, t2: timestamp_ms}"},
                        {"event_time", "t2"}},
                       input);
        CHECK(run.out.event_time_column() == std::optional<std::size_t>(2));
    }
    SECTION("a kept column") {
        decode_run run({{"schema", "{a: int64, t1: timestamp_ms}"},
                        {"keep", "ingest"},
                        {"event_time", "ingest"}},
                       input);
        CHECK(run.out.event_time_column() == std::optional<std::size_t>(2));
    }
    SECTION("none without a timestamp_ms field") {
        decode_run run({{"schema", "{a: int64}"}}, input);
        CHECK_FALSE(run.out.event_time_column().has_value());
    }
}

TEST_CASE("json_decode reports bad option values with the right diagnostic codes", "[json]") {
    SECTION("an unknown type in the schema, with a suggestion") {
        const auto errors =
                config_errors({{"schema", "{sensor_id: string, temperature: floot, n: integer}"}});
        REQUIRE(errors.size() == 2);
        const auto temperature =
                std::find_if(errors.begin(), errors.end(), [](const diagnostic& d) {
                    return d.message.find("'temperature'") != std::string::npos;
                });
        const auto n = std::find_if(errors.begin(), errors.end(), [](const diagnostic& d) {
            return d.message.find("'n'") != std::string::npos;
        });
        REQUIRE(temperature != errors.end());
        REQUIRE(n != errors.end());
        CHECK(temperature->code == "bad-type");
        CHECK(temperature->message ==
              "json_decode 'parsed': schema field 'temperature': expected one of float64, int64, "
              "bool, string, "
              "timestamp_ms; found 'floot'; did you mean 'float64'?");
        CHECK(n->code == "bad-type");
        CHECK(n->message ==
              "json_decode 'parsed': schema field 'n': expected one of float64, int64, bool, "
              "string, "
              "timestamp_ms; found 'integer'");
    }
    SECTION("a required field that is not in the schema") {
        const auto errors = config_errors({{"schema", "{a: int64}"}, {"required", "[a, b]"}});
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == "cross-field");
        CHECK_THAT(errors[0].message,
                   Catch::Contains("'required' names 'b', which is not in 'schema' (fields: a)"));
    }
    SECTION("an event-time field of another type") {
        const auto errors = config_errors({{"schema", "{a: int64}"}, {"event_time", "a"}});
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == "cross-field");
        CHECK_THAT(errors[0].message,
                   Catch::Contains("which is int64 in 'schema'; expected a timestamp_ms field"));
    }
    SECTION("an event-time column that is neither decoded nor kept") {
        const auto errors = config_errors({{"schema", "{a: int64}"}, {"event_time", "ts"}});
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == "cross-field");
    }
    SECTION("a kept column named like a schema field") {
        const auto errors = config_errors({{"schema", "{a: int64}"}, {"keep", "[a]"}});
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == "cross-field");
    }
    SECTION("an empty schema") {
        const auto errors = config_errors({{"schema", "{}"}});
        REQUIRE_FALSE(errors.empty());
    }
    SECTION("no schema at all") {
        const auto errors = config_errors({});
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == "missing-field");
    }
    SECTION("a config built in code is checked too") {
        json_decode_config config;
        config.schema = {{"a", data_type::int64}, {"a", data_type::string}};
        CHECK_THROWS_AS(json_decode_transform(config), config_error);
    }
}

TEST_CASE("json_decode bind reports a missing or non-string input column and missing kept columns",
          "[json]") {
    json_decode_transform op(
            config_of({{"schema", "{a: int64}"}, {"keep", "[partition, offset]"}}));
    const auto input = make_schema({{"payload", data_type::string},
                                    {"value", data_type::int64},
                                    {"offset", data_type::int64}});
    diagnostics_collector diagnostics;
    bind_context ctx("json_decode", "parsed", nullptr, &diagnostics);
    CHECK(op.bind(input, ctx) == nullptr);
    REQUIRE(diagnostics.items().size() == 2);
    CHECK(diagnostics.items()[0].code == "schema-mismatch");
    CHECK(diagnostics.items()[0].message ==
          "json_decode 'parsed': expected a string column 'value'; the input has "
          "{payload: string, value: int64, offset: int64}");
    CHECK(diagnostics.items()[1].code == "schema-mismatch");
    CHECK_THAT(diagnostics.items()[1].message,
               Catch::Contains("kept column 'partition' is not in the input"));

    json_decode_transform other(
            config_of({{"schema", "{a: int64}"}, {"field", "payload"}, {"keep", "offset"}}));
    diagnostics_collector fine;
    bind_context ok_ctx("json_decode", "parsed", nullptr, &fine);
    const auto out = other.bind(input, ok_ctx);
    CHECK(fine.empty());
    REQUIRE(out != nullptr);
    CHECK(out->to_string() == "{a: int64, offset: int64}");
}

TEST_CASE("json_decode registers with a spec that documents every option", "[json]") {
    operator_registry registry;
    register_json_operators(registry);
    const auto* descriptor = registry.find(operator_role::transform, "json_decode");
    REQUIRE(descriptor != nullptr);
    CHECK_FALSE(descriptor->summary.empty());
    for (const auto* name : {"field", "schema", "required", "keep", "event_time"}) {
        INFO(name);
        const auto* f = descriptor->spec.find(name);
        REQUIRE(f != nullptr);
        CHECK_FALSE(f->doc.empty());
    }
    CHECK(descriptor->spec.find("schema")->kind == option_kind::string_map);
    CHECK(descriptor->spec.find("schema")->required);
    CHECK(descriptor->spec.find("field")->default_value == "value");

    build_context build;
    const auto opts = options::from_values(
            descriptor->spec, "json_decode", "parsed", {{"schema", "{a: int64}"}});
    auto op = descriptor->make_transform(opts, build);
    REQUIRE(op != nullptr);
    CHECK(op->traits().calls == concurrency::parallel);
}

TEST_CASE("json_decode turns an empty batch into an empty batch of the output schema", "[json]") {
    decode_run run({{"schema", "{a: int64, s: string}"}, {"keep", "offset"}}, raw_batch({}));
    CHECK(run.out.num_rows() == 0);
    CHECK(run.out.num_columns() == 3);
}

TEST_CASE("json_decode looks up keys of a wide schema", "[json]") {
    // 70 fields: more than a linear scan handles and more than one 64-bit word of flags.
    constexpr int fields = 70;
    std::string schema = "{";
    for (int i = 0; i < fields; ++i) {
        schema += fmt::format("{}field_{}: int64", i == 0 ? "" : ", ", i);
    }
    schema += "}";
    std::string full = "{";
    std::string partial = "{";
    for (int i = fields - 1; i >= 0; --i) {  // keys in the reverse of the schema's order
        full += fmt::format("{}\"field_{}\":{}", i == fields - 1 ? "" : ",", i, i * 10);
        if (i != 65) {
            partial += fmt::format("{}\"field_{}\":{}", i == fields - 1 ? "" : ",", i, i * 10);
        }
    }
    full += ",\"unknown\":1}";
    partial += "}";

    SECTION("every field present") {
        decode_run run({{"schema", schema}}, raw_batch({full, full}));
        REQUIRE(run.dead.items.empty());
        for (int i = 0; i < fields; ++i) {
            CHECK(run.col(fmt::format("field_{}", i)).int64_values()[1] == i * 10);
        }
    }
    SECTION("a missing field beyond the first 64") {
        decode_run required({{"schema", schema}}, raw_batch({full, partial}));
        REQUIRE(required.dead.items.size() == 1);
        CHECK(required.dead.items[0].reason == "missing required field 'field_65'");

        decode_run optional({{"schema", schema}, {"required", "[field_0]"}},
                            raw_batch({full, partial, full}));
        REQUIRE(optional.dead.items.empty());
        const auto& c = optional.col("field_65");
        CHECK(c.is_valid(0));
        CHECK_FALSE(c.is_valid(1));
        CHECK(c.is_valid(2));
        CHECK(optional.col("field_64").int64_values()[1] == 640);
    }
}

TEST_CASE("json_decode gives the same output when one instance runs on several threads at once",
          "[json]") {
    std::vector<batch> inputs;
    for (int b = 0; b < 8; ++b) {
        std::vector<std::optional<std::string>> rows;
        for (int i = 0; i < 300; ++i) {
            rows.emplace_back(i % 37 == b ? std::string("{broken") : sensor_record(b * 1000 + i));
        }
        inputs.push_back(raw_batch(rows));
    }
    json_decode_transform op(config_of({sensor_schema, {"keep", "offset"}}));
    diagnostics_collector diagnostics;
    bind_context bind_ctx("json_decode", "parsed", nullptr, &diagnostics);
    REQUIRE(op.bind(inputs[0].schema(), bind_ctx) != nullptr);
    REQUIRE(op.traits().calls == concurrency::parallel);

    collecting_dead_letters serial_dead;
    operator_context serial_ctx("json_decode", "parsed", nullptr, &serial_dead, nullptr);
    std::vector<batch> expected;
    for (const auto& input : inputs) {
        expected.push_back(op.process(input, serial_ctx));
    }

    collecting_dead_letters dead;
    operator_context ctx("json_decode", "parsed", nullptr, &dead, nullptr);
    std::vector<std::vector<batch>> got(4);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < got.size(); ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 5; ++round) {
                for (std::size_t b = 0; b < inputs.size(); ++b) {
                    got[t].push_back(op.process(inputs[(b + t) % inputs.size()], ctx));
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    CHECK(dead.items.size() == serial_dead.items.size() * 5 * got.size());
    for (std::size_t t = 0; t < got.size(); ++t) {
        for (std::size_t k = 0; k < got[t].size(); ++k) {
            const auto& out = got[t][k];
            const auto& want = expected[(k % inputs.size() + t) % inputs.size()];
            REQUIRE(out.num_rows() == want.num_rows());
            for (std::size_t r = 0; r < out.num_rows(); ++r) {
                REQUIRE(out.column_at(0).string_at(r) == want.column_at(0).string_at(r));
                REQUIRE(out.column_at(1).float64_values()[r] ==
                        want.column_at(1).float64_values()[r]);
                REQUIRE(out.column_at(3).int64_values()[r] == want.column_at(3).int64_values()[r]);
                REQUIRE(out.column_at(7).string_at(r) == want.column_at(7).string_at(r));
                REQUIRE(out.column_at(8).int64_values()[r] == want.column_at(8).int64_values()[r]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Randomized round trip
// ---------------------------------------------------------------------------------------------

namespace {

struct random_value {
    bool present = false;  // false: absent or null
    bool write_null = false;
    double f = 0;
    std::int64_t i = 0;
    bool b = false;
    std::string s;
};

void append_escaped(std::string& out, const std::string& text, std::mt19937_64& rng) {
    out += '"';
    for (std::size_t k = 0; k < text.size(); ++k) {
        const auto c = static_cast<unsigned char>(text[k]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            out += fmt::format("\\u{:04x}", c);
        } else if (c == 0xC3 && rng() % 2 == 0) {
            // A two-byte character (U+00C0..U+00FF here) written as a \u escape.
            const unsigned cp =
                    ((c & 0x1FU) << 6) | (static_cast<unsigned char>(text[k + 1]) & 0x3FU);
            out += fmt::format("\\u{:04X}", cp);
            ++k;
        } else if (c == 0xF0 && rng() % 2 == 0) {
            // A four-byte character written as a surrogate pair.
            const unsigned cp = ((c & 0x07U) << 18) |
                                ((static_cast<unsigned char>(text[k + 1]) & 0x3FU) << 12) |
                                ((static_cast<unsigned char>(text[k + 2]) & 0x3FU) << 6) |
                                (static_cast<unsigned char>(text[k + 3]) & 0x3FU);
            const unsigned v = cp - 0x10000;
            out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
            k += 3;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
}

// (year, month, day) of a day count since 1970-01-01 (H. Hinnant's civil_from_days).
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<int>(yoe + era * 400) + (m <= 2 ? 1 : 0);
}

// An ISO-8601 spelling of `ms` in a random offset, with 0, 3 or 6 fraction digits (with none,
// `ms` is rounded down to its second).
std::string iso_text(std::int64_t& ms, std::mt19937_64& rng) {
    const int offset_minutes = static_cast<int>(rng() % 1441) - 720;
    const std::int64_t local = ms + offset_minutes * 60000LL;
    const std::int64_t day = local >= 0 ? local / 86400000 : (local - 86399999) / 86400000;
    const std::int64_t in_day = local - day * 86400000;
    int y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(day, y, m, d);
    std::string out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}",
                                  y,
                                  m,
                                  d,
                                  in_day / 3600000,
                                  in_day / 60000 % 60,
                                  in_day / 1000 % 60);
    switch (rng() % 3) {
        case 0:
            ms -= in_day % 1000;
            break;
        case 1:
            out += fmt::format(".{:03d}", in_day % 1000);
            break;
        default:
            out += fmt::format(".{:03d}{:03d}", in_day % 1000, rng() % 1000);  // sub-ms truncated
            break;
    }
    if (offset_minutes == 0 && rng() % 2 == 0) {
        out += 'Z';
    } else {
        const int a = std::abs(offset_minutes);
        out += fmt::format("{}{:02d}:{:02d}", offset_minutes < 0 ? '-' : '+', a / 60, a % 60);
    }
    return out;
}

}  // namespace

TEST_CASE("json_decode round-trips random records exactly", "[json]") {
    const auto seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : std::random_device{}();
    INFO("seed " << seed << " (rerun with --rng-seed " << seed << ")");
    std::mt19937_64 rng(seed);

    const std::vector<data_type> types = {data_type::float64,
                                          data_type::int64,
                                          data_type::boolean,
                                          data_type::string,
                                          data_type::timestamp_ms};
    const std::size_t field_count = 1 + rng() % 24;
    std::vector<field> fields;
    std::string schema_text = "{";
    for (std::size_t k = 0; k < field_count; ++k) {
        const auto type = types[rng() % types.size()];
        const bool required = rng() % 3 == 0;
        fields.push_back({fmt::format("f{}_{}", k, std::string(rng() % 6, 'x')), type, !required});
        schema_text +=
                fmt::format("{}{}: {}", k == 0 ? "" : ", ", fields.back().name, to_string(type));
    }
    schema_text += "}";
    std::string required_text = "[";
    for (const auto& f : fields) {
        if (!f.nullable) {
            required_text += (required_text.size() > 1 ? ", " : "") + f.name;
        }
    }
    required_text += "]";
    INFO("schema " << schema_text << " required " << required_text);

    const std::vector<std::string> pieces = {"a",
                                             "Z",
                                             " ",
                                             "\"",
                                             "\\",
                                             "/",
                                             "\n",
                                             "\x01",
                                             "\xc3\xa9",
                                             "\xc3\xbf",
                                             "\xe2\x82\xac",
                                             "\xf0\x9f\x98\x80",
                                             "sensor-",
                                             "{}",
                                             "[,]"};
    const std::size_t rows = 1 + rng() % 3000;
    std::vector<std::vector<random_value>> expected(rows, std::vector<random_value>(field_count));
    std::vector<std::optional<std::string>> records;
    std::uniform_real_distribution<double> unit(-1.0, 1.0);
    for (std::size_t r = 0; r < rows; ++r) {
        std::vector<std::size_t> order(field_count);
        for (std::size_t k = 0; k < field_count; ++k) {
            order[k] = k;
        }
        if (rng() % 4 == 0) {
            std::shuffle(order.begin(), order.end(), rng);
        }
        std::string json = "{";
        bool first = true;
        const auto member = [&](const std::string& key) {
            json += first ? "" : (rng() % 5 == 0 ? " , " : ",");
            first = false;
            json += fmt::format("\"{}\":", key);
        };
        for (const auto k : order) {
            const auto& f = fields[k];
            auto& v = expected[r][k];
            if (rng() % 7 == 0) {
                member(fmt::format("ignored_{}", rng() % 3));
                json += rng() % 2 == 0 ? R"({"n":[1,2,{"x":null}]})" : "\"skip\"";
            }
            if (f.nullable && rng() % 4 == 0) {
                if (rng() % 2 == 0) {
                    member(f.name);
                    json += "null";
                }
                continue;
            }
            v.present = true;
            member(f.name);
            switch (f.type) {
                case data_type::float64:
                    v.f = unit(rng) * std::pow(10.0, static_cast<double>(rng() % 40) - 20);
                    json += fmt::format("{}", v.f);
                    break;
                case data_type::int64:
                    v.i = static_cast<std::int64_t>(rng());
                    if (rng() % 2 == 0) {
                        v.i %= 1000;
                        json += rng() % 3 == 0 ? fmt::format("{}.0", v.i) : fmt::format("{}", v.i);
                    } else {
                        json += fmt::format("{}", v.i);
                    }
                    break;
                case data_type::boolean:
                    v.b = rng() % 2 == 0;
                    json += v.b ? "true" : "false";
                    break;
                case data_type::string:
                    for (std::size_t n = rng() % 12; n > 0; --n) {
                        v.s += pieces[rng() % pieces.size()];
                    }
                    append_escaped(json, v.s, rng);
                    break;
                case data_type::timestamp_ms:
                    v.i = static_cast<std::int64_t>(rng() % 4102444800000ULL) - 86400000LL * 365;
                    if (rng() % 2 == 0) {
                        json += fmt::format("{}", v.i);
                    } else {
                        json += '"' + iso_text(v.i, rng) + '"';
                    }
                    break;
            }
        }
        json += rng() % 5 == 0 ? "} \n" : "}";
        records.emplace_back(std::move(json));
    }

    decode_run run({{"schema", schema_text}, {"required", required_text}, {"keep", "offset"}},
                   raw_batch(records));
    for (const auto& d : run.dead.items) {
        INFO(d.payload);
        FAIL_CHECK(d.reason);
    }
    REQUIRE(run.out.num_rows() == rows);
    for (std::size_t k = 0; k < field_count; ++k) {
        const auto& c = run.out.column_at(k);
        for (std::size_t r = 0; r < rows; ++r) {
            const auto& v = expected[r][k];
            INFO("row " << r << " field " << fields[k].name << ": " << *records[r]);
            REQUIRE(c.is_valid(r) == v.present);
            if (!v.present) {
                continue;
            }
            switch (fields[k].type) {
                case data_type::float64:
                    REQUIRE(c.float64_values()[r] == v.f);
                    break;
                case data_type::int64:
                case data_type::timestamp_ms:
                    REQUIRE(c.int64_values()[r] == v.i);
                    break;
                case data_type::boolean:
                    REQUIRE((c.bool_values()[r] != 0) == v.b);
                    break;
                case data_type::string:
                    REQUIRE(c.string_at(r) == v.s);
                    break;
            }
        }
    }
    const auto offsets = run.col("offset").int64_values();
    CHECK(offsets.back() == static_cast<std::int64_t>(100 + rows - 1));
}

namespace {

/// What json_decode made of some rows: the output rows rendered, and the dead letters.
struct decode_outcome {
    std::vector<std::string> rows;
    std::vector<std::pair<std::string, std::string>> dead;  // payload, reason
};

/// `rows` decoded as one batch (the batch path: one stream over many records).
decode_outcome decode_as_one_batch(const std::vector<std::pair<std::string, std::string>>& options,
                                   const std::vector<std::optional<std::string>>& rows) {
    decode_run run(options, raw_batch(rows));
    decode_outcome outcome;
    for (std::size_t r = 0; r < run.out.num_rows(); ++r) {
        outcome.rows.push_back(testing::render_row(run.out, r, run.out.num_columns()));
    }
    for (const auto& item : run.dead.items) {
        outcome.dead.emplace_back(item.payload, item.reason);
    }
    return outcome;
}

/// `rows` decoded one per batch (too small for a stream: the per-record path).
decode_outcome decode_one_by_one(const std::vector<std::pair<std::string, std::string>>& options,
                                 const std::vector<std::optional<std::string>>& rows) {
    decode_outcome outcome;
    for (const auto& row : rows) {
        const auto one = decode_as_one_batch(options, {row});
        outcome.rows.insert(outcome.rows.end(), one.rows.begin(), one.rows.end());
        outcome.dead.insert(outcome.dead.end(), one.dead.begin(), one.dead.end());
    }
    return outcome;
}

void check_same_outcome(const decode_outcome& batched, const decode_outcome& alone) {
    REQUIRE(batched.rows.size() == alone.rows.size());
    for (std::size_t r = 0; r < alone.rows.size(); ++r) {
        INFO("output row " << r);
        CHECK(batched.rows[r] == alone.rows[r]);
    }
    REQUIRE(batched.dead.size() == alone.dead.size());
    for (std::size_t d = 0; d < alone.dead.size(); ++d) {
        INFO("dead letter " << d << ": " << alone.dead[d].first);
        CHECK(batched.dead[d].first == alone.dead[d].first);
        CHECK(batched.dead[d].second == alone.dead[d].second);
    }
}

// Records that break the batch path's assumptions: each must come out of a batch exactly as
// it does alone, and must not change how its neighbours decode.
const std::vector<std::optional<std::string>> awkward_records = {
        std::string(R"({"sensor_id":"a","timestamp":1})"),
        std::string(R"({"sensor_id":"a","timestamp":1}{"sensor_id":"b","timestamp":2})"),
        std::string(R"({"sensor_id":"a","timestamp":1} {"x":1})"),
        std::string(R"({"sensor_id":"a","timestamp":1}})"),
        std::string(R"({"sensor_id":"a","timestamp":1}])"),
        std::string(R"({"sensor_id":"a","timestamp":1} garbage)"),
        std::string(R"({"sensor_id":"a","timestamp":1} 7)"),
        std::string(R"({"sensor_id":"a","timestamp":1} ")"),
        std::string(R"({"sensor_id":"a","timestamp":)"),
        std::string(R"({"sensor_id":"a","timestamp":1)"),
        std::string(R"({"sensor_id":"a","timestamp":12)"),
        std::string(R"(34})"),
        std::string(R"({"sensor_id":"abc)"),
        std::string(R"({"sensor_id":"abc\)"),
        std::string(R"(\"})"),
        std::string(R"(",")"),
        std::string(R"("})"),
        std::string(R"(})"),
        std::string(R"({)"),
        std::string(R"(}{)"),
        std::string(R"({"x":{"b":1})"),
        std::string(R"(}})"),
        std::string(R"({"sensor_id":"a",)"),
        std::string(R"("timestamp":3})"),
        std::string(R"({"sensor_id":"a","timestamp":1,"junk":{"deep":[1,2,{"x":"}"}]}})"),
        std::string(R"({"sensor_id":"a","timestamp":1,"junk":tru})"),
        std::string(R"({"sensor_id":"a","timestamp":1,})"),
        std::string(R"({"sensor_id":"a" "timestamp":1})"),
        std::string(R"({"sensor_id":"a\q","timestamp":1})"),
        std::string(R"({"sensor_id":"\u00e9\ud83d\ude00","timestamp":1})"),
        std::string(R"({"sensor_id":null,"timestamp":1})"),
        std::string(R"({"sensor_id":"a"})"),
        std::string(R"({"sensor_id":"a","timestamp":"2024-05-01T12:00:00Z","hour_of_day":7.0})"),
        std::string(R"({"sensor_id":"a","timestamp":1,"hour_of_day":7.5})"),
        std::string(R"({"sensor_id":"a","timestamp":1,"status_flag":nul})"),
        std::string(R"([{"sensor_id":"a","timestamp":1}])"),
        std::string(R"("just a string")"),
        std::string(R"(42)"),
        std::string(R"(null)"),
        std::string(R"(this is not json)"),
        std::string("{\"sensor_id\":\"\xff\",\"timestamp\":1}"),
        std::string("{\"sensor_id\":\"a\x01\",\"timestamp\":1}"),
        std::string("{\"sensor_id\":\"a\",\"timestamp\":1}\xc3"),
        std::string("\xa9{\"sensor_id\":\"a\",\"timestamp\":1}"),
        std::string("  \n{\"sensor_id\":\"a\",\"timestamp\":1}\t\r\n "),
        std::string(""),
        std::string("   "),
        std::string("\n"),
        std::nullopt,
};

}  // namespace

TEST_CASE(
        "json_decode gives a batch of good and broken records the outputs and dead letters "
        "it gives each record alone",
        "[json]") {
    const std::vector<std::pair<std::string, std::string>> options = {
            sensor_schema, {"required", "[sensor_id, timestamp]"}};
    SECTION("each awkward record between good ones") {
        std::vector<std::optional<std::string>> rows;
        for (std::size_t i = 0; i < awkward_records.size(); ++i) {
            rows.emplace_back(sensor_record(static_cast<int>(2 * i)));
            rows.push_back(awkward_records[i]);
            rows.emplace_back(sensor_record(static_cast<int>(2 * i + 1)));
        }
        const auto batched = decode_as_one_batch(options, rows);
        check_same_outcome(batched, decode_one_by_one(options, rows));
        CHECK(batched.rows.size() + batched.dead.size() == rows.size());
    }
    SECTION("each awkward record last, after good ones") {
        for (const auto& awkward : awkward_records) {
            INFO("last record: " << awkward.value_or("(null)"));
            std::vector<std::optional<std::string>> rows;
            for (int i = 0; i < 9; ++i) {
                rows.emplace_back(sensor_record(i));
            }
            rows.push_back(awkward);
            check_same_outcome(decode_as_one_batch(options, rows),
                               decode_one_by_one(options, rows));
        }
    }
    SECTION("random mixes, longer than one stream") {
        const auto seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : std::random_device{}();
        INFO("seed " << seed << " (rerun with --rng-seed " << seed << ")");
        std::mt19937_64 rng(seed);
        for (int round = 0; round < 40; ++round) {
            std::vector<std::optional<std::string>> rows;
            const std::size_t size = 8 + rng() % 400;
            const unsigned broken_per_mille =
                    round % 4 == 0 ? 900 : static_cast<unsigned>(rng() % 120);
            for (std::size_t i = 0; i < size; ++i) {
                if (rng() % 1000 < broken_per_mille) {
                    rows.push_back(awkward_records[rng() % awkward_records.size()]);
                } else {
                    rows.emplace_back(sensor_record(static_cast<int>(rng() % 10000)));
                }
            }
            INFO("round " << round << ", " << size << " rows");
            check_same_outcome(decode_as_one_batch(options, rows),
                               decode_one_by_one(options, rows));
        }
    }
}

namespace {

// Value spellings for the flat path (row_decoder::decode_flat), which reads plain forms
// itself and leaves every other one to simdjson: each list mixes forms it reads, forms it
// declines that simdjson accepts, and forms both reject.
const std::vector<std::string> float_spellings = {"23.5",
                                                  "0",
                                                  "-0",
                                                  "-0.0",
                                                  "0.5",
                                                  "23",
                                                  "-17.25",
                                                  "1e3",
                                                  "1E-2",
                                                  "2.5e+1",
                                                  "01",
                                                  "1.",
                                                  ".5",
                                                  "-",
                                                  "--1",
                                                  "+1",
                                                  "23.51x",
                                                  "9007199254740991",
                                                  "9007199254740992",
                                                  "9007199254740993",
                                                  "123456789012345678",
                                                  "1234567890123456789",
                                                  "12345678901234567890",
                                                  "0.1",
                                                  "0.30000000000000004",
                                                  "3.141592653589793238",
                                                  "0.000000000000000001",
                                                  "0.0000000000000000001",
                                                  "2.2250738585072014e-308",
                                                  "1.7976931348623157e308",
                                                  "1e400",
                                                  "\"23.5\"",
                                                  "null",
                                                  "nul",
                                                  "nullx",
                                                  "true",
                                                  "[1]",
                                                  "{}",
                                                  "0x10",
                                                  "1.5.2",
                                                  "1 2"};
const std::vector<std::string> int_spellings = {"7",
                                                "-7",
                                                "0",
                                                "-0",
                                                "07",
                                                "7.0",
                                                "7.5",
                                                "1e3",
                                                "-",
                                                "999999999999999999",
                                                "-999999999999999999",
                                                "1000000000000000000",
                                                "9223372036854775807",
                                                "9223372036854775808",
                                                "-9223372036854775808",
                                                "\"7\"",
                                                "null",
                                                "true",
                                                "7x",
                                                "[]"};
const std::vector<std::string> timestamp_spellings = {"1764140000123",
                                                      "-1",
                                                      "0",
                                                      "1764140000123.0",
                                                      "1.5",
                                                      "\"2024-05-01T12:00:00Z\"",
                                                      "\"2024-05-01\"",
                                                      "\"2024-02-30T00:00:00Z\"",
                                                      "\"2024-05-01 12:00:00.123456+02:00\"",
                                                      "\"2024-05-01T12:00:00\\u005a\"",
                                                      "\"yesterday\"",
                                                      "\"\"",
                                                      "null",
                                                      "false",
                                                      "\"2024-05-01"};
const std::vector<std::string> bool_spellings = {
        "true", "false", "tru", "truex", "falsey", "null", "1", "\"true\"", "True", "f"};
const std::vector<std::string> string_spellings = {"\"plain\"",
                                                   "\"\"",
                                                   "\"sensor-0042\"",
                                                   "\"building-2/floor-3\"",
                                                   "\"exactly sixteen!\"",
                                                   "\"fifteen bytes!!\"",
                                                   "\"seventeen bytes!!\"",
                                                   "\"a string of forty bytes, more than a word\"",
                                                   "\"with \\\"quotes\\\"\"",
                                                   "\"\\u00e9\\ud83d\\ude00\"",
                                                   "\"caf\xc3\xa9 \xe2\x82\xac\"",
                                                   "\"bad \xff byte\"",
                                                   "\"cut \xc3\"",
                                                   "\"ctrl \x01 char\"",
                                                   "\"tab\\t\"",
                                                   "\"bad \\q escape\"",
                                                   "\"slash \\/\"",
                                                   "\"back\\\\slash\"",
                                                   "\"unclosed",
                                                   "null",
                                                   "123",
                                                   "{}",
                                                   "[\"a\"]",
                                                   "true"};
const std::vector<std::string> skipped_spellings = {"tru",
                                                    "{\"a\":[1,2]}",
                                                    "[1,\"}\"]",
                                                    "\"s\\\"\"",
                                                    "\"\\q\"",
                                                    "-",
                                                    "1.2.3",
                                                    "\xc3\xa9",
                                                    "null",
                                                    "\"\xff\"",
                                                    "",
                                                    "{",
                                                    "]",
                                                    "\"open",
                                                    "1e999",
                                                    "\"\x01\"",
                                                    "\"\\\x01\""};  // escaped control character
const std::vector<std::string> blanks = {"", "", "", " ", "\t", "\n  ", "\r\n"};

template <typename T>
const T& pick(const std::vector<T>& from, std::mt19937_64& rng) {
    return from[rng() % from.size()];
}

/// A number of 1-20 integer digits and, if `fraction`, 1-20 fraction digits: both sides of
/// every digit-count limit of the flat path (18 digits, 2^53), read a word at a time.
std::string random_number(std::mt19937_64& rng, bool fraction) {
    std::string out = rng() % 4 == 0 ? "-" : "";
    const auto digits = 1 + rng() % 20;
    for (std::size_t d = 0; d < digits; ++d) {
        out += static_cast<char>('0' + (d == 0 && digits > 1 ? 1 + rng() % 9 : rng() % 10));
    }
    if (fraction) {
        out += '.';
        for (auto d = 1 + rng() % 20; d > 0; --d) {
            out += static_cast<char>('0' + rng() % 10);
        }
    }
    return out;
}

/// A seed-like record with random spellings, spacing, key order, extra, duplicated, escaped
/// and missing keys; sometimes cut short or followed by more bytes.
std::string flat_path_record(std::mt19937_64& rng) {
    std::vector<std::pair<std::string, std::string>> members = {
            {"sensor_id", "\"sensor-0042\""},
            {"temperature", "23.51"},
            {"humidity", "45.2"},
            {"timestamp", "1764140000123"},
            {"hour_of_day", "7"},
            {"day_of_week", "3"},
            {"status_flag", "0"},
            {"location", "\"building-2/floor-3\""},
            {"is_anomaly", "false"}};
    const auto changes = 1 + rng() % 3;
    for (std::size_t c = 0; c < changes; ++c) {
        auto& member = members[rng() % members.size()];
        const auto& key = member.first;
        if (key == "sensor_id" || key == "location") {
            member.second = pick(string_spellings, rng);
        } else if (key == "temperature" || key == "humidity") {
            member.second = rng() % 2 == 0 ? random_number(rng, rng() % 2 == 0)
                                           : pick(float_spellings, rng);
        } else if (key == "timestamp") {
            member.second = pick(timestamp_spellings, rng);
        } else if (key == "is_anomaly") {
            member.second = pick(bool_spellings, rng);
        } else {
            member.second =
                    rng() % 2 == 0 ? random_number(rng, rng() % 8 == 0) : pick(int_spellings, rng);
        }
    }
    switch (rng() % 8) {
        case 0:
            members.insert(members.begin() + static_cast<std::ptrdiff_t>(rng() % members.size()),
                           {"junk", pick(skipped_spellings, rng)});
            break;
        case 1:
            members.push_back(members[rng() % members.size()]);  // duplicated, last wins
            members.back().second = pick(int_spellings, rng);
            break;
        case 2:
            members.erase(members.begin() + static_cast<std::ptrdiff_t>(rng() % members.size()));
            break;
        case 3:
            std::shuffle(members.begin(), members.end(), rng);
            break;
        case 4:
            members[rng() % members.size()].first = "sensor\\u005fid";  // escaped key
            break;
        default:
            break;
    }
    std::string out = pick(blanks, rng) + "{";
    for (std::size_t m = 0; m < members.size(); ++m) {
        out += pick(blanks, rng) + "\"" + members[m].first + "\"" + pick(blanks, rng) + ":" +
               pick(blanks, rng) + members[m].second + pick(blanks, rng);
        if (m + 1 < members.size()) {
            out += ",";
        }
    }
    out += "}" + pick(blanks, rng);
    switch (rng() % 16) {
        case 0:
            out.resize(rng() % out.size());
            break;
        case 1:
            out += " {\"x\":1}";
            break;
        case 2:
            out += "}";
            break;
        default:
            break;
    }
    return out;
}

const std::pair<std::string, std::string> seed_schema{
        "schema",
        "{sensor_id: string, temperature: float64, humidity: float64, timestamp: timestamp_ms, "
        "hour_of_day: int64, day_of_week: int64, status_flag: int64, location: string, "
        "is_anomaly: bool}"};

}  // namespace

TEST_CASE("json_decode reads plain and unusual spellings in a batch as it reads each alone",
          "[json]") {
    const auto seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : std::random_device{}();
    INFO("seed " << seed << " (rerun with --rng-seed " << seed << ")");
    std::mt19937_64 rng(seed);
    const std::vector<std::pair<std::string, std::string>> options = {
            seed_schema, {"required", "[sensor_id, timestamp]"}};
    SECTION("one unusual record among good ones (the flat path reads or declines it)") {
        for (int round = 0; round < 400; ++round) {
            std::vector<std::optional<std::string>> rows;
            for (int i = 0; i < 9; ++i) {
                rows.emplace_back(sensor_record(static_cast<int>(rng() % 10000)));
            }
            const auto unusual = flat_path_record(rng);
            rows.insert(rows.begin() + static_cast<std::ptrdiff_t>(rng() % rows.size()), unusual);
            INFO("round " << round << ": " << unusual);
            check_same_outcome(decode_as_one_batch(options, rows),
                               decode_one_by_one(options, rows));
        }
    }
    SECTION("batches of unusual records (the flat path hands over to the stream path)") {
        for (int round = 0; round < 20; ++round) {
            std::vector<std::optional<std::string>> rows;
            const std::size_t size = 8 + rng() % 300;
            for (std::size_t i = 0; i < size; ++i) {
                rows.emplace_back(flat_path_record(rng));
            }
            INFO("round " << round << ", " << size << " rows");
            check_same_outcome(decode_as_one_batch(options, rows),
                               decode_one_by_one(options, rows));
        }
    }
}

TEST_CASE(
        "json_decode copies strings with and without escapes exactly, nulls included, in batches "
        "with broken records",
        "[json]") {
    // Strings without a backslash are copied straight from the input (32 bytes at a time where
    // the input has room), others unescaped by simdjson; nulls past 64 rows exercise the
    // validity words; the last record ends the input column.
    std::vector<std::optional<std::string>> rows;
    std::vector<std::optional<std::string>> expected;  // location per accepted row
    const std::vector<std::pair<std::string, std::string>> spellings = {
            {"\"\"", ""},
            {"\"x\"", "x"},
            {"\"fifteen bytes!!\"", "fifteen bytes!!"},
            {"\"exactly sixteen!\"", "exactly sixteen!"},
            {"\"seventeen bytes!!\"", "seventeen bytes!!"},
            {"\"a string of forty bytes, more than a word\"",
             "a string of forty bytes, more than a word"},
            {"\"caf\xc3\xa9\"", "caf\xc3\xa9"},
            {"\"say \\\"hi\\\"\"", "say \"hi\""},
            {"\"\\u00e9t\\u00e9\"", "\xc3\xa9t\xc3\xa9"},
            {"\"tab\\there\"", "tab\there"},
            {fmt::format("\"{}\"", std::string(32, 'w')), std::string(32, 'w')},
            {fmt::format("\"{}\"", std::string(33, 'w')), std::string(33, 'w')}};
    for (int i = 0; i < 150; ++i) {
        if (i % 37 == 5) {
            rows.emplace_back(R"({"sensor_id":"s","timestamp":1,"location":"open)");
            continue;
        }
        if (i % 41 == 7) {
            rows.emplace_back(R"({"sensor_id":"s","timestamp":1,"location":"a\qb"})");
            continue;
        }
        const bool null_location = i == 63 || i == 64 || i == 65 || i == 128 || i % 11 == 3;
        const auto& [text, value] = spellings[static_cast<std::size_t>(i) % spellings.size()];
        rows.emplace_back(fmt::format(R"({{"sensor_id":"s{}","timestamp":{},"location":{}}})",
                                      i,
                                      i,
                                      null_location ? "null" : text));
        expected.emplace_back(null_location ? std::nullopt : std::optional<std::string>(value));
    }
    rows.emplace_back(R"({"sensor_id":"last","timestamp":9,"location":"end"})");
    expected.emplace_back("end");

    decode_run run({{"schema", "{sensor_id: string, timestamp: timestamp_ms, location: string}"},
                    {"required", "[sensor_id, timestamp]"}},
                   raw_batch(rows));
    REQUIRE(run.out.num_rows() == expected.size());
    CHECK(run.dead.items.size() == rows.size() - expected.size());
    const column& location = run.col("location");
    std::size_t nulls = 0;
    for (std::size_t r = 0; r < expected.size(); ++r) {
        INFO("row " << r);
        REQUIRE(location.is_valid(r) == expected[r].has_value());
        if (expected[r]) {
            CHECK(location.string_at(r) == *expected[r]);
        } else {
            CHECK(location.string_at(r).empty());
            ++nulls;
        }
    }
    CHECK(location.null_count() == nulls);
    CHECK(run.col("sensor_id").string_at(expected.size() - 1) == "last");
    CHECK_FALSE(run.col("sensor_id").has_nulls());
}
