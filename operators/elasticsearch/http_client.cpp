#include "http_client.hpp"

#include <fmt/format.h>

#include <curl/curl.h>
#include <zlib.h>

#include <mutex>
#include <unordered_map>

namespace sluice::es_detail {

namespace {

void global_init() {
    // curl_global_init is not thread-safe; every client goes through this once.
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* out = static_cast<std::string*>(user);
    out->append(data, size * count);
    return size * count;
}

}  // namespace

bool gzip_compress(std::string_view in, std::string& out) {
    z_stream zs{};
    // 15 + 16: a gzip wrapper; level 1: most of the size win for a fraction of the CPU.
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return false;
    }
    out.resize(deflateBound(&zs, static_cast<uLong>(in.size())));
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return rc == Z_STREAM_END;
}

struct http_client::transfer {
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    std::uint64_t tag = 0;
    std::string response;
    std::string compressed;
    char error[CURL_ERROR_SIZE] = {};

    transfer() = default;
    // Owns the easy handle and the header list; curl keeps pointers into `response` and `error`.
    transfer(const transfer&) = delete;
    transfer& operator=(const transfer&) = delete;
    transfer(transfer&&) = delete;
    transfer& operator=(transfer&&) = delete;
    ~transfer() {
        if (headers != nullptr) {
            curl_slist_free_all(headers);
        }
        if (easy != nullptr) {
            curl_easy_cleanup(easy);
        }
    }
};

struct http_client::impl {
    http_settings settings;
    CURLM* multi = nullptr;
    std::string auth_header;
    std::unordered_map<CURL*, std::unique_ptr<transfer>> active;
    std::vector<std::unique_ptr<transfer>> idle;  // reused handles keep their TLS session cache

    // Prepares `t` for one request. Connections live in the multi handle's cache, so a
    // reused or new easy handle both get a kept-alive connection.
    void setup(transfer& t,
               std::string_view method,
               std::string_view path,
               std::string_view content_type,
               const std::string* body) const {
        if (t.easy == nullptr) {
            t.easy = curl_easy_init();
        } else {
            curl_easy_reset(t.easy);
        }
        if (t.headers != nullptr) {
            curl_slist_free_all(t.headers);
            t.headers = nullptr;
        }
        t.response.clear();
        t.error[0] = '\0';
        CURL* e = t.easy;
        const std::string url = settings.base_url + std::string(path);
        curl_easy_setopt(e, CURLOPT_URL, url.c_str());
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(
                e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings.connect_timeout.count()));
        curl_easy_setopt(
                e, CURLOPT_TIMEOUT_MS, static_cast<long>(settings.request_timeout.count()));
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &t.response);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        if (!settings.username.empty()) {
            curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
            curl_easy_setopt(e, CURLOPT_USERNAME, settings.username.c_str());
            curl_easy_setopt(e, CURLOPT_PASSWORD, settings.password.c_str());
        }
        if (!settings.ca_file.empty()) {
            curl_easy_setopt(e, CURLOPT_CAINFO, settings.ca_file.c_str());
        }
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, settings.verify ? 1L : 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, settings.verify ? 2L : 0L);
        if (settings.gzip) {
            curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
        }

        // "Expect:" turns off curl's 100-continue round trip for bodies over 1 MiB.
        t.headers = curl_slist_append(t.headers, "Expect:");
        if (!content_type.empty()) {
            t.headers = curl_slist_append(t.headers,
                                          fmt::format("Content-Type: {}", content_type).c_str());
        }
        if (!auth_header.empty()) {
            t.headers = curl_slist_append(t.headers, auth_header.c_str());
        }
        const std::string* payload = body;
        if (body != nullptr && settings.gzip) {
            if (gzip_compress(*body, t.compressed)) {
                payload = &t.compressed;
                t.headers = curl_slist_append(t.headers, "Content-Encoding: gzip");
            }
        }
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);

        if (method == "HEAD") {
            curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        } else if (method == "GET") {
            curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        } else {
            curl_easy_setopt(e,
                             CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(payload != nullptr ? payload->size() : 0));
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload != nullptr ? payload->data() : "");
            if (method != "POST") {
                curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
            }
        }
    }

    static http_result result_of(transfer& t, CURLcode code) {
        http_result r;
        if (code != CURLE_OK) {
            r.transport_error =
                    t.error[0] != '\0' ? std::string(t.error) : curl_easy_strerror(code);
            return r;
        }
        curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &r.status);
        r.body = std::move(t.response);
        t.response.clear();
        return r;
    }
};

http_client::http_client(http_settings settings)
    : impl_(std::make_unique<impl>()) {
    global_init();
    impl_->settings = std::move(settings);
    while (!impl_->settings.base_url.empty() && impl_->settings.base_url.back() == '/') {
        impl_->settings.base_url.pop_back();
    }
    if (!impl_->settings.api_key.empty()) {
        impl_->auth_header = "Authorization: ApiKey " + impl_->settings.api_key;
    }
    impl_->multi = curl_multi_init();
}

http_client::~http_client() {
    for (auto& [easy, t] : impl_->active) {
        curl_multi_remove_handle(impl_->multi, easy);
    }
    impl_->active.clear();
    impl_->idle.clear();
    curl_multi_cleanup(impl_->multi);
}

void http_client::start(std::uint64_t tag,
                        std::string_view method,
                        std::string_view path,
                        std::string_view content_type,
                        const std::string* body) {
    std::unique_ptr<transfer> t;
    if (!impl_->idle.empty()) {
        t = std::move(impl_->idle.back());
        impl_->idle.pop_back();
    } else {
        t = std::make_unique<transfer>();
    }
    impl_->setup(*t, method, path, content_type, body);
    t->tag = tag;
    curl_multi_add_handle(impl_->multi, t->easy);
    CURL* easy = t->easy;
    impl_->active.emplace(easy, std::move(t));
}

void http_client::run(std::chrono::milliseconds timeout,
                      std::vector<std::pair<std::uint64_t, http_result>>& done) {
    int running = 0;
    curl_multi_perform(impl_->multi, &running);
    int ready = 0;
    curl_multi_poll(impl_->multi, nullptr, 0, static_cast<int>(timeout.count()), &ready);
    curl_multi_perform(impl_->multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(impl_->multi, &left)) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        CURL* easy = msg->easy_handle;
        const CURLcode code = msg->data.result;
        curl_multi_remove_handle(impl_->multi, easy);
        auto it = impl_->active.find(easy);
        if (it == impl_->active.end()) {
            continue;
        }
        std::unique_ptr<transfer> t = std::move(it->second);
        impl_->active.erase(it);
        done.emplace_back(t->tag, impl::result_of(*t, code));
        t->compressed.clear();
        impl_->idle.push_back(std::move(t));
    }
}

void http_client::wakeup() noexcept {
    curl_multi_wakeup(impl_->multi);
}

std::size_t http_client::active() const noexcept {
    return impl_->active.size();
}

http_result http_client::request(std::string_view method,
                                 std::string_view path,
                                 std::string_view content_type,
                                 const std::string* body) {
    transfer t;
    impl_->setup(t, method, path, content_type, body);
    const CURLcode code = curl_easy_perform(t.easy);
    return impl::result_of(t, code);
}

}  // namespace sluice::es_detail
