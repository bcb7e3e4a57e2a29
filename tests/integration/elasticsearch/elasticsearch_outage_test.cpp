// The search node stopped for 20 s in the middle of a run and started again with its data:
// nothing is lost, and while the node is down the sink holds the source back instead of
// buffering (the process's memory and the sink's peak buffered bytes stay bounded).
//
// Disruptive: it stops the shared node, so ctest runs it alone (RUN_SERIAL).
#include "es_test_support.hpp"

#include <sluice/sluice.hpp>

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <regex>

using namespace sluice;
namespace fs = std::filesystem;

namespace {

int services(const std::string& verb) {
    const std::string command = fmt::format("KEEP_DATA=1 {}/scripts/services {} search > /dev/null 2>&1",
                                            SLUICE_SOURCE_DIR, verb);
    return std::system(command.c_str());
}

}  // namespace

TEST_CASE("the node stopped for 20 s mid-run loses nothing and memory stays bounded", "[elasticsearch][outage]") {
    es_test::require_node();
    const std::string index = es_test::unique_index("sluice-it-outage");
    const auto dir = es_test::temp_dir("sluice-es-outage");
    constexpr std::size_t total = 80'000;
    constexpr std::size_t max_pending = 4 << 20;
    const std::string yaml = fmt::format(R"yaml(
name: es_outage
dead_letter: {{type: file, path: {dir}/dead-letter.ndjson}}
sources:
  fleet: {{type: generator, sensors: 100, count: {total}, seed: 3, rate: 4000, emit: columns,
           batch: {{max_records: 500, max_latency: 50ms}}}}
sinks:
  es: {{type: elasticsearch, inputs: [fleet], url: "{url}", index: {index},
        template: {{name: {index}}}, max_docs: 1000, max_bytes: 1048576, max_latency: 200ms,
        max_pending_bytes: {pending}, retry: {{initial_backoff: 100ms, max_backoff: 2s}},
        connect_timeout: 2s, request_timeout: 20s, flush_timeout: 180s}}
)yaml",
                                         fmt::arg("dir", dir.string()), fmt::arg("total", total),
                                         fmt::arg("url", es_test::base_url()), fmt::arg("index", index),
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
    run_summary summary;
    std::string run_error;
    std::thread runner([&] {
        try {
            summary = p->run();
        } catch (const std::exception& e) {
            run_error = e.what();
        }
    });

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
    const std::int64_t rss_before = es_test::rss_kib();
    const std::uint64_t read_before = p->metrics().front()->records_out.load();

    std::atomic<bool> sampling{true};
    std::atomic<std::int64_t> rss_peak{rss_before};
    std::thread sampler([&] {
        while (sampling.load()) {
            rss_peak = std::max(rss_peak.load(), es_test::rss_kib());
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    });

    REQUIRE(services("stop") == 0);
    std::this_thread::sleep_for(std::chrono::seconds(20));
    // While the node was down, the source was held back: far fewer than 20 s at 4000/s (80,000) read.
    const std::uint64_t read_during = p->metrics().front()->records_out.load() - read_before;
    const int started = services("start");
    sampling = false;
    sampler.join();
    runner.join();
    set_log_sink({});

    REQUIRE(started == 0);
    INFO("run error: " << run_error);
    REQUIRE(run_error.empty());
    INFO("records read while the node was down: " << read_during);
    CHECK(read_during < 20'000);
    const std::int64_t growth_kib = rss_peak.load() - rss_before;
    INFO("RSS before the outage " << rss_before << " KiB, peak during it " << rss_peak.load() << " KiB");
    CHECK(growth_kib < 64 * 1024);

    CHECK(summary.records_read == total);
    CHECK(summary.records_rejected == 0);
    CHECK(es_test::count_of(index) == static_cast<std::int64_t>(total));
    std::size_t hits = 0;
    const auto ids = es_test::all_ids(index, hits);
    CHECK(ids.size() == total);

    // The sink never buffered more than its bound plus one batch's documents.
    std::smatch m;
    INFO("sink summary: " << sink_summary);
    REQUIRE(std::regex_search(sink_summary, m, std::regex("peak buffered ([0-9]+) KB")));
    CHECK(std::stoll(m[1]) <= static_cast<long long>(max_pending / 1024 + 500));

    es_test::request("DELETE", "/" + index);
    es_test::request("DELETE", "/_index_template/" + index);
    fs::remove_all(dir);
}
