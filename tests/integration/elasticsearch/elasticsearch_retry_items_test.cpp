// The elasticsearch sink's per-item failure handling, against a scripted bulk endpoint on
// 127.0.0.1 (a real node cannot be made to answer 429/503 for chosen documents): only the
// items answered 429 or 5xx are sent again, after a backoff that doubles; permanent errors go
// to the dead-letter sink with the node's error type and reason; the API key reaches the node.
#include "es_test_support.hpp"

#include <sluice/sluice.hpp>

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

using namespace sluice;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

struct http_request {
    std::string method;
    std::string path;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

struct http_answer {
    int status = 200;
    std::string body;
};

/// A minimal HTTP/1.1 server (keep-alive, Content-Length bodies) on 127.0.0.1 and a free
/// port; one thread per connection. Every wait is a 100 ms poll that checks the stop flag.
class scripted_node {
public:
    explicit scripted_node(std::function<http_answer(const http_request&)> handler) : handler_(std::move(handler)) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = 0;
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(listener_, 16) == 0);
        socklen_t length = sizeof address;
        REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
        port_ = ntohs(address.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~scripted_node() {
        stop_ = true;
        acceptor_.join();
        for (auto& t : connections_) {
            t.join();
        }
        ::close(listener_);
    }

    scripted_node(const scripted_node&) = delete;
    scripted_node& operator=(const scripted_node&) = delete;

    std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }

private:
    void accept_loop() {
        while (!stop_) {
            pollfd p{listener_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) {
                continue;
            }
            const int fd = ::accept(listener_, nullptr, nullptr);
            if (fd >= 0) {
                connections_.emplace_back([this, fd] { serve(fd); });
            }
        }
    }

    // Reads into `buffer` until it holds `wanted` bytes; false when the peer closed or we stop.
    bool fill(int fd, std::string& buffer, std::size_t wanted) {
        char chunk[65536];
        while (buffer.size() < wanted) {
            pollfd p{fd, POLLIN, 0};
            if (stop_) {
                return false;
            }
            if (::poll(&p, 1, 100) <= 0) {
                continue;
            }
            const auto n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) {
                return false;
            }
            buffer.append(chunk, static_cast<std::size_t>(n));
        }
        return true;
    }

    void serve(int fd) {
        std::string buffer;
        while (!stop_) {
            std::size_t end = buffer.find("\r\n\r\n");
            while (end == std::string::npos) {
                if (!fill(fd, buffer, buffer.size() + 1)) {
                    ::close(fd);
                    return;
                }
                end = buffer.find("\r\n\r\n");
            }
            http_request request;
            std::istringstream head(buffer.substr(0, end));
            std::string line;
            std::getline(head, line);
            std::istringstream first(line);
            first >> request.method >> request.path;
            while (std::getline(head, line)) {
                const auto colon = line.find(':');
                if (colon == std::string::npos) {
                    continue;
                }
                std::string name = line.substr(0, colon);
                for (auto& c : name) {
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                }
                std::string value = line.substr(colon + 1);
                value.erase(0, value.find_first_not_of(' '));
                value.erase(value.find_last_not_of("\r ") + 1);
                request.headers[name] = value;
            }
            const auto length_header = request.headers.find("content-length");
            const std::size_t length = length_header == request.headers.end() ? 0 : std::stoul(length_header->second);
            buffer.erase(0, end + 4);
            if (!fill(fd, buffer, length)) {
                ::close(fd);
                return;
            }
            request.body = buffer.substr(0, length);
            buffer.erase(0, length);
            const http_answer answer = handler_(request);
            const std::string response =
                    fmt::format("HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                                answer.status, answer.body.size(), request.method == "HEAD" ? "" : answer.body);
            std::size_t sent = 0;
            while (sent < response.size()) {
                const auto n = ::send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
                if (n <= 0) {
                    ::close(fd);
                    return;
                }
                sent += static_cast<std::size_t>(n);
            }
        }
        ::close(fd);
    }

    std::function<http_answer(const http_request&)> handler_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread acceptor_;
    std::vector<std::thread> connections_;  // touched by the acceptor thread only until stop
};

/// The `_id` of each action line of a bulk body, in order.
std::vector<std::string> ids_of(const std::string& body) {
    std::vector<std::string> ids;
    std::istringstream in(body);
    std::string line;
    bool action = true;
    while (std::getline(in, line)) {
        if (line.empty()) {
            continue;
        }
        if (action) {
            const auto at = line.find(R"("_id":")");
            ids.push_back(at == std::string::npos ? std::string()
                                                  : line.substr(at + 7, line.find('"', at + 7) - at - 7));
        }
        action = !action;
    }
    return ids;
}

/// The record number of a position id "0-<n>".
std::size_t number_of(const std::string& id) {
    return std::stoul(id.substr(id.find('-') + 1));
}

}  // namespace

TEST_CASE("only the items answered 429 or 5xx are sent again, after a doubling backoff", "[elasticsearch]") {
    // Record n: n % 10 == 3 is a mapping conflict (400) every time; n % 5 == 1 is answered 429
    // once; n % 5 == 2 is answered 503 twice; every other record is indexed at once.
    constexpr std::size_t total = 1'000;
    std::mutex mutex;
    std::map<std::string, std::vector<steady::time_point>> attempts;  // id -> arrival of each try
    std::vector<std::string> authorizations;
    scripted_node node([&](const http_request& r) -> http_answer {
        std::lock_guard lock(mutex);
        authorizations.push_back(r.headers.count("authorization") != 0 ? r.headers.at("authorization") : "");
        if (r.method != "POST" || r.path.rfind("/_bulk", 0) != 0) {
            return {404, R"({"error":{"type":"not_found","reason":"only _bulk here"},"status":404})"};
        }
        const auto now = steady::now();
        std::string items;
        for (const auto& id : ids_of(r.body)) {
            auto& tries = attempts[id];
            tries.push_back(now);
            const std::size_t n = number_of(id);
            std::string item;
            if (n % 10 == 3) {
                item = fmt::format(R"({{"index":{{"_index":"fake","_id":"{}","status":400,"error":{{"type":"document_parsing_exception","reason":"failed to parse field [code] of type [long] in document with id '{}'"}}}}}})",
                                   id, id);
            } else if (n % 5 == 1 && tries.size() == 1) {
                item = fmt::format(R"({{"index":{{"_index":"fake","_id":"{}","status":429,"error":{{"type":"es_rejected_execution_exception","reason":"rejected execution"}}}}}})",
                                   id);
            } else if (n % 5 == 2 && tries.size() <= 2) {
                item = fmt::format(R"({{"index":{{"_index":"fake","_id":"{}","status":503,"error":{{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}}}}})",
                                   id);
            } else {
                item = fmt::format(R"({{"index":{{"_index":"fake","_id":"{}","_version":1,"result":"created","status":201}}}})",
                                   id);
            }
            items += (items.empty() ? "" : ",") + item;
        }
        return {200, R"({"took":1,"errors":true,"items":[)" + items + "]}"};
    });

    const auto dir = es_test::temp_dir("sluice-es-retry-items");
    const std::string yaml = fmt::format(R"yaml(
name: es_retry_items
dead_letter: {{type: file, path: {dir}/dead-letter.ndjson}}
sources:
  fleet: {{type: generator, sensors: 20, count: {total}, seed: 4, emit: columns, batch: {{max_records: 100}}}}
sinks:
  es: {{type: elasticsearch, inputs: [fleet], url: "{url}", index: fake, template: {{create: false}},
        api_key: c2x1aWNlOnRlc3Q=, max_docs: 100, max_latency: 50ms, concurrency: 2,
        retry: {{initial_backoff: 200ms, max_backoff: 5s}}}}
)yaml",
                                         fmt::arg("dir", dir.string()), fmt::arg("total", total),
                                         fmt::arg("url", node.url()));
    register_builtin_operators();
    const auto summary = load_pipeline_from_string(yaml, "elasticsearch_retry_items_test.yaml")->run();

    std::size_t conflicts = 0;
    for (std::size_t n = 0; n < total; ++n) {
        conflicts += n % 10 == 3 ? 1 : 0;
    }
    CHECK(summary.records_read == total);
    CHECK(summary.records_rejected == conflicts);

    std::lock_guard lock(mutex);
    REQUIRE(attempts.size() == total);
    std::size_t wrong = 0;
    for (const auto& [id, tries] : attempts) {
        const std::size_t n = number_of(id);
        const std::size_t expected = n % 5 == 1 ? 2 : n % 5 == 2 ? 3 : 1;
        INFO(id << " sent " << tries.size() << " times, expected " << expected);
        if (tries.size() != expected) {
            ++wrong;
            CHECK(tries.size() == expected);  // reports the first few
        }
        // Each retry waits at least half its backoff ceiling: 200 ms doubling, so the first
        // retry comes >= 100 ms after the failed try and the second >= 200 ms after the first.
        for (std::size_t k = 1; k < tries.size(); ++k) {
            const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(tries[k] - tries[k - 1]);
            CHECK(gap.count() >= 100 * static_cast<long>(1U << (k - 1)));
        }
    }
    CHECK(wrong == 0);
    for (const auto& a : authorizations) {
        CHECK(a == "ApiKey c2x1aWNlOnRlc3Q=");
    }

    // The conflicts are in the dead-letter file with the node's error type and reason.
    const std::string dead = es_test::read_text(dir / "dead-letter.ndjson");
    std::istringstream in(dead);
    std::string line;
    std::size_t lines = 0;
    while (std::getline(in, line)) {
        ++lines;
        INFO(line);
        CHECK(line.find("document_parsing_exception: failed to parse field [code] of type [long]") != std::string::npos);
    }
    CHECK(lines == conflicts);
    fs::remove_all(dir);
}
