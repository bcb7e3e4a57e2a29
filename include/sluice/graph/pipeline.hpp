#pragma once

#include <sluice/core/error.hpp>
#include <sluice/core/metrics.hpp>
#include <sluice/operator/context.hpp>
#include <sluice/operator/operator.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sluice {

/// Totals of a finished run.
struct run_summary {
    std::uint64_t records_read = 0;      ///< records produced by all sources
    std::uint64_t records_written = 0;   ///< records accepted by all sinks (counted per sink)
    std::uint64_t records_rejected = 0;  ///< records sent to the dead-letter sink
    std::uint64_t batches = 0;           ///< source batches
    std::chrono::nanoseconds elapsed{0};
    bool stopped_by_request = false;  ///< stop() was called (e.g. SIGINT) before sources ended
};

/// Settings of the runtime itself (not of any operator).
struct runtime_config {
    std::size_t max_batches_in_flight = 16;  ///< per source; a slow sink holds the source here
    std::size_t threads = 0;                 ///< worker threads; 0 = every core
};

/// How a node was declared, for messages and for `sluice graph`.
struct node_declaration {
    std::string id;                   ///< unique among sources, transforms and sinks
    std::string type;                 ///< operator type, e.g. "json_decode"
    std::vector<std::string> inputs;  ///< ids of upstream nodes (empty for sources)
    /// Maps an option key to its place in the configuration, for bind errors (may be empty).
    std::function<source_location(std::string_view key)> locate;
};

/// A dataflow graph of sources, transforms and sinks, run on a oneTBB flow graph.
///
/// Build it in code (`add_source`, `add_transform`, `add_sink`) or from YAML
/// (`load_pipeline`). `prepare()` checks the wiring and schemas and throws config_error with
/// every problem; `run()` blocks until every source is exhausted or `stop()` was called, then
/// drains in-flight batches, flushes windows and sinks and acknowledges source positions.
///
/// Thread-safety: build and run from one thread; `stop()`, `metrics()` and
/// `batches_in_flight()` may be called from any thread while `run()` is going.
class pipeline {
public:
    explicit pipeline(std::string name, runtime_config config = {});
    ~pipeline();
    pipeline(const pipeline&) = delete;
    pipeline& operator=(const pipeline&) = delete;
    pipeline(pipeline&&) = delete;
    pipeline& operator=(pipeline&&) = delete;

    const std::string& name() const noexcept;

    void add_source(node_declaration declaration, std::unique_ptr<source> op);
    void add_transform(node_declaration declaration, std::unique_ptr<transform> op);
    void add_sink(node_declaration declaration, std::unique_ptr<sink> op);
    /// Where rejected records go (default: they are counted and dropped with a warning log).
    void set_dead_letter(std::unique_ptr<dead_letter_writer> writer);

    /// Checks ids, inputs, cycles and schemas; throws config_error. Idempotent.
    void prepare();
    /// Runs to completion (see class comment). Throws operator_error on a fatal failure.
    run_summary run();
    /// Asks sources to stop; run() then drains and returns. Thread-safe, async-signal-unsafe.
    void stop() noexcept;

    /// Per-operator counters, in declaration order (sources, transforms, sinks).
    std::vector<const operator_metrics*> metrics() const;
    /// Batches currently in flight for source `source_index` (for tests and progress).
    std::size_t batches_in_flight(std::size_t source_index) const;
    /// The largest number of batches ever in flight at once for that source.
    std::size_t peak_batches_in_flight(std::size_t source_index) const;
    /// The nodes as declared, for `sluice graph`.
    std::vector<node_declaration> declarations() const;
    /// The schema each node produces (after prepare()); sinks have none.
    schema_ptr output_schema_of(std::string_view id) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice
