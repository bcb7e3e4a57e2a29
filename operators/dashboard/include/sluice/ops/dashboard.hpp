#pragma once

#include <sluice/core/metrics.hpp>
#include <sluice/graph/pipeline.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

class operator_registry;

/// Registers the `dashboard` sink: a bounded, in-memory recent history per sensor that the
/// dashboard server shows live (see operators/dashboard/README.md).
void register_dashboard_operators(operator_registry& registry);

/// Appends every operator's metrics in the Prometheus text exposition format (0.0.4) to `out`:
/// counters `sluice_records_in_total`, `sluice_records_out_total`,
/// `sluice_records_rejected_total` (dead-lettered), `sluice_batches_in_total`,
/// `sluice_bytes_in_total`; histograms `sluice_batch_latency_seconds` and (sinks)
/// `sluice_event_latency_seconds`; and each operator's `extra` numbers as
/// `sluice_<type>_<name>` (gauges) or `sluice_<type>_<name>_total` (counters). Every sample
/// carries the labels pipeline, operator, type and role. Histograms have no `_sum` (the
/// engine's latency histogram keeps bucket counts only). Thread-safe (reads atomics).
void append_prometheus_text(std::string& out,
                            std::string_view pipeline_name,
                            const std::vector<const operator_metrics*>& metrics);

/// Where and how the dashboard server listens.
struct dashboard_server_options {
    std::string host = "127.0.0.1";  ///< an IP literal or "localhost"; loopback unless told
    int port = 8080;                 ///< 0 = any free port (see dashboard_server::port())
    /// Serve the pages from this folder instead of the copies built into the binary (for
    /// working on web/ without rebuilding); empty = built-in.
    std::string web_root;
    /// How often the server samples pipeline metrics for the Pipeline page, and the shortest
    /// interval between two Server-Sent Events frames to one browser.
    std::chrono::milliseconds sample_interval{1000};
    std::chrono::milliseconds frame_interval{400};
    std::size_t max_streams = 16;  ///< concurrent SSE connections; more get HTTP 503
};

/// The engine's HTTP server for one pipeline: `/metrics` (Prometheus text), `/healthz`, the
/// dashboard pages, `/api/*` (JSON) and `/api/stream` (Server-Sent Events with coalesced
/// deltas). It finds the pipeline's `dashboard` sinks by pipeline name; a pipeline without
/// one still gets /metrics and the Pipeline page.
///
/// The server reads the pipeline's metrics and the sinks' state; it never blocks the pipeline
/// (a browser that reads slowly only gets fewer, larger frames). The pipeline must outlive
/// the server. Methods are called from one thread; `stop()` is also called by the destructor.
class dashboard_server {
public:
    dashboard_server(const pipeline& p, dashboard_server_options options);
    ~dashboard_server();
    dashboard_server(const dashboard_server&) = delete;
    dashboard_server& operator=(const dashboard_server&) = delete;
    dashboard_server(dashboard_server&&) = delete;
    dashboard_server& operator=(dashboard_server&&) = delete;

    /// Binds and starts serving on background threads. Throws std::runtime_error if the
    /// address cannot be bound (e.g. the port is taken).
    void start();
    /// Stops accepting, ends the open streams and joins the threads (bounded: a few seconds).
    void stop();

    /// The bound port (after start()): the one asked for, or the one chosen for port 0.
    int port() const noexcept;
    /// "http://HOST:PORT/" (after start()).
    std::string url() const;
    /// Tells the pages the run has ended (the Pipeline page shows "finished") and takes a final
    /// metrics sample, so what /metrics and the pages show match the summary.
    void mark_finished();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice
