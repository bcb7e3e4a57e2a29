#pragma once

#include "kafka_common.hpp"

#include <sluice/core/row_json.hpp>
#include <sluice/operator/operator.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace sluice::kafka_detail {

/// How the sink turns a row into a message value.
enum class value_format {
    json,  ///< the whole row as one JSON object
    raw,   ///< the bytes of one string column
};

/// Options of the `kafka` sink.
struct kafka_sink_config {
    std::string id;            ///< operator id, for messages
    std::string topic;         ///< fixed topic, or "" when topic_column is used
    std::string topic_column;  ///< string column naming each record's topic, or ""
    std::string key_column;    ///< string column used as message key, or "" (no key)
    value_format format = value_format::json;  ///< value encoding
    std::string value_column;                  ///< raw: the string column sent as the value
    json_timestamp_format timestamps = json_timestamp_format::epoch_ms;  ///< json: timestamps
    std::chrono::nanoseconds flush_timeout = std::chrono::seconds(60);   ///< finish() bound
};

/// The `kafka` sink: an idempotent producer (acks=all). A batch's acknowledgements and
/// in-flight slot are held until every one of its messages has a delivery report, so the
/// source commits only delivered records and a slow broker slows the source. A message whose
/// delivery failed for good is dead-lettered with librdkafka's reason.
///
/// `consume` and `finish` run serially (the runtime calls a sink one batch at a time); a
/// thread of the sink serves delivery reports.
class kafka_sink final : public sink {
public:
    kafka_sink(kafka_sink_config config, conf_ptr conf);
    ~kafka_sink() override;
    kafka_sink(const kafka_sink&) = delete;
    kafka_sink& operator=(const kafka_sink&) = delete;
    kafka_sink(kafka_sink&&) = delete;
    kafka_sink& operator=(kafka_sink&&) = delete;

    /// Serial and ordered, like every sink; a record is done when the broker acknowledged it,
    /// and the sink times its end-to-end latency then.
    operator_traits traits() const override { return {concurrency::serial, true, true}; }
    void bind(const schema_ptr& input, bind_context& ctx) override;
    void consume(const batch& input, operator_context& ctx) override;
    void finish(operator_context& ctx) override;

    /// Delivery report of one message (librdkafka calls it on the report thread).
    void on_delivery(const rd_kafka_message_t* message);

private:
    struct pending_batch;
    void start(operator_context& ctx);
    rd_kafka_topic_t* topic_handle(std::string_view name);
    void settle(pending_batch* pending);
    void throw_if_fatal(operator_context& ctx);
    void stop_reporter();

    kafka_sink_config config_;
    conf_ptr conf_;
    handle_context context_;
    handle_ptr rk_;
    operator_context* ctx_ = nullptr;
    std::optional<row_json_writer> json_;
    std::optional<std::size_t> topic_index_;
    std::optional<std::size_t> key_index_;
    std::optional<std::size_t> value_index_;
    std::map<std::string, topic_ptr, std::less<>> topics_;
    std::string buffer_;
    int message_timeout_ms_ = 300000;

    std::thread reporter_;
    std::atomic<bool> stopping_{false};
    std::mutex fatal_mutex_;
    std::string fatal_;
};

}  // namespace sluice::kafka_detail
