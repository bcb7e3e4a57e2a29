#pragma once

#include <sluice/operator/context.hpp>
#include <sluice/operator/operator.hpp>
#include <sluice/operator/options.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace sluice {

class operator_registry;

/// Registers the `file` source and the `file`, `stdout` and `blackhole` sinks.
void register_file_operators(operator_registry& registry);

/// A dead-letter writer that appends one NDJSON line per rejected record to `path` (parent
/// directories are created; an existing file is appended to):
/// {"time":<ms now>,"operator_type":"...","operator_id":"...","reason":"...",
///  "payload":<the bytes as a JSON string, or the JSON value itself if payload_is_json>,
///  "positions":[{"partition":0,"first":10,"last":10}]}
///
/// Thread-safe. Each `write` reaches the OS (fflush) before it returns, so the batch's
/// acknowledgement may follow. Payload bytes that are not valid UTF-8 are replaced by U+FFFD.
/// Throws operator_error (type "dead_letter_file", id = path) if the file cannot be opened,
/// and from `write` if it cannot be written.
std::unique_ptr<dead_letter_writer> make_dead_letter_file(const std::string& path);

/// The `stdout` sink writing to `stream` instead of stdout (for tests and embedding).
/// `opts` are options of the `stdout` spec. The stream is flushed after every batch and never
/// closed.
std::unique_ptr<sink> make_stdout_sink(const options& opts, std::FILE* stream);

/// The `blackhole` sink: discards every batch, counting records and value bytes (8 per number
/// or timestamp, 1 per bool, the length of each string; missing values count 0). Parallel:
/// consume may run concurrently; the counters are exact once the pipeline has drained.
class blackhole_sink final : public sink {
public:
    operator_traits traits() const override { return {concurrency::parallel, false}; }
    void bind(const schema_ptr& input, bind_context& ctx) override;
    void consume(const batch& input, operator_context& ctx) override;
    void finish(operator_context& ctx) override;

    std::uint64_t records() const noexcept { return records_.load(std::memory_order_relaxed); }
    std::uint64_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> records_{0};
    std::atomic<std::uint64_t> bytes_{0};
};

}  // namespace sluice
