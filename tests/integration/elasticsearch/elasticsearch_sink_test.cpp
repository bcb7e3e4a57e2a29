// The elasticsearch sink against the real node: every document indexed once, documents that
// conflict with the mapping dead-lettered with the node's reason, and a kill -9 of the
// pipeline followed by a replay that overwrites instead of duplicating.
#include "es_test_support.hpp"

#include <sluice/core/row_json.hpp>
#include <sluice/ops/generator.hpp>
#include <sluice/sluice.hpp>

#include <fmt/format.h>

#include <spawn.h>
#include <sys/wait.h>

#include <csignal>
#include <fstream>
#include <random>

extern char** environ;

using namespace sluice;
namespace fs = std::filesystem;

namespace {

run_summary run_yaml(const std::string& yaml) {
    register_builtin_operators();
    auto p = load_pipeline_from_string(yaml, "elasticsearch_sink_test.yaml");
    return p->run();
}

// The simulator's records, as the generator source emits them for these settings.
batch simulated(std::uint64_t seed, std::size_t sensors, std::size_t count, double anomaly_rate) {
    simulator_config config;
    config.seed = seed;
    config.sensors = sensors;
    config.anomaly_rate = anomaly_rate;
    sensor_simulator sim(config);
    return sim.next_columns(count);
}

}  // namespace

TEST_CASE("200,000 generated records are all indexed and read back equal", "[elasticsearch]") {
    es_test::require_node();
    const std::string index = es_test::unique_index("sluice-it-bulk");
    const auto dir = es_test::temp_dir("sluice-es-bulk");
    constexpr std::size_t total = 200'000;
    const std::string yaml = fmt::format(R"yaml(
name: es_bulk
dead_letter: {{type: file, path: {dir}/dead-letter.ndjson}}
sources:
  fleet: {{type: generator, sensors: 100, count: {total}, seed: 7, emit: columns,
           batch: {{max_records: 2000}}}}
sinks:
  es: {{type: elasticsearch, inputs: [fleet], url: "{url}", index: {index},
        template: {{name: {index}}}, concurrency: 2}}
)yaml",
                                         fmt::arg("dir", dir.string()),
                                         fmt::arg("total", total),
                                         fmt::arg("url", es_test::base_url()),
                                         fmt::arg("index", index));
    register_builtin_operators();
    auto p = load_pipeline_from_string(yaml, "elasticsearch_sink_test.yaml");
    const auto summary = p->run();
    CHECK(summary.records_read == total);
    CHECK(summary.records_rejected == 0);
    CHECK(es_test::count_of(index) == static_cast<std::int64_t>(total));
    // Each document was timed once, when the node had answered for it (the sink does it; the
    // runtime, which would time it when consume() returned, leaves it alone).
    const auto* es_metrics = p->metrics().back();
    REQUIRE(es_metrics->id == "es");
    CHECK(es_metrics->event_latency.count() == total);

    // The explicit mapping from the input schema was applied.
    const auto mapping = es_test::request("GET", "/" + index + "/_mapping");
    CHECK(mapping.body.find(R"("timestamp":{"type":"date")") != std::string::npos);
    CHECK(mapping.body.find(R"("sensor_id":{"type":"keyword"})") != std::string::npos);
    CHECK(mapping.body.find(R"("temperature":{"type":"double"})") != std::string::npos);

    // A sample of documents, fetched by their position ids, equals the input records.
    const batch expected = simulated(7, 100, total, 0.01);
    row_json_writer writer(*expected.schema());
    std::mt19937_64 random(12345);
    std::uniform_int_distribution<std::size_t> pick(0, total - 1);
    std::vector<std::size_t> rows = {0, total - 1};
    for (int i = 0; i < 200; ++i) {
        rows.push_back(pick(random));
    }
    std::string docs = R"({"ids":[)";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        docs += fmt::format(R"({}"0-{}")", i == 0 ? "" : ",", rows[i]);
    }
    docs += "]}";
    const auto got = es_test::request("POST", "/" + index + "/_mget", docs);
    REQUIRE(got.status == 200);
    simdjson::dom::parser parser;
    simdjson::dom::parser row_parser;
    const simdjson::padded_string padded(got.body);
    const auto list = parser.parse(padded)["docs"].get_array().value();
    REQUIRE(list.size() == rows.size());
    std::size_t i = 0;
    for (auto doc : list) {
        INFO("row " << rows[i]);
        REQUIRE(doc["found"].get_bool().value());
        std::string want;
        writer.append_row(want, expected, rows[i]);
        // Compare as JSON values, field by field, not as text.
        const simdjson::padded_string want_padded(want);
        const auto want_object = row_parser.parse(want_padded).get_object().value();
        const auto source = doc["_source"].get_object().value();
        std::size_t fields = 0;
        for (auto field : want_object) {
            ++fields;
            CHECK(simdjson::minify(source[field.key]) == simdjson::minify(field.value));
        }
        CHECK(source.size() == fields);
        ++i;
    }
    es_test::request("DELETE", "/" + index);
    es_test::request("DELETE", "/_index_template/" + index);
    fs::remove_all(dir);
}

TEST_CASE("documents that conflict with the mapping go to the dead-letter file with the reason",
          "[elasticsearch]") {
    es_test::require_node();
    const std::string index = es_test::unique_index("sluice-it-conflict");
    const auto dir = es_test::temp_dir("sluice-es-conflict");
    constexpr std::size_t total = 20'000;
    // `code` is mapped as long; anomalies carry the text 'spike', which cannot be a long.
    const std::string yaml = fmt::format(R"yaml(
name: es_conflict
dead_letter: {{type: file, path: {dir}/dead-letter.ndjson}}
sources:
  fleet: {{type: generator, sensors: 50, count: {total}, seed: 11, anomaly_rate: 0.05,
           emit: columns, batch: {{max_records: 1000}}}}
transforms:
  coded: {{type: map, inputs: [fleet], columns: {{code: "if(is_anomaly, 'spike', '42')"}}}}
sinks:
  es: {{type: elasticsearch, inputs: [coded], url: "{url}", index: {index},
        template: {{name: {index}, mappings: {{code: long, temperature: float}}}}}}
)yaml",
                                         fmt::arg("dir", dir.string()),
                                         fmt::arg("total", total),
                                         fmt::arg("url", es_test::base_url()),
                                         fmt::arg("index", index));
    const auto summary = run_yaml(yaml);

    const batch expected = simulated(11, 50, total, 0.05);
    const auto& anomaly =
            expected.column_at(*expected.schema()->index_of("is_anomaly")).bool_values();
    std::size_t spikes = 0;
    for (const auto a : anomaly) {
        spikes += a;
    }
    REQUIRE(spikes > 100);
    CHECK(summary.records_rejected == spikes);
    CHECK(es_test::count_of(index) == static_cast<std::int64_t>(total - spikes));

    const std::string dead = es_test::read_text(dir / "dead-letter.ndjson");
    std::size_t lines = 0;
    simdjson::dom::parser parser;
    std::istringstream in(dead);
    std::string line;
    while (std::getline(in, line)) {
        ++lines;
        INFO(line);
        const simdjson::padded_string padded(line);
        const auto record = parser.parse(padded);
        const std::string reason(record["reason"].get_string().value());
        CHECK(reason.rfind("document_parsing_exception: ", 0) == 0);  // "<type>: <reason>"
        CHECK(reason.find("[code]") != std::string::npos);
        CHECK(std::string(record["operator_type"].get_string().value()) == "elasticsearch");
        // The payload is the document: embedded as JSON, or as a JSON string holding it
        // (depending on the dead-letter writer).
        simdjson::dom::element payload = record["payload"];
        std::string payload_text;
        if (payload.is_string()) {
            payload_text = std::string(payload.get_string().value());
        } else {
            payload_text = simdjson::minify(payload);
        }
        simdjson::dom::parser payload_parser;
        const simdjson::padded_string payload_padded(payload_text);
        const auto doc = payload_parser.parse(payload_padded);
        CHECK(std::string(doc["code"].get_string().value()) == "spike");
        CHECK(doc["is_anomaly"].get_bool().value());
    }
    CHECK(lines == spikes);
    es_test::request("DELETE", "/" + index);
    es_test::request("DELETE", "/_index_template/" + index);
    fs::remove_all(dir);
}

TEST_CASE("a dead-letter sink that fails on the I/O thread fails the run, not the process",
          "[elasticsearch]") {
    // Rejected documents are dead-lettered from the sink's I/O thread, where an exception would
    // end the process. A dead-letter file that cannot be opened (its parent is a file) must
    // fail the pipeline with the reason instead.
    es_test::require_node();
    const std::string index = es_test::unique_index("sluice-it-dlfail");
    const auto dir = es_test::temp_dir("sluice-es-dlfail");
    {
        std::ofstream blocker(dir / "not-a-directory");
        blocker << "x";
    }
    const std::string yaml = fmt::format(R"yaml(
name: es_dead_letter_fails
dead_letter: {{type: file, path: {dir}/not-a-directory/dead-letter.ndjson}}
sources:
  fleet: {{type: generator, sensors: 50, count: 2000, seed: 11, anomaly_rate: 0.05,
           emit: columns, batch: {{max_records: 1000}}}}
transforms:
  coded: {{type: map, inputs: [fleet], columns: {{code: "if(is_anomaly, 'spike', '42')"}}}}
sinks:
  es: {{type: elasticsearch, inputs: [coded], url: "{url}", index: {index},
        template: {{name: {index}, mappings: {{code: long}}}}}}
)yaml",
                                         fmt::arg("dir", dir.string()),
                                         fmt::arg("url", es_test::base_url()),
                                         fmt::arg("index", index));
    CHECK_THROWS_WITH(run_yaml(yaml),
                      Catch::Contains("the dead-letter sink failed") &&
                              Catch::Contains("cannot create directory"));
    es_test::request("DELETE", "/" + index);
    es_test::request("DELETE", "/_index_template/" + index);
    fs::remove_all(dir);
}

TEST_CASE("kill -9 of the pipeline and a replay leave every record exactly once",
          "[elasticsearch]") {
    es_test::require_node();
    const fs::path cli = fs::path(SLUICE_BINARY_DIR) / "sluice";
    INFO("the sluice CLI is not built at " << cli << " (build target sluice_cli)");
    REQUIRE(fs::exists(cli));
    const std::string index = es_test::unique_index("sluice-it-replay");
    const auto dir = es_test::temp_dir("sluice-es-replay");
    constexpr std::size_t total = 50'000;
    // Paced, so the kill lands mid-run; the replay runs unpaced (other batch cuts, same ids).
    const fs::path yaml = dir / "replay.yaml";
    const std::string text = fmt::format(R"yaml(
name: es_replay
dead_letter: {{type: file, path: {dir}/dead-letter.ndjson}}
sources:
  fleet: {{type: generator, sensors: 100, count: {total}, seed: 5, rate: 10000, emit: columns,
           batch: {{max_records: 1000, max_latency: 50ms}}}}
sinks:
  es: {{type: elasticsearch, inputs: [fleet], url: "{url}", index: {index},
        template: {{name: {index}}}, max_docs: 2000, max_latency: 200ms}}
)yaml",
                                         fmt::arg("dir", dir.string()),
                                         fmt::arg("total", total),
                                         fmt::arg("url", es_test::base_url()),
                                         fmt::arg("index", index));
    std::ofstream(yaml) << text;
    const fs::path replay_yaml = dir / "replay-unpaced.yaml";
    std::string unpaced = text;
    unpaced.replace(unpaced.find("rate: 10000"), 11, "rate: 0");
    std::ofstream(replay_yaml) << unpaced;

    auto spawn = [&](std::vector<std::string> args) {
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        pid_t pid = 0;
        REQUIRE(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
        return pid;
    };

    const pid_t first = spawn({cli.string(), "run", yaml.string(), "--quiet"});
    std::int64_t before_kill = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
        const auto r = es_test::request("GET", "/" + index + "/_count");
        if (r.status == 200) {
            simdjson::dom::parser parser;
            const simdjson::padded_string padded(r.body);
            before_kill = parser.parse(padded)["count"].get_int64().value();
            if (before_kill >= 5'000) {
                break;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(::kill(first, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(first, &status, 0) == first);
    REQUIRE(WIFSIGNALED(status));
    const auto after_kill = es_test::count_of(index);
    INFO("indexed when killed: " << after_kill);
    REQUIRE(after_kill >= 5'000);
    REQUIRE(after_kill < static_cast<std::int64_t>(total));  // the kill did land mid-run

    const pid_t second = spawn({cli.string(), "run", replay_yaml.string(), "--quiet"});
    REQUIRE(::waitpid(second, &status, 0) == second);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);

    CHECK(es_test::count_of(index) == static_cast<std::int64_t>(total));
    std::size_t hits = 0;
    const auto ids = es_test::all_ids(index, hits);
    CHECK(hits == total);
    CHECK(ids.size() == total);
    CHECK(ids.count("0-0") == 1);
    CHECK(ids.count(fmt::format("0-{}", total - 1)) == 1);
    es_test::request("DELETE", "/" + index);
    es_test::request("DELETE", "/_index_template/" + index);
    fs::remove_all(dir);
}
