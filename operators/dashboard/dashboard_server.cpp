#include "dashboard_hub.hpp"
#include "dashboard_json.hpp"
#include "pipeline_sampler.hpp"
#include "web_assets.hpp"

#include <sluice/core/row_json.hpp>
#include <sluice/ops/dashboard.hpp>

#include <fmt/format.h>

#include <httplib.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace sluice {
namespace {

using dashboard_detail::append_delta_json;
using dashboard_detail::append_sensor_json;
using dashboard_detail::append_view_json;
using dashboard_detail::content_type_of;
using dashboard_detail::cursor;
using dashboard_detail::dashboard_channel;
using dashboard_detail::dashboard_hub;
using dashboard_detail::delta;
using dashboard_detail::pipeline_sampler;
using dashboard_detail::point;
using dashboard_detail::sensor_summary;
using dashboard_detail::web_assets;

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
}

constexpr std::size_t kept_samples = 600;  // 10 minutes at one a second
constexpr auto keepalive_every = std::chrono::seconds(15);

/// Page paths the single-page app handles itself: each serves index.html.
bool is_page(std::string_view path) {
    return path == "/" || path == "/fleet" || path == "/anomalies" || path == "/pipeline" ||
           path.starts_with("/sensor/");
}

}  // namespace

namespace dashboard_detail {

std::string_view content_type_of(std::string_view path) noexcept {
    const auto dot = path.rfind('.');
    const auto ext = dot == std::string_view::npos ? std::string_view{} : path.substr(dot);
    if (ext == ".html") {
        return "text/html; charset=utf-8";
    }
    if (ext == ".js" || ext == ".mjs") {
        return "application/javascript; charset=utf-8";
    }
    if (ext == ".css") {
        return "text/css; charset=utf-8";
    }
    if (ext == ".svg") {
        return "image/svg+xml";
    }
    if (ext == ".json") {
        return "application/json";
    }
    if (ext == ".png") {
        return "image/png";
    }
    return "application/octet-stream";
}

}  // namespace dashboard_detail

/// One browser's Server-Sent Events stream.
struct stream_client {
    std::shared_ptr<dashboard_channel> channel;  // null: no dashboard sink, or not asked for
    cursor fleet;
    bool want_pipeline = false;
    std::int64_t last_sample_ms = -1;
    bool hello_sent = false;
    bool finished_sent = false;
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
};

struct dashboard_server::impl {
    const pipeline& pipe;
    dashboard_server_options options;
    httplib::Server http;
    pipeline_sampler sampler;
    std::thread listener;
    std::thread sampling;
    std::mutex mutex;
    std::condition_variable wake;
    std::atomic<bool> stopping{false};
    std::atomic<bool> finished{false};
    std::atomic<int> streams{0};
    std::atomic<std::uint64_t> frames{0};
    std::atomic<std::uint64_t> frame_bytes{0};
    int port = 0;
    bool started = false;

    impl(const pipeline& p, dashboard_server_options o)
        : pipe(p)
        , options(std::move(o))
        , sampler(p, kept_samples) {}

    std::vector<std::shared_ptr<dashboard_channel>> channels() const {
        return dashboard_hub::global().find(pipe.name());
    }

    std::shared_ptr<dashboard_channel> channel(const std::string& id) const {
        for (auto& c : channels()) {
            if (id.empty() || c->id() == id) {
                return c;
            }
        }
        return nullptr;
    }

    /// {"pipeline":..., "finished":..., "operators":[...], "dashboards":[...], ...}
    std::string hello_json() const {
        std::string out = "{\"pipeline\":";
        append_json_string(out, pipe.name());
        fmt::format_to(std::back_inserter(out),
                       R"(,"finished":{},"sample_ms":{},"frame_ms":{},"operators":)",
                       finished.load(),
                       options.sample_interval.count(),
                       options.frame_interval.count());
        sampler.append_operators_json(out);
        out += ",\"dashboards\":[";
        bool first = true;
        for (const auto& c : channels()) {
            if (!first) {
                out += ',';
            }
            first = false;
            append_view_json(out, *c);
        }
        out += "]}";
        return out;
    }

    std::string samples_json(std::int64_t after_ms) const {
        std::string out = "[";
        bool first = true;
        for (const auto& s : sampler.since(after_ms)) {
            if (!first) {
                out += ',';
            }
            first = false;
            pipeline_sampler::append_sample_json(out, s);
        }
        out += ']';
        return out;
    }

    void serve_asset(const httplib::Request& req, httplib::Response& res) const {
        std::string_view path = req.path;
        if (is_page(path)) {
            path = "/index.html";
        }
        if (!options.web_root.empty()) {
            // Only names the build knows: never a path assembled from the request.
            for (const auto& asset : web_assets()) {
                if (asset.path == path) {
                    std::ifstream in(options.web_root + std::string(path), std::ios::binary);
                    if (in) {
                        std::stringstream text;
                        text << in.rdbuf();
                        res.set_content(text.str(), std::string(content_type_of(path)));
                        res.set_header("Cache-Control", "no-store");
                        return;
                    }
                }
            }
        }
        for (const auto& asset : web_assets()) {
            if (asset.path == path) {
                res.set_content(
                        asset.bytes.data(), asset.bytes.size(), std::string(content_type_of(path)));
                res.set_header("Cache-Control", "no-cache");
                return;
            }
        }
        res.status = 404;
        res.set_content("not found\n", "text/plain");
    }

    /// One call of the SSE content provider: the first sends the hello and everything held;
    /// later ones wait (bounded) for the next frame time and send what changed. Returns false
    /// to end the stream (server stopping, or the browser went away).
    bool stream_step(stream_client& client, httplib::DataSink& sink) {
        std::string frame;
        if (!client.hello_sent) {
            client.hello_sent = true;
            frame = fmt::format("retry: 2000\nevent: hello\ndata: {}\n\n", hello_json());
        } else {
            std::unique_lock lock(mutex);
            wake.wait_for(lock, options.frame_interval, [&] { return stopping.load(); });
        }
        if (stopping.load()) {
            return false;
        }
        const auto now = wall_ms();
        if (client.channel) {
            delta d;
            if (client.channel->state().read(client.fleet, now, d)) {
                frame += "event: fleet\ndata: ";
                append_delta_json(frame, d);
                frame += "\n\n";
            }
        }
        if (client.want_pipeline) {
            const auto samples = sampler.since(client.last_sample_ms);
            if (!samples.empty()) {
                frame += "event: pipeline\ndata: [";
                for (std::size_t i = 0; i < samples.size(); ++i) {
                    if (i != 0) {
                        frame += ',';
                    }
                    pipeline_sampler::append_sample_json(frame, samples[i]);
                }
                frame += "]\n\n";
                client.last_sample_ms = samples.back().wall_ms;
            }
        }
        if (finished.load() && !client.finished_sent) {
            client.finished_sent = true;
            frame += "event: status\ndata: {\"finished\":true}\n\n";
        }
        const auto steady_now = std::chrono::steady_clock::now();
        if (frame.empty() && steady_now - client.last_write >= keepalive_every) {
            frame = ": keepalive\n\n";  // lets proxies and the browser see the connection is alive
        }
        if (frame.empty()) {
            return true;
        }
        client.last_write = steady_now;
        // A slow browser blocks only this server thread (up to the write timeout); the next
        // frame then carries everything that changed meanwhile.
        if (!sink.write(frame.data(), frame.size())) {
            return false;
        }
        frames.fetch_add(1, std::memory_order_relaxed);
        frame_bytes.fetch_add(frame.size(), std::memory_order_relaxed);
        return true;
    }

    void routes() {
        http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("ok\n", "text/plain");
        });
        http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
            std::string out;
            append_prometheus_text(out, pipe.name(), pipe.metrics());
            fmt::format_to(
                    std::back_inserter(out),
                    "# HELP sluice_http_streams Open Server-Sent Events streams of the dashboard.\n"
                    "# TYPE sluice_http_streams gauge\nsluice_http_streams{{pipeline=\"{0}\"}} "
                    "{1}\n"
                    "# HELP sluice_http_frames_total Frames sent on dashboard streams.\n"
                    "# TYPE sluice_http_frames_total "
                    "counter\nsluice_http_frames_total{{pipeline=\"{0}\"}} {2}\n"
                    "# HELP sluice_http_frame_bytes_total Bytes sent on dashboard streams.\n"
                    "# TYPE sluice_http_frame_bytes_total counter\n"
                    "sluice_http_frame_bytes_total{{pipeline=\"{0}\"}} {3}\n",
                    pipe.name(),
                    streams.load(),
                    frames.load(),
                    frame_bytes.load());
            res.set_content(out, "text/plain; version=0.0.4; charset=utf-8");
        });
        http.Get("/api/hello", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(hello_json(), "application/json");
        });
        http.Get("/api/pipeline", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(samples_json(-1), "application/json");
        });
        http.Get(R"(/api/sensors/([^/]+))",
                 [this](const httplib::Request& req, httplib::Response& res) {
                     const auto c = channel(req.get_param_value("dashboard"));
                     std::vector<point> points;
                     sensor_summary summary;
                     std::string location;
                     const std::string id = req.matches[1];
                     if (!c || !c->state().sensor_history(id, points, summary, location)) {
                         res.status = 404;
                         res.set_content(R"({"error":"unknown sensor"})", "application/json");
                         return;
                     }
                     std::string out;
                     append_sensor_json(out, id, location, summary, points);
                     res.set_content(out, "application/json");
                 });
        http.Get("/api/stream", [this](const httplib::Request& req, httplib::Response& res) {
            if (streams.fetch_add(1) >= static_cast<int>(options.max_streams)) {
                streams.fetch_sub(1);
                res.status = 503;
                res.set_content("too many dashboard streams\n", "text/plain");
                return;
            }
            auto client = std::make_shared<stream_client>();
            if (req.get_param_value("fleet") != "0") {
                client->channel = channel(req.get_param_value("dashboard"));
            }
            client->want_pipeline = req.get_param_value("pipeline") != "0";
            client->fleet.watch = req.get_param_value("watch");
            res.set_header("Cache-Control", "no-cache");
            res.set_header("X-Accel-Buffering", "no");
            res.set_chunked_content_provider(
                    "text/event-stream",
                    [this, client](std::size_t, httplib::DataSink& sink) {
                        return stream_step(*client, sink);
                    },
                    [this](bool) { streams.fetch_sub(1); });
        });
        http.Get(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
            serve_asset(req, res);
        });
    }

    void sample_loop() {
        std::unique_lock lock(mutex);
        while (!stopping.load()) {
            lock.unlock();
            sampler.take(wall_ms());
            lock.lock();
            wake.wait_for(lock, options.sample_interval, [&] { return stopping.load(); });
        }
    }
};

dashboard_server::dashboard_server(const pipeline& p, dashboard_server_options options)
    : impl_(std::make_unique<impl>(p, std::move(options))) {}

dashboard_server::~dashboard_server() {
    stop();
}

void dashboard_server::start() {
    auto& s = *impl_;
    if (s.started) {
        return;
    }
    // Streams hold a thread each for their lifetime; keep room for page and API requests.
    const auto threads = s.options.max_streams + 8;
    s.http.new_task_queue = [threads] {
        return new httplib::ThreadPool(threads);
    };
    s.http.set_keep_alive_timeout(2);  // bounds how long stop() waits for idle connections
    s.http.set_write_timeout(5, 0);
    s.http.set_read_timeout(5, 0);
    s.routes();
    errno = 0;
    if (s.options.port == 0) {
        s.port = s.http.bind_to_any_port(s.options.host);
    } else {
        s.port = s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : -1;
    }
    if (s.port <= 0) {
        const int error = errno;
        throw std::runtime_error(fmt::format(
                "dashboard: cannot listen on {}:{}{}",
                s.options.host,
                s.options.port,
                error != 0 ? fmt::format(": {}", std::generic_category().message(error)) : ""));
    }
    s.started = true;
    s.sampler.take(wall_ms());
    s.listener = std::thread([&s] { s.http.listen_after_bind(); });
    s.sampling = std::thread([&s] { s.sample_loop(); });
}

void dashboard_server::stop() {
    auto& s = *impl_;
    if (!s.started) {
        return;
    }
    s.started = false;
    {
        const std::lock_guard lock(s.mutex);
        s.stopping = true;
    }
    s.wake.notify_all();
    s.http.stop();
    s.listener.join();
    s.sampling.join();
}

int dashboard_server::port() const noexcept {
    return impl_->port;
}

std::string dashboard_server::url() const {
    const auto& host = impl_->options.host;
    const bool v6 = host.find(':') != std::string::npos;
    return fmt::format("http://{}{}{}:{}/", v6 ? "[" : "", host, v6 ? "]" : "", impl_->port);
}

void dashboard_server::mark_finished() {
    impl_->sampler.take(wall_ms());
    impl_->finished = true;
    impl_->wake.notify_all();
}

}  // namespace sluice
