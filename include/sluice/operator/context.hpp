#pragma once

#include <sluice/core/column.hpp>
#include <sluice/core/metrics.hpp>
#include <sluice/core/schema.hpp>
#include <sluice/graph/acknowledgement.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// A record an operator could not process, on its way to the pipeline's dead-letter sink.
struct dead_letter_record {
    std::string_view operator_type;
    std::string_view operator_id;
    std::string_view reason;       ///< why, e.g. "invalid JSON: unclosed string at byte 17"
    std::string_view payload;      ///< the original bytes, or the row as JSON
    bool payload_is_json = false;  ///< true if `payload` is a JSON value to embed as is
    std::vector<source_position> positions;  ///< source positions of the batch it came from
};

/// Where rejected records go. Implementations are thread-safe and durable before returning
/// (so that the batch's acknowledgement may follow).
class dead_letter_writer {
public:
    virtual ~dead_letter_writer() = default;
    virtual void write(const dead_letter_record& record) = 0;
    /// Makes every record written so far durable.
    virtual void flush() {}
    /// End of the run: flush and release resources.
    virtual void finish() { flush(); }
};

/// Progress that must survive a restart, shared by every operator of a pipeline: named int64
/// values (e.g. a window's "emitted and accepted up to" event time, under its operator id).
/// A source that can store data with its committed positions (Kafka: commit metadata) stores
/// `values()` with every commit and, when it resumes from those positions, hands the stored
/// values back with `restore()`. Values only grow. Thread-safe.
class resume_state {
public:
    /// Raises `key`'s current value to `value` (never lowers it).
    void advance(std::string_view key, std::int64_t value);
    /// A value stored by an earlier run: raises both the resumed and the current value (what
    /// the earlier run had made durable stays durable in the next commits).
    void restore(std::string_view key, std::int64_t value);
    std::optional<std::int64_t> value(std::string_view key) const;
    /// The largest value restored for `key`, or nullopt if nothing was restored.
    std::optional<std::int64_t> resumed(std::string_view key) const;
    std::map<std::string, std::int64_t, std::less<>> values() const;

    /// Compact JSON object of `values` ({"stats":1767225630000}); "" when there is none.
    static std::string encode(const std::map<std::string, std::int64_t, std::less<>>& values);
    /// The inverse of encode(); nullopt if `text` is not such an object (e.g. metadata written by
    /// another program). "" decodes to an empty map.
    static std::optional<std::map<std::string, std::int64_t, std::less<>>> decode(
            std::string_view text);

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::int64_t, std::less<>> values_;
    std::map<std::string, std::int64_t, std::less<>> resumed_;
};

/// End-to-end latency: records, in `metrics.event_latency`, the time from each record's creation
/// (`created_ns`, wall clock in ns, possibly another machine's: a Kafka producer's) until now.
/// Null or empty `created_ns` records nothing. Thread-safe.
void record_end_to_end_latency(const column_ptr& created_ns, operator_metrics& metrics) noexcept;

/// What an operator sees of the running pipeline: its identity, its counters, the
/// dead-letter sink and the stop request. One per operator instance; thread-safe.
class operator_context {
public:
    operator_context(std::string type,
                     std::string id,
                     operator_metrics* metrics,
                     dead_letter_writer* dead_letter,
                     const std::atomic<bool>* stop_flag,
                     std::shared_ptr<resume_state> resume = nullptr);

    const std::string& type() const noexcept { return type_; }
    const std::string& id() const noexcept { return id_; }
    operator_metrics& metrics() noexcept { return *metrics_; }
    /// Records end-to-end latency, creation until now, for each record of `created_ns` (a
    /// batch's batch::created_ns(); null records nothing). For sinks with
    /// operator_traits::times_delivery, when their destination acknowledged the records; safe
    /// from any thread.
    void record_delivered(const column_ptr& created_ns) noexcept;
    /// The pipeline's resume state (a context of its own when built without a pipeline).
    const std::shared_ptr<resume_state>& resume() const noexcept { return resume_; }

    /// Sends one record to the dead-letter sink with its reason and counts it as rejected.
    void reject(std::string_view payload,
                std::string_view reason,
                bool payload_is_json = false,
                std::vector<source_position> positions = {});

    /// True once the pipeline was asked to stop (SIGINT/SIGTERM or a stop() call): sources
    /// stop producing; other operators finish what they hold.
    bool stop_requested() const noexcept {
        return stop_flag_ != nullptr && stop_flag_->load(std::memory_order_relaxed);
    }

private:
    std::string type_;
    std::string id_;
    operator_metrics* metrics_;
    operator_metrics own_metrics_;  // used when none is given (unit tests)
    dead_letter_writer* dead_letter_;
    const std::atomic<bool>* stop_flag_;
    std::shared_ptr<resume_state> resume_;
};

/// Throws operator_error naming the operator unless `received` is (or equals) the schema the
/// operator was bound to: a transform's guard against a wiring bug in its caller.
void require_bound_schema(const schema_ptr& received,
                          const schema_ptr& bound,
                          const operator_context& ctx);

}  // namespace sluice
