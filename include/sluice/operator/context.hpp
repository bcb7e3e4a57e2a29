#pragma once

#include <sluice/core/metrics.hpp>
#include <sluice/graph/acknowledgement.hpp>

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// A record an operator could not process, on its way to the pipeline's dead-letter sink.
struct dead_letter_record {
    std::string_view operator_type;
    std::string_view operator_id;
    std::string_view reason;   ///< why, e.g. "invalid JSON: unclosed string at byte 17"
    std::string_view payload;  ///< the original bytes, or the row as JSON
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

/// What an operator sees of the running pipeline: its identity, its counters, the
/// dead-letter sink and the stop request. One per operator instance; thread-safe.
class operator_context {
public:
    operator_context(std::string type,
                     std::string id,
                     operator_metrics* metrics,
                     dead_letter_writer* dead_letter,
                     const std::atomic<bool>* stop_flag);

    const std::string& type() const noexcept { return type_; }
    const std::string& id() const noexcept { return id_; }
    operator_metrics& metrics() noexcept { return *metrics_; }

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
};

}  // namespace sluice
