#pragma once

// Helpers of the elasticsearch integration tests: a small blocking HTTP client for the real
// node on 127.0.0.1 (SLUICE_TEST_ES_URL, default http://127.0.0.1:9200), JSON reading with
// simdjson, process helpers. Tests fail with a clear message when the node is not running.

#include <sluice/sluice.hpp>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <curl/curl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

namespace es_test {

inline std::string base_url() {
    const char* env = std::getenv("SLUICE_TEST_ES_URL");
    return env != nullptr && *env != '\0' ? env : "http://127.0.0.1:9200";
}

struct response {
    long status = 0;
    std::string body;
    std::string error;
};

inline std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
}

/// One blocking request (10 s timeout).
inline response request(const std::string& method,
                        const std::string& path,
                        const std::string& body = "") {
    response r;
    CURL* e = curl_easy_init();
    const std::string url = base_url() + path;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r.body);
    if (method == "HEAD") {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (method != "GET") {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    const CURLcode code = curl_easy_perform(e);
    if (code != CURLE_OK) {
        r.error = curl_easy_strerror(code);
    } else {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(e);
    return r;
}

/// Fails the test, with the way to start the node, when it does not answer.
inline void require_node() {
    const auto r = request("GET", "/_cluster/health?wait_for_status=yellow&timeout=30s");
    INFO("no Elasticsearch/OpenSearch node answers at "
         << base_url() << " (" << r.error << " HTTP " << r.status
         << "): start it with `scripts/services start search` (make test does)");
    REQUIRE(r.status == 200);
}

/// A fresh index name, unique per process and call.
inline std::string unique_index(const std::string& stem) {
    static int counter = 0;
    return stem + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(std::chrono::system_clock::now().time_since_epoch().count() %
                          1000000000) +
           "-" + std::to_string(++counter);
}

inline std::int64_t count_of(const std::string& index) {
    REQUIRE(request("POST", "/" + index + "/_refresh").status == 200);
    const auto r = request("GET", "/" + index + "/_count");
    INFO(r.body);
    REQUIRE(r.status == 200);
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(r.body);
    return parser.parse(padded)["count"].get_int64().value();
}

/// Every document id of `index`, read page by page in (timestamp, sensor_id) order; also
/// returns how many hits were read (duplicates of an id would make them differ).
inline std::set<std::string> all_ids(const std::string& index, std::size_t& hits) {
    std::set<std::string> ids;
    hits = 0;
    std::string after;
    simdjson::dom::parser parser;
    for (int page = 0; page < 1000; ++page) {
        std::string query = R"({"size":10000,"_source":false,"track_total_hits":false,)"
                            R"("sort":[{"timestamp":"asc"},{"sensor_id":"asc"}])";
        if (!after.empty()) {
            query += R"(,"search_after":)" + after;
        }
        query += "}";
        const auto r = request("POST", "/" + index + "/_search", query);
        INFO(r.body.substr(0, 500));
        REQUIRE(r.status == 200);
        const simdjson::padded_string padded(r.body);
        const auto root = parser.parse(padded);
        const auto list = root["hits"]["hits"].get_array().value();
        if (list.size() == 0) {
            break;
        }
        for (auto hit : list) {
            ids.insert(std::string(hit["_id"].get_string().value()));
            ++hits;
            after = simdjson::minify(hit["sort"]);
        }
    }
    return ids;
}

inline std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

inline std::filesystem::path temp_dir(const std::string& stem) {
    auto dir = std::filesystem::temp_directory_path() /
               (stem + "-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(dir);
    return dir;
}

/// Runs a pipeline on a thread of its own while the test acts on the node; after `join()`,
/// `summary` holds what run() returned, or `error` what it threw.
class background_run {
public:
    explicit background_run(sluice::pipeline& p)
        : thread_([this, &p] {
            try {
                summary = p.run();
            } catch (const std::exception& e) {
                error = e.what();
            }
            finished_ = true;
        }) {}
    ~background_run() { join(); }
    background_run(const background_run&) = delete;
    background_run& operator=(const background_run&) = delete;

    bool finished() const { return finished_.load(); }
    void join() {
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    sluice::run_summary summary;
    std::string error;

private:
    std::atomic<bool> finished_{false};
    std::thread thread_;  // last: it starts once the members above exist
};

}  // namespace es_test
