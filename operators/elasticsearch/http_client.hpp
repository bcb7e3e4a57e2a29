#pragma once

// HTTP for the sink: a libcurl multi handle that keeps several requests in flight over
// kept-alive connections, plus a blocking call for setup requests.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::es_detail {

/// Connection settings. Secrets live here only; nothing in this file prints them.
struct http_settings {
    std::string base_url = "http://127.0.0.1:9200";  ///< scheme, host, port; no trailing '/'
    std::string username;                            ///< basic auth user ("" = no basic auth)
    std::string password;                            ///< basic auth password
    std::string api_key;                             ///< "Authorization: ApiKey <key>" ("" = none)
    std::string ca_file;  ///< PEM bundle that signs the node's certificate ("" = system store)
    bool verify = true;   ///< check the node's certificate and host name
    std::chrono::milliseconds connect_timeout{5000};   ///< TCP + TLS connect
    std::chrono::milliseconds request_timeout{60000};  ///< whole request
    bool gzip = false;  ///< gzip request bodies (Content-Encoding) and accept gzip answers
};

/// The end of one request.
struct http_result {
    long status = 0;              ///< HTTP status; 0 when no answer came (see transport_error)
    std::string body;             ///< response body
    std::string transport_error;  ///< why no answer came (connection refused, timeout, ...)
};

/// Requests over libcurl's multi interface. Every method except `wakeup` must be called from
/// one thread (the sink's I/O thread); `wakeup` may be called from any thread.
class http_client {
public:
    explicit http_client(http_settings settings);
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;
    http_client(http_client&&) = delete;
    http_client& operator=(http_client&&) = delete;

    /// Starts `method` (POST, PUT, HEAD, GET) on `path` ("/_bulk"); `body` (may be null) must
    /// stay alive and unchanged until the request completes. `tag` comes back with the result.
    void start(std::uint64_t tag,
               std::string_view method,
               std::string_view path,
               std::string_view content_type,
               const std::string* body);

    /// Moves transfers forward, waiting at most `timeout` for network activity or a wakeup;
    /// appends every request that completed to `done`.
    void run(std::chrono::milliseconds timeout,
             std::vector<std::pair<std::uint64_t, http_result>>& done);

    /// Interrupts a `run` wait. Thread-safe.
    void wakeup() noexcept;

    /// Requests started and not yet returned by `run`.
    std::size_t active() const noexcept;

    /// A blocking request on its own handle (for setup calls such as the index template).
    http_result request(std::string_view method,
                        std::string_view path,
                        std::string_view content_type,
                        const std::string* body);

private:
    struct transfer;
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// gzip-compresses `in` into `out` (replacing it). Returns false on a zlib failure.
bool gzip_compress(std::string_view in, std::string& out);

}  // namespace sluice::es_detail
