// The elasticsearch sink's delivery options against the real node: gzip bodies, a date
// pattern that spreads the records over one index per UTC day, an `_id` template that makes a
// second run overwrite instead of duplicating, a geo_point mapping and a refresh interval from
// the index template, and requests cut by max_bytes (several in flight) rather than by
// max_docs.
#include "es_test_support.hpp"

#include <sluice/ops/generator.hpp>
#include <sluice/sluice.hpp>

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <regex>

using namespace sluice;
namespace fs = std::filesystem;

namespace {

/// The UTC day of `ms` as the sink's `%Y.%m.%d` spells it.
std::string utc_day(std::int64_t ms) {
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    ::gmtime_r(&seconds, &tm);
    return fmt::format("{:04}.{:02}.{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

}  // namespace

TEST_CASE(
        "gzip, daily indices, an id template, geo_point and max_bytes requests work against the "
        "node",
        "[elasticsearch]") {
    es_test::require_node();
    const std::string stem = es_test::unique_index("sluice-it-options");
    const auto dir = es_test::temp_dir("sluice-es-options");
    constexpr std::size_t total = 3'000;
    constexpr std::size_t max_bytes = 16'384;
    // 10 sensors every 10 minutes: 300 ticks span about two days and a bit, so three indices.
    const std::string yaml = fmt::format(R"yaml(
name: es_options
dead_letter: {{type: file, path: {dir}/dead-letter.ndjson}}
sources:
  fleet: {{type: generator, sensors: 10, count: {total}, seed: 13, interval: 10m, emit: columns,
           batch: {{max_records: 500}}}}
transforms:
  placed: {{type: map, inputs: [fleet], columns: {{position: "'52.52,13.40'"}}}}
sinks:
  es: {{type: elasticsearch, inputs: [placed], url: "{url}", index: "{stem}-%Y.%m.%d",
        id: "{{sensor_id}}-{{timestamp}}", compression: gzip, concurrency: 3,
        max_docs: 100000, max_bytes: {max_bytes}, max_latency: 100ms,
        template: {{name: {stem}, mappings: {{position: geo_point, temperature: float}},
                    refresh_interval: 30s, translog_durability: async}}}}
)yaml",
                                         fmt::arg("dir", dir.string()),
                                         fmt::arg("total", total),
                                         fmt::arg("url", es_test::base_url()),
                                         fmt::arg("stem", stem),
                                         fmt::arg("max_bytes", max_bytes));

    std::mutex log_mutex;
    std::vector<std::string> summaries;
    set_log_sink([&](log_level, std::string_view line) {
        if (line.find("bulk requests") != std::string_view::npos) {
            std::lock_guard lock(log_mutex);
            summaries.emplace_back(line);
        }
    });
    register_builtin_operators();
    // Two runs of the same input: the second overwrites every document by its templated id.
    for (int run = 0; run < 2; ++run) {
        const auto summary =
                load_pipeline_from_string(yaml, "elasticsearch_options_test.yaml")->run();
        CHECK(summary.records_read == total);
        CHECK(summary.records_rejected == 0);
    }
    set_log_sink({});

    simulator_config config;
    config.sensors = 10;
    config.seed = 13;
    config.interval_ms = 600'000;
    sensor_simulator sim(config);
    const batch expected = sim.next_columns(total);
    const auto& times =
            expected.column_at(*expected.schema()->index_of("timestamp")).int64_values();
    const auto& sensors = *expected.find_column("sensor_id");
    const auto& temperatures = expected.find_column("temperature")->float64_values();
    std::map<std::string, std::int64_t> per_day;
    for (const auto t : times) {
        ++per_day[utc_day(t)];
    }
    REQUIRE(per_day.size() == 3);

    // One index per UTC day of event time, each holding exactly that day's records once.
    std::int64_t indexed = 0;
    for (const auto& [day, count] : per_day) {
        const std::string index = stem + "-" + day;
        INFO(index);
        CHECK(es_test::count_of(index) == count);
        indexed += count;
    }
    CHECK(indexed == static_cast<std::int64_t>(total));

    // Documents sit under their templated ids in the index of their day.
    for (const std::size_t row : {std::size_t{0}, total / 2, total - 1}) {
        const std::string id = fmt::format("{}-{}", sensors.string_at(row), times[row]);
        const auto got =
                es_test::request("GET", "/" + stem + "-" + utc_day(times[row]) + "/_doc/" + id);
        INFO("document " << id << ": " << got.body);
        REQUIRE(got.status == 200);
        simdjson::dom::parser parser;
        const simdjson::padded_string padded(got.body);
        const auto source = parser.parse(padded)["_source"];
        CHECK(source["temperature"].get_double().value() == Approx(temperatures[row]));
        CHECK(std::string(source["sensor_id"].get_string().value()) == sensors.string_at(row));
    }

    // The template's geo_point mapping took effect: a distance query finds every document.
    const std::string first_index = stem + "-" + per_day.begin()->first;
    const auto mapping = es_test::request("GET", "/" + first_index + "/_mapping");
    CHECK(mapping.body.find(R"("position":{"type":"geo_point"})") != std::string::npos);
    CHECK(mapping.body.find(R"("temperature":{"type":"float"})") != std::string::npos);
    const auto settings = es_test::request("GET", "/" + first_index + "/_settings");
    INFO(settings.body);
    CHECK(settings.body.find(R"("refresh_interval":"30000ms")") != std::string::npos);
    CHECK(settings.body.find(R"("translog":{"durability":"async"})") != std::string::npos);
    const auto near = es_test::request(
            "POST",
            "/" + stem + "-*/_count",
            R"({"query":{"geo_distance":{"distance":"1km","position":{"lat":52.52,"lon":13.4}}}})");
    INFO(near.body);
    REQUIRE(near.status == 200);
    CHECK(near.body.find(fmt::format(R"("count":{},)", total)) != std::string::npos);

    // max_bytes, not max_docs (100,000), cut the requests: each run needed many of them.
    REQUIRE(summaries.size() == 2);
    for (const auto& line : summaries) {
        INFO(line);
        std::smatch m;
        REQUIRE(std::regex_search(
                line, m, std::regex("([0-9]+) documents indexed in ([0-9]+) bulk requests")));
        CHECK(std::stoul(m[1]) == total);
        // Every document line is longer than 150 bytes: at least total * 150 / max_bytes requests.
        CHECK(std::stoul(m[2]) >= total * 150 / max_bytes);
    }

    for (const auto& [day, count] : per_day) {
        es_test::request("DELETE", "/" + stem + "-" + day);
    }
    es_test::request("DELETE", "/_index_template/" + stem);
    fs::remove_all(dir);
}
