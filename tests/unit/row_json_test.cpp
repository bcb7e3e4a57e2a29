#include <sluice/core/batch.hpp>
#include <sluice/core/row_json.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace sluice;

namespace {

std::string json_string(std::string_view text) {
    std::string out;
    append_json_string(out, text);
    return out;
}

std::string json_double(double value) {
    std::string out;
    append_json_double(out, value);
    return out;
}

/// Parses `text` with simdjson (the parser json_decode uses), which also checks UTF-8.
bool parses(simdjson::dom::parser& parser, std::string_view text, simdjson::dom::element& out) {
    return parser.parse(simdjson::padded_string(text)).get(out) == simdjson::SUCCESS;
}

std::string iso(std::int64_t ms) {
    std::string out;
    append_iso8601_ms(out, ms);
    return out;
}

/// A batch with one column of every type; row 1 holds only missing values.
batch mixed_batch() {
    auto name = std::make_shared<column>(data_type::string);
    auto temperature = std::make_shared<column>(data_type::float64);
    auto count = std::make_shared<column>(data_type::int64);
    auto ok = std::make_shared<column>(data_type::boolean);
    auto at = std::make_shared<column>(data_type::timestamp_ms);
    name->push_string("sensor \"7\"\n");
    temperature->push_float64(21.5);
    count->push_int64(-3);
    ok->push_bool(true);
    at->push_int64(1'767'225'600'123);
    name->push_null();
    temperature->push_null();
    count->push_null();
    ok->push_null();
    at->push_null();
    name->push_string("ünïcødé ✓");
    temperature->push_float64(20.0);
    count->push_int64(std::numeric_limits<std::int64_t>::max());
    ok->push_bool(false);
    at->push_int64(0);
    return batch(make_schema({{"name", data_type::string},
                              {"temperature", data_type::float64},
                              {"count", data_type::int64},
                              {"ok", data_type::boolean},
                              {"at", data_type::timestamp_ms}}),
                 {name, temperature, count, ok, at});
}

}  // namespace

TEST_CASE("json strings escape quotes, backslashes and control characters", "[row_json]") {
    CHECK(json_string("") == R"("")");
    CHECK(json_string("plain") == R"("plain")");
    CHECK(json_string("a\"b\\c") == R"("a\"b\\c")");
    CHECK(json_string("\n\r\t\b\f") == R"("\n\r\t\b\f")");
    CHECK(json_string(std::string_view("\x00\x01\x1f", 3)) == R"("\u0000\u0001\u001f")");
    CHECK(json_string("\x7f/") == "\"\x7f/\"");  // DEL and '/' need no escape
}

TEST_CASE("json strings pass UTF-8 through unchanged", "[row_json]") {
    CHECK(json_string("température 21 °C ✓ 😀") == "\"température 21 °C ✓ 😀\"");
    // Invalid UTF-8 is copied too: the fast path never inspects bytes >= 0x80.
    CHECK(json_string("\xff") == "\"\xff\"");
}

TEST_CASE("lossy json strings replace invalid UTF-8 with U+FFFD", "[row_json]") {
    const auto lossy = [](std::string_view text) {
        std::string out;
        append_json_string_lossy(out, text);
        return out;
    };
    CHECK(lossy("ok ✓ 😀\n") == "\"ok ✓ 😀\\n\"");
    CHECK(lossy("a\xff"
                "b") ==
          "\"a\xEF\xBF\xBD"
          "b\"");
    CHECK(lossy("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                  // overlong '/'
    CHECK(lossy("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
    CHECK(lossy("\xE2\x9C") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                  // truncated ✓
    simdjson::dom::parser parser;
    simdjson::dom::element parsed;
    REQUIRE(parses(parser, lossy("\xff\xfe\x01 x"), parsed));
    std::string_view text;
    REQUIRE(parsed.get(text) == simdjson::SUCCESS);
    CHECK(text == "\xEF\xBF\xBD\xEF\xBF\xBD\x01 x");
}

TEST_CASE("doubles are written in their shortest form and read back exactly", "[row_json]") {
    CHECK(json_double(21.37) == "21.37");
    CHECK(json_double(0.1) == "0.1");
    CHECK(json_double(21.0) == "21.0");
    CHECK(json_double(-3.0) == "-3.0");
    CHECK(json_double(0.0) == "0.0");
    CHECK(json_double(1e300) == "1e+300");
    CHECK(json_double(std::nan("")) == "null");
    CHECK(json_double(std::numeric_limits<double>::infinity()) == "null");
    CHECK(json_double(-std::numeric_limits<double>::infinity()) == "null");

    std::mt19937_64 rng(7);
    std::vector<double> values{1.0 / 3.0,
                               5e-324,
                               std::numeric_limits<double>::max(),
                               std::numeric_limits<double>::min(),
                               -0.0,
                               123456789012345678.0,
                               9007199254740993.0,
                               1e16,
                               1e-7};
    for (int i = 0; i < 2000; ++i) {
        std::uint64_t bits = rng();
        double value = 0;
        std::memcpy(&value, &bits, sizeof value);
        if (std::isfinite(value)) {
            values.push_back(value);
        }
        values.push_back(std::uniform_real_distribution<double>(-100, 100)(rng));
    }
    simdjson::dom::parser parser;
    for (const double value : values) {
        const std::string text = json_double(value);
        INFO(text);
        simdjson::dom::element parsed;
        REQUIRE(parses(parser, text, parsed));
        double read = 0;
        REQUIRE(parsed.get(read) == simdjson::SUCCESS);
        CHECK(read == value);
        CHECK(std::strtod(text.c_str(), nullptr) == value);
        CHECK(std::signbit(std::strtod(text.c_str(), nullptr)) == std::signbit(value));
    }
}

TEST_CASE("short decimals take a fast path that matches fmt's shortest text", "[row_json]") {
    std::mt19937_64 rng(11);
    for (int i = 0; i < 200'000; ++i) {
        const int places = static_cast<int>(rng() % 5);
        const double scale = std::pow(10.0, places);
        const auto units = static_cast<std::int64_t>(rng() % 4'000'000'000ULL) - 2'000'000'000LL;
        const double value = static_cast<double>(units) / scale * (rng() % 7 == 0 ? 1e6 : 1.0);
        std::string expected = fmt::format("{}", value);
        if (expected.find_first_of(".e") == std::string::npos) {
            expected += ".0";
        }
        INFO(expected);
        REQUIRE(json_double(value) == expected);
    }
    CHECK(json_double(-0.0) == "-0.0");
    CHECK(json_double(0.001) == "0.001");
    CHECK(json_double(-45.5) == "-45.5");
    CHECK(json_double(999999999999.999) == fmt::format("{}", 999999999999.999));
}

TEST_CASE("integers are written in full", "[row_json]") {
    std::string out;
    append_json_int(out, std::numeric_limits<std::int64_t>::min());
    out.push_back(' ');
    append_json_int(out, 0);
    out.push_back(' ');
    append_json_int(out, std::numeric_limits<std::int64_t>::max());
    CHECK(out == "-9223372036854775808 0 9223372036854775807");
}

TEST_CASE("timestamps format as ISO-8601 UTC with milliseconds", "[row_json]") {
    CHECK(iso(0) == "1970-01-01T00:00:00.000Z");
    CHECK(iso(1'767'225'600'000) == "2026-01-01T00:00:00.000Z");
    CHECK(iso(-1) == "1969-12-31T23:59:59.999Z");
    CHECK(iso(1'709'164'800'000 + 45'296'789) == "2024-02-29T12:34:56.789Z");
    CHECK(iso(253'402'300'799'999) == "9999-12-31T23:59:59.999Z");
}

TEST_CASE("ISO-8601 timestamps parse with dates, fractions and offsets", "[row_json]") {
    CHECK(parse_iso8601_ms("2026-01-01T00:00:00Z") == 1'767'225'600'000);
    CHECK(parse_iso8601_ms("2026-01-01") == 1'767'225'600'000);
    CHECK(parse_iso8601_ms("2026-01-01 00:00:00.250") == 1'767'225'600'250);
    CHECK(parse_iso8601_ms("2026-01-01T00:00:00.1234567Z") == 1'767'225'600'123);
    CHECK(parse_iso8601_ms("2026-01-01T02:00:00+02:00") == 1'767'225'600'000);
    CHECK(parse_iso8601_ms("2025-12-31T19:00-0500") == 1'767'225'600'000);
    CHECK(parse_iso8601_ms("1969-12-31T23:59:59.999Z") == -1);
    CHECK(parse_iso8601_ms("2024-02-29T12:34:56.789Z") == 1'709'164'800'000 + 45'296'789);
    for (std::int64_t ms : {0LL, 1LL, -86'400'001LL, 1'767'225'600'123LL, 4'102'444'800'000LL}) {
        CHECK(parse_iso8601_ms(iso(ms)) == ms);
    }
    CHECK_FALSE(parse_iso8601_ms(""));
    CHECK_FALSE(parse_iso8601_ms("2026-13-01"));
    CHECK_FALSE(parse_iso8601_ms("2025-02-29"));
    CHECK_FALSE(parse_iso8601_ms("2026-01-01T24:00:00Z"));
    CHECK_FALSE(parse_iso8601_ms("2026-01-01T00:00:00Zjunk"));
    CHECK_FALSE(parse_iso8601_ms("yesterday"));
    CHECK_FALSE(parse_iso8601_ms("2026-1-1"));
}

TEST_CASE("a row of every type becomes one JSON object with null for missing values",
          "[row_json]") {
    const batch rows = mixed_batch();
    const row_json_writer writer(*rows.schema());
    std::string out;
    writer.append_row(out, rows, 0);
    CHECK(out ==
          R"({"name":"sensor \"7\"\n","temperature":21.5,"count":-3,"ok":true,"at":1767225600123})");
    out.clear();
    writer.append_row(out, rows, 1);
    CHECK(out == R"({"name":null,"temperature":null,"count":null,"ok":null,"at":null})");
    out.clear();
    writer.append_row(out, rows, 2);
    CHECK(out ==
          R"({"name":"ünïcødé ✓","temperature":20.0,"count":9223372036854775807,"ok":false,"at":0})");
}

TEST_CASE("row json can skip missing values and write ISO timestamps", "[row_json]") {
    const batch rows = mixed_batch();
    const row_json_writer writer(*rows.schema(), {json_timestamp_format::iso8601, true});
    std::string out;
    writer.append_ndjson(out, rows);
    CHECK(out ==
          "{\"name\":\"sensor \\\"7\\\"\\n\",\"temperature\":21.5,\"count\":-3,\"ok\":true,"
          "\"at\":\"2026-01-01T00:00:00.123Z\"}\n"
          "{}\n"
          "{\"name\":\"ünïcødé ✓\",\"temperature\":20.0,\"count\":9223372036854775807,"
          "\"ok\":false,\"at\":\"1970-01-01T00:00:00.000Z\"}\n");
}

TEST_CASE("ndjson output is one valid JSON object per line with escaped keys", "[row_json]") {
    auto values = std::make_shared<column>(data_type::float64);
    for (int i = 0; i < 100; ++i) {
        values->push_float64(i * 0.1);
    }
    const batch rows(make_schema({{"odd \"key\"\t", data_type::float64}}), {values});
    std::string out = "prefix kept\n";
    row_json_writer(*rows.schema()).append_ndjson(out, rows);
    REQUIRE(out.rfind("prefix kept\n", 0) == 0);
    std::size_t start = out.find('\n') + 1;
    int lines = 0;
    simdjson::dom::parser parser;
    while (start < out.size()) {
        const std::size_t end = out.find('\n', start);
        REQUIRE(end != std::string::npos);
        simdjson::dom::element parsed;
        REQUIRE(parses(parser, std::string_view(out).substr(start, end - start), parsed));
        double value = -1;
        REQUIRE(parsed["odd \"key\"\t"].get(value) == simdjson::SUCCESS);
        CHECK(value == lines * 0.1);
        start = end + 1;
        ++lines;
    }
    CHECK(lines == 100);
}

TEST_CASE("append_json_value writes one cell", "[row_json]") {
    const batch rows = mixed_batch();
    std::string out;
    append_json_value(out, rows.column_at(4), 0, json_timestamp_format::iso8601);
    out.push_back(' ');
    append_json_value(out, rows.column_at(4), 1);
    out.push_back(' ');
    append_json_value(out, rows.column_at(1), 2);
    CHECK(out == R"("2026-01-01T00:00:00.123Z" null 20.0)");
}

TEST_CASE("a cursor writes rows whose strings need every byte escaped", "[row_json]") {
    auto text = std::make_shared<column>(data_type::string);
    std::vector<std::string> values;
    for (std::size_t n : {0, 1, 7, 300, 5000}) {
        std::string value;
        for (std::size_t i = 0; i < n; ++i) {
            value.push_back(static_cast<char>(i % 32));  // all control characters
        }
        values.push_back(value);
        text->push_string(value);
    }
    const batch rows(make_schema({{"t", data_type::string}}), {text});
    const row_json_writer writer(*rows.schema());
    auto cursor = writer.prepare(rows);
    CHECK(cursor.num_rows() == values.size());
    std::string expected;
    for (const std::string& value : values) {
        expected += "{\"t\":";
        append_json_string(expected, value);
        expected += "}\n";
    }
    std::string out;
    cursor.append_rows(out, 0, values.size());
    CHECK(out == expected);
    out.clear();
    cursor.append_row(out, 2, ',');
    CHECK(out == "{\"t\":\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\"},");
}
