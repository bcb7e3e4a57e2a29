// End-to-end benchmark of the elasticsearch sink against the real node on 127.0.0.1:9200.
//
// For the simulator's records (seed 42), it measures in the same run and alternately:
//   ceiling: the node's own ceiling: bulk bodies built beforehand (the same NDJSON the sink
//            sends, same documents per request) posted with libcurl's multi interface at the
//            same concurrency over kept-alive connections; the clock covers only the posting.
//   sink:    generator -> elasticsearch sink through the pipeline runtime.
// and prints documents/s for both (median and spread over the runs), their ratio, the sink's
// own CPU time (its build thread + I/O thread, from its end-of-run report) and the process
// CPU time. Checksum: every run's index must hold exactly the documents sent, with no item
// error. Usage:
//   elasticsearch_bench [--docs N] [--runs R] [--concurrency C] [--max-docs M] [--gzip]
#include "../operators/elasticsearch/bulk_response.hpp"
#include "../operators/elasticsearch/index_template.hpp"

#include <sluice/core/row_json.hpp>
#include <sluice/ops/generator.hpp>
#include <sluice/sluice.hpp>

#include <fmt/format.h>

#include <curl/curl.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

using namespace sluice;
using steady = std::chrono::steady_clock;

namespace {

const std::string url = [] {
    const char* env = std::getenv("SLUICE_TEST_ES_URL");
    return std::string(env != nullptr && *env != '\0' ? env : "http://127.0.0.1:9200");
}();

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
}

struct reply {
    long status = 0;
    std::string body;
};

reply call(const std::string& method, const std::string& path, const std::string& body = "") {
    reply r;
    CURL* e = curl_easy_init();
    const std::string full = url + path;
    curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_URL, full.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
    if (method != "GET") {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    if (curl_easy_perform(e) == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return r;
}

std::int64_t count_of(const std::string& index) {
    call("POST", "/" + index + "/_refresh");
    const auto r = call("GET", "/" + index + "/_count");
    const auto at = r.body.find("\"count\":");
    return at == std::string::npos ? -1 : std::atoll(r.body.c_str() + at + 8);
}

double process_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

/// The node's ceiling: pre-built bodies posted `concurrency` at a time. Returns seconds, or
/// a negative value if any item failed.
double post_bodies(const std::vector<std::string>& bodies, std::size_t concurrency) {
    CURLM* multi = curl_multi_init();
    std::vector<CURL*> easy(concurrency);
    std::vector<std::string> responses(concurrency);
    curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/x-ndjson");
    h = curl_slist_append(h, "Expect:");
    // The same filtered answers as the sink asks for, so the two are compared on equal terms.
    const std::string full = url + std::string(sluice::es_detail::bulk_path);
    for (std::size_t i = 0; i < concurrency; ++i) {
        easy[i] = curl_easy_init();
    }
    std::size_t next = 0;
    std::size_t running_count = 0;
    bool failed = false;
    auto start_on = [&](std::size_t slot) {
        CURL* e = easy[slot];
        responses[slot].clear();
        curl_easy_setopt(e, CURLOPT_URL, full.c_str());
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, bodies[next].data());
        curl_easy_setopt(
                e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(bodies[next].size()));
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &responses[slot]);
        curl_easy_setopt(e, CURLOPT_PRIVATE, reinterpret_cast<void*>(slot));
        curl_easy_setopt(e, CURLOPT_TIMEOUT, 120L);
        curl_multi_add_handle(multi, e);
        ++next;
        ++running_count;
    };
    const auto t0 = steady::now();
    for (std::size_t s = 0; s < concurrency && next < bodies.size(); ++s) {
        start_on(s);
    }
    while (running_count > 0) {
        int still = 0;
        curl_multi_perform(multi, &still);
        curl_multi_poll(multi, nullptr, 0, 100, nullptr);
        curl_multi_perform(multi, &still);
        int left = 0;
        while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
            if (m->msg != CURLMSG_DONE) {
                continue;
            }
            void* p = nullptr;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
            const auto slot = reinterpret_cast<std::size_t>(p);
            long status = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (m->data.result != CURLE_OK || status != 200 ||
                responses[slot].find("\"errors\":false") == std::string::npos) {
                failed = true;
            }
            curl_multi_remove_handle(multi, m->easy_handle);
            --running_count;
            if (next < bodies.size()) {
                start_on(slot);
            }
        }
    }
    const double seconds = std::chrono::duration<double>(steady::now() - t0).count();
    for (auto* e : easy) {
        curl_easy_cleanup(e);
    }
    curl_slist_free_all(h);
    curl_multi_cleanup(multi);
    return failed ? -1.0 : seconds;
}

struct stats {
    double median = 0;
    double low = 0;
    double high = 0;
};

stats summarize(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return {values[values.size() / 2], values.front(), values.back()};
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t docs = 300'000;
    std::size_t runs = 3;
    std::size_t concurrency = 2;
    std::size_t max_docs = 5000;
    bool gzip = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&] {
            return static_cast<std::size_t>(std::atoll(i + 1 < argc ? argv[++i] : "0"));
        };
        if (a == "--docs") {
            docs = value();
        } else if (a == "--runs") {
            runs = value();
        } else if (a == "--concurrency") {
            concurrency = value();
        } else if (a == "--max-docs") {
            max_docs = value();
        } else if (a == "--gzip") {
            gzip = true;
        } else {
            fmt::print(
                    stderr,
                    "usage: {} [--docs N] [--runs R] [--concurrency C] [--max-docs M] [--gzip]\n",
                    argv[0]);
            return 2;
        }
    }
    if (docs == 0 || runs == 0 || concurrency == 0 || max_docs == 0) {
        fmt::print(stderr, "every number must be positive\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (call("GET", "/_cluster/health?wait_for_status=yellow&timeout=30s").status != 200) {
        fmt::print(
                stderr, "no search node answers at {}: run `scripts/services start search`\n", url);
        return 1;
    }

    // The documents: the simulator's records, as the generator emits them (seed 42).
    simulator_config sim_config;
    sim_config.sensors = 1000;
    sim_config.seed = 42;
    const batch records = sensor_simulator(sim_config).next_columns(docs);
    const schema_ptr& fields = records.schema();

    // One template (explicit mappings from the schema) covers both measurements' indices.
    es_detail::template_settings tmpl;
    tmpl.name = "sluice-bench";
    tmpl.pattern = "sluice-bench-*";
    if (call("PUT", "/_index_template/sluice-bench", es_detail::template_body(tmpl, *fields))
                .status != 200) {
        fmt::print(stderr, "cannot create the index template\n");
        return 1;
    }

    std::string bulk_bytes_note;
    std::vector<double> ceiling_rates;
    std::vector<double> sink_rates;
    std::vector<double> sink_cpu;
    std::vector<double> process_cpu;
    std::vector<double> sink_cpu_seconds_by_run;
    std::vector<bool> sink_ok_by_run;
    bool checksum_ok = true;
    row_json_writer writer(*fields);

    std::mutex log_mutex;
    std::string sink_report;
    set_log_sink([&](log_level, std::string_view line) {
        if (line.find("peak buffered") != std::string_view::npos) {
            std::lock_guard lock(log_mutex);
            sink_report = std::string(line);
        }
    });
    register_builtin_operators();

    fmt::print(
            "elasticsearch sink benchmark: node {}, {} documents (simulator seed 42, 1000 "
            "sensors), "
            "{} runs, concurrency {}, {} documents per bulk request, gzip {}\n",
            url,
            docs,
            runs,
            concurrency,
            max_docs,
            gzip ? "on" : "off");
    // Bodies of the ceiling measurement for `index`, built before its clock starts.
    auto build_bodies = [&](const std::string& index) {
        std::vector<std::string> bodies;
        auto cursor = writer.prepare(records);
        for (std::size_t first = 0; first < docs; first += max_docs) {
            std::string body;
            for (std::size_t row = first; row < std::min(docs, first + max_docs); ++row) {
                fmt::format_to(std::back_inserter(body),
                               R"({{"index":{{"_index":"{}","_id":"0-{}"}}}})",
                               index,
                               row);
                body.push_back('\n');
                cursor.append_row(body, row, '\n');
            }
            bodies.push_back(std::move(body));
        }
        return bodies;
    };
    {
        // Warm-up (not measured): the node's JIT and caches, so neither side pays for them.
        const auto bodies = build_bodies("sluice-bench-warmup");
        post_bodies(bodies, concurrency);
        call("DELETE", "/sluice-bench-warmup");
    }
    std::vector<double> ceiling_by_run(runs);
    std::vector<bool> ceiling_ok_by_run(runs);
    for (std::size_t step = 0; step < 2 * runs; ++step) {
        const std::size_t run = step / 2;
        // Alternate which side goes first, so drift of the node's speed favours neither.
        const bool ceiling_turn = (step % 2 == 0) == (run % 2 == 0);
        if (ceiling_turn) {
            // --- ceiling: bodies built before the clock starts ---
            const std::string ceiling_index = fmt::format("sluice-bench-ceiling-{}", run);
            call("DELETE", "/" + ceiling_index);
            const std::vector<std::string> bodies = build_bodies(ceiling_index);
            if (run == 0) {
                std::size_t total_bytes = 0;
                for (const auto& b : bodies) {
                    total_bytes += b.size();
                }
                bulk_bytes_note = fmt::format(
                        "{} bulk requests, {:.1f} MB of NDJSON, {:.0f} bytes per document",
                        bodies.size(),
                        total_bytes / 1e6,
                        static_cast<double>(total_bytes) / static_cast<double>(docs));
            }
            const double ceiling_seconds = post_bodies(bodies, concurrency);
            const bool ceiling_ok = ceiling_seconds > 0 &&
                                    count_of(ceiling_index) == static_cast<std::int64_t>(docs);
            checksum_ok = checksum_ok && ceiling_ok;
            ceiling_by_run[run] = static_cast<double>(docs) / std::max(ceiling_seconds, 1e-9);
            ceiling_ok_by_run[run] = ceiling_ok;
            call("DELETE", "/" + ceiling_index);
            continue;
        }

        // --- the sink, through the pipeline ---
        const std::string sink_index = fmt::format("sluice-bench-sink-{}", run);
        call("DELETE", "/" + sink_index);
        const std::string yaml = fmt::format(R"yaml(
name: es_bench
sources:
  fleet: {{type: generator, sensors: 1000, count: {docs}, seed: 42, emit: columns,
           batch: {{max_records: 5000}}}}
sinks:
  es: {{type: elasticsearch, inputs: [fleet], url: "{url}", index: {index},
        template: {{create: false}}, concurrency: {concurrency}, max_docs: {max_docs},
        max_bytes: 104857600, max_pending_bytes: 209715200, compression: {gzip}}}
)yaml",
                                             fmt::arg("docs", docs),
                                             fmt::arg("url", url),
                                             fmt::arg("index", sink_index),
                                             fmt::arg("concurrency", concurrency),
                                             fmt::arg("max_docs", max_docs),
                                             fmt::arg("gzip", gzip ? "gzip" : "none"));
        auto p = load_pipeline_from_string(yaml, "elasticsearch_bench.yaml");
        const double cpu0 = process_cpu_seconds();
        const auto t0 = steady::now();
        const auto summary = p->run();
        const double seconds = std::chrono::duration<double>(steady::now() - t0).count();
        const double cpu = process_cpu_seconds() - cpu0;
        const bool sink_ok = summary.records_rejected == 0 &&
                             count_of(sink_index) == static_cast<std::int64_t>(docs);
        checksum_ok = checksum_ok && sink_ok;
        sink_rates.push_back(static_cast<double>(docs) / seconds);
        process_cpu.push_back(cpu / seconds);
        std::smatch m;
        std::string report;
        {
            std::lock_guard lock(log_mutex);
            report = sink_report;
        }
        double sink_cpu_seconds = -1;
        if (std::regex_search(report, m, std::regex("CPU ([0-9.]+) s"))) {
            sink_cpu_seconds = std::stod(m[1]);
        }
        sink_cpu.push_back(sink_cpu_seconds / seconds);
        sink_cpu_seconds_by_run.push_back(sink_cpu_seconds);
        sink_ok_by_run.push_back(sink_ok);
        call("DELETE", "/" + sink_index);
    }
    for (std::size_t run = 0; run < runs; ++run) {
        ceiling_rates.push_back(ceiling_by_run[run]);
        fmt::print(
                "run {} ({} first): ceiling {:>8.0f} docs/s ({}), sink {:>8.0f} docs/s ({}) = "
                "{:5.1f} %, "
                "sink CPU {:.2f} s = {:.2f} cores, process CPU {:.2f} cores\n",
                run + 1,
                run % 2 == 0 ? "ceiling" : "sink",
                ceiling_by_run[run],
                ceiling_ok_by_run[run] ? "count ok" : "COUNT WRONG",
                sink_rates[run],
                sink_ok_by_run[run] ? "count ok" : "COUNT WRONG",
                100.0 * sink_rates[run] / ceiling_by_run[run],
                sink_cpu_seconds_by_run[run],
                sink_cpu[run],
                process_cpu[run]);
    }
    set_log_sink({});
    call("DELETE", "/_index_template/sluice-bench");

    const auto c = summarize(ceiling_rates);
    const auto s = summarize(sink_rates);
    std::vector<double> ratios;
    for (std::size_t i = 0; i < runs; ++i) {
        ratios.push_back(sink_rates[i] / ceiling_rates[i]);
    }
    const auto r = summarize(ratios);
    const auto cpu = summarize(sink_cpu);
    fmt::print("{}\n", bulk_bytes_note);
    fmt::print(
            "ceiling (pre-built bodies, libcurl multi): median {:.0f} docs/s (min {:.0f}, max "
            "{:.0f})\n",
            c.median,
            c.low,
            c.high);
    fmt::print(
            "sink (generator -> elasticsearch):         median {:.0f} docs/s (min {:.0f}, max "
            "{:.0f})\n",
            s.median,
            s.low,
            s.high);
    fmt::print(
            "ratio sink/ceiling: median {:.1f} % (min {:.1f} %, max {:.1f} %); sink CPU median "
            "{:.2f} cores (max {:.2f})\n",
            100 * r.median,
            100 * r.low,
            100 * r.high,
            cpu.median,
            cpu.high);
    fmt::print("checksum (every index holds exactly the documents sent, no item error): {}\n",
               checksum_ok ? "ok" : "FAILED");
    return checksum_ok ? 0 : 1;
}
