// The search node stopped for 20 s in the middle of a run and started again with its data:
// nothing is lost, and while the node is down the sink holds the source back instead of
// buffering: the source reads little while the node is down, and the sink's peak buffered
// bytes stay within max_pending_bytes plus one batch.
//
// No check of the process's RSS: at this size, buffering every remaining record would add
// about 20 MB, within what the allocator and threads vary by, so such a check could not fail.
// The two checks above can: a sink that let batches go before indexing them would let the
// source read ~60,000 records during the outage, and max_pending_bytes (512 KiB) is set below
// what the flight slots alone would let the sink hold (16 batches of 500 documents, ~2 MB).
//
// Disruptive: it stops the shared node, so ctest runs it alone (RUN_SERIAL).
#include "es_test_support.hpp"

#include <sluice/sluice.hpp>

#include <fmt/format.h>

#include <mutex>
#include <regex>

using namespace sluice;
namespace fs = std::filesystem;

namespace {

int services(const std::string& verb) {
    const std::string command = fmt::format(
            "KEEP_DATA=1 {}/scripts/services {} search > /dev/null 2>&1", SLUICE_SOURCE_DIR, verb);
    return std::system(command.c_str());
}

}  // namespace

TEST_CASE("the node stopped for 20 s mid-run loses nothing and memory stays bounded",
          "[elasticsearch][outage]") {
    es_test::require_node();
    const std::string index = es_test::unique_index("sluice-it-outage");
    const auto dir = es_test::temp_dir("sluice-es-outage");
    constexpr std::size_t total = 80'000;
    constexpr std::size_t max_pending = 512 << 10;
    const std::string yaml = fmt::format(R"yaml(
name: es_outage
dead_letter: {{type: file, path: {dir}/dead-letter.ndjson}}
sources:
  fleet: {{type: generator, sensors: 100, count: {total}, seed: 3, rate: 4000, emit: columns,
           batch: {{max_records: 500, max_latency: 50ms}}}}
sinks:
  es: {{type: elasticsearch, inputs: [fleet], url: "{url}", index: {index},
        template: {{name: {index}}}, max_docs: 1000, max_bytes: 262144, max_latency: 200ms,
        max_pending_bytes: {pending}, retry: {{initial_backoff: 100ms, max_backoff: 2s}},
        connect_timeout: 2s, request_timeout: 20s, flush_timeout: 180s}}
)yaml",
                                         fmt::arg("dir", dir.string()),
                                         fmt::arg("total", total),
                                         fmt::arg("url", es_test::base_url()),
                                         fmt::arg("index", index),
                                         fmt::arg("pending", max_pending));

    // The sink's end-of-run log line reports its peak buffered bytes.
    std::mutex log_mutex;
    std::string sink_summary;
    set_log_sink([&](log_level, std::string_view line) {
        if (line.find("peak buffered") != std::string_view::npos) {
            std::lock_guard lock(log_mutex);
            sink_summary = std::string(line);
        }
    });

    register_builtin_operators();
    auto p = load_pipeline_from_string(yaml, "elasticsearch_outage_test.yaml");
    es_test::background_run run(*p);

    // Let it index for a while, then take the node away for 20 s.
    const auto warmup_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < warmup_deadline) {
        const auto r = es_test::request("GET", "/" + index + "/_count");
        if (r.status == 200 && r.body.find(R"("count":0,)") == std::string::npos) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const std::uint64_t read_before = p->metrics().front()->records_out.load();

    REQUIRE(services("stop") == 0);
    std::this_thread::sleep_for(std::chrono::seconds(20));
    const std::uint64_t read_during = p->metrics().front()->records_out.load() - read_before;
    const int started = services("start");
    run.join();
    set_log_sink({});

    REQUIRE(started == 0);
    INFO("run error: " << run.error);
    REQUIRE(run.error.empty());
    // While the node was down, the source was held back: 20 s at 4000/s would be the whole
    // rest of the input (over 60,000 records); held, it reads at most its 16 batches in flight.
    INFO("records read while the node was down: " << read_during);
    CHECK(read_during < 20'000);

    CHECK(run.summary.records_read == total);
    CHECK(run.summary.records_rejected == 0);
    CHECK(es_test::count_of(index) == static_cast<std::int64_t>(total));
    std::size_t hits = 0;
    const auto ids = es_test::all_ids(index, hits);
    CHECK(ids.size() == total);

    // The sink never buffered more than its bound plus one batch (500 documents of under 400
    // bytes each); without the bound it would reach ~2 MB (the batches in flight).
    std::smatch m;
    INFO("sink summary: " << sink_summary);
    REQUIRE(std::regex_search(sink_summary, m, std::regex("peak buffered ([0-9]+) KB")));
    CHECK(std::stoll(m[1]) <= static_cast<long long>(max_pending / 1024 + 200));

    es_test::request("DELETE", "/" + index);
    es_test::request("DELETE", "/_index_template/" + index);
    fs::remove_all(dir);
}
