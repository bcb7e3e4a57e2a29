#include "kafka_sink.hpp"

#include <sluice/core/log.hpp>

#include <fmt/format.h>

#include <cstdlib>

namespace sluice::kafka_detail {

namespace {

using steady = std::chrono::steady_clock;

extern "C" void delivery_trampoline(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    static_cast<kafka_sink*>(static_cast<handle_context*>(opaque)->owner)->on_delivery(message);
}

}  // namespace

/// One consumed batch whose messages are on their way: it keeps the batch's acknowledgements
/// and in-flight slot alive until the last delivery report (or local failure) settles it.
struct kafka_sink::pending_batch {
    std::vector<ack_ref> acks;
    flight_ref flight;
    std::vector<source_position> positions;  // for dead letters
    column_ptr created_ns;                   // for the end-to-end latency at delivery
    std::atomic<std::size_t> remaining{0};
    std::atomic<bool> failed{false};

    /// Not delivered: its offsets are not committed and it is not timed as delivered.
    void fail(std::string_view reason) {
        failed.store(true, std::memory_order_release);
        for (const auto& ack : acks) {
            ack->fail(reason);
        }
    }
};

kafka_sink::kafka_sink(kafka_sink_config config, conf_ptr conf)
    : config_(std::move(config))
    , conf_(std::move(conf)) {
    context_.who = fmt::format("kafka sink '{}'", config_.id);
    context_.owner = this;
    char value[32] = {0};
    std::size_t size = sizeof(value);
    if (rd_kafka_conf_get(conf_.get(), "message.timeout.ms", value, &size) == RD_KAFKA_CONF_OK) {
        message_timeout_ms_ = std::max(1, std::atoi(value));
    }
}

kafka_sink::~kafka_sink() {
    stop_reporter();
    if (rk_) {
        // finish() normally flushed; after a failed run do not wait long for a broker.
        rd_kafka_flush(rk_.get(), 1000);
        // Still-pending batches are released by purging: their reports come with an error.
        rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(rk_.get(), 0);
        topics_.clear();
        rk_.reset();
    }
}

void kafka_sink::bind(const schema_ptr& input, bind_context& ctx) {
    const auto require_string = [&](const std::string& key,
                                    const std::string& name) -> std::optional<std::size_t> {
        const auto index = input->index_of(name);
        if (!index) {
            ctx.error(
                    key,
                    "unknown-column",
                    fmt::format("'{}' names column '{}', which the input does not have (input: {})",
                                key,
                                name,
                                input->to_string()));
            return std::nullopt;
        }
        if (input->at(*index).type != data_type::string) {
            ctx.error(key,
                      "type-mismatch",
                      fmt::format("'{}' column '{}' must be a string, got {}",
                                  key,
                                  name,
                                  to_string(input->at(*index).type)));
            return std::nullopt;
        }
        return index;
    };
    if (!config_.topic_column.empty()) {
        topic_index_ = require_string("topic_column", config_.topic_column);
    }
    if (!config_.key_column.empty()) {
        key_index_ = require_string("key_column", config_.key_column);
    }
    if (config_.format == value_format::raw) {
        value_index_ = require_string("value_column", config_.value_column);
    } else {
        json_.emplace(*input, row_json_options{config_.timestamps, false});
    }
}

void kafka_sink::start(operator_context& ctx) {
    ctx_ = &ctx;
    route_logs(conf_.get(), &context_);
    rd_kafka_conf_set_dr_msg_cb(conf_.get(), delivery_trampoline);
    char error[512] = {0};
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf_.get(), error, sizeof(error));
    if (rk == nullptr) {
        throw operator_error(
                ctx.type(), ctx.id(), fmt::format("cannot create the Kafka producer: {}", error));
    }
    (void)conf_.release();  // rd_kafka_new owns it now
    rk_.reset(rk);
    reporter_ = std::thread([this] {
        // Delivery reports are what releases batches upstream: serve them continuously, not
        // only when the next batch arrives.
        while (!stopping_.load(std::memory_order_acquire)) {
            rd_kafka_poll(rk_.get(), 50);
        }
    });
}

void kafka_sink::stop_reporter() {
    stopping_.store(true, std::memory_order_release);
    if (reporter_.joinable()) {
        reporter_.join();
    }
}

rd_kafka_topic_t* kafka_sink::topic_handle(std::string_view name) {
    if (const auto it = topics_.find(name); it != topics_.end()) {
        return it->second.get();
    }
    topic_ptr handle(rd_kafka_topic_new(rk_.get(), std::string(name).c_str(), nullptr));
    if (!handle) {
        return nullptr;
    }
    return topics_.emplace(std::string(name), std::move(handle)).first->second.get();
}

void kafka_sink::throw_if_fatal(operator_context& ctx) {
    std::lock_guard lock(fatal_mutex_);
    if (!fatal_.empty()) {
        throw operator_error(ctx.type(), ctx.id(), fmt::format("Kafka sink failed: {}", fatal_));
    }
}

void kafka_sink::settle(pending_batch* pending) {
    if (pending->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        // Every message has its report: the batch's records are done (delivered or
        // dead-lettered) unless the producer failed under them.
        if (ctx_ != nullptr && !pending->failed.load(std::memory_order_acquire)) {
            ctx_->record_delivered(pending->created_ns);
        }
        // Dropping the last references acknowledges upstream and frees the in-flight slot.
        delete pending;
    }
}

void kafka_sink::on_delivery(const rd_kafka_message_t* message) {
    auto* pending = static_cast<pending_batch*>(message->_private);
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        char text[512] = {0};
        const bool fatal =
                message->err == RD_KAFKA_RESP_ERR__FATAL ||
                rd_kafka_fatal_error(rk_.get(), text, sizeof(text)) != RD_KAFKA_RESP_ERR_NO_ERROR;
        if (fatal || message->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
            message->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
            // Not a record's problem: the producer is unusable (or being torn down). The batch
            // must not count as delivered.
            const std::string reason =
                    text[0] != '\0' ? std::string(text) : rd_kafka_err2str(message->err);
            pending->fail(reason);
            if (fatal) {
                std::lock_guard lock(fatal_mutex_);
                if (fatal_.empty()) {
                    fatal_ = reason;
                }
            }
        } else if (ctx_ != nullptr) {
            // Retries (message.timeout.ms, message.send.max.retries) are exhausted: this record
            // goes to the dead-letter sink, and the batch still counts as handled.
            const std::string_view payload(static_cast<const char*>(message->payload),
                                           message->len);
            try {
                ctx_->reject(payload,
                             fmt::format("Kafka delivery to '{}' failed: {}",
                                         rd_kafka_topic_name(message->rkt),
                                         rd_kafka_err2str(message->err)),
                             config_.format == value_format::json,
                             pending->positions);
            } catch (const std::exception& e) {
                // The dead-letter sink could not take it either (this is librdkafka's thread,
                // where an exception would end the process): the record is nowhere, so its
                // batch must not be acknowledged, and the sink fails at its next call.
                const std::string reason = fmt::format("the dead-letter sink failed: {}", e.what());
                pending->fail(reason);
                std::lock_guard lock(fatal_mutex_);
                if (fatal_.empty()) {
                    fatal_ = reason;
                }
            }
        }
    }
    settle(pending);
}

void kafka_sink::consume(const batch& input, operator_context& ctx) {
    if (!rk_) {
        start(ctx);
    }
    throw_if_fatal(ctx);
    const std::size_t rows = input.num_rows();
    if (rows == 0) {
        return;
    }
    auto* pending = new pending_batch;
    pending->acks = input.acks();
    pending->flight = input.flight();
    pending->positions = input.source_positions();
    pending->created_ns = input.created_ns();
    // One extra count for this loop, so the batch cannot settle before every message is queued.
    pending->remaining.store(rows + 1, std::memory_order_relaxed);

    // A row dead-lettered here gets no delivery report, so it gives up its count (the loop's
    // own count is still held, so this never frees the batch). If the dead-letter sink fails,
    // this row and the ones after it are never queued: they give up their counts, the batch
    // fails (its offsets are not committed) and the loop's count is settled before the error
    // goes up.
    const auto reject_row = [&](std::size_t row, std::string_view payload, std::string reason) {
        try {
            ctx.reject(payload, reason, json_.has_value(), pending->positions);
        } catch (const std::exception& e) {
            pending->fail(fmt::format("the dead-letter sink failed: {}", e.what()));
            pending->remaining.fetch_sub(rows - row, std::memory_order_acq_rel);
            settle(pending);
            throw;
        }
        pending->remaining.fetch_sub(1, std::memory_order_acq_rel);
    };

    const column* topics = topic_index_ ? &input.column_at(*topic_index_) : nullptr;
    const column* keys = key_index_ ? &input.column_at(*key_index_) : nullptr;
    const column* values = value_index_ ? &input.column_at(*value_index_) : nullptr;
    rd_kafka_topic_t* fixed_topic = topics == nullptr ? topic_handle(config_.topic) : nullptr;
    std::optional<row_json_cursor> cursor;
    if (json_) {
        cursor.emplace(json_->prepare(input));
    }

    for (std::size_t row = 0; row < rows; ++row) {
        const char* payload = nullptr;
        std::size_t payload_size = 0;
        if (cursor) {
            buffer_.clear();
            cursor->append_row(buffer_, row);
            payload = buffer_.data();
            payload_size = buffer_.size();
        } else if (values->is_valid(row)) {
            const auto text = values->string_at(row);
            payload = text.data();
            payload_size = text.size();
        }  // a missing raw value is sent as a null value (a tombstone)
        rd_kafka_topic_t* topic = fixed_topic;
        std::string_view topic_name = config_.topic;
        if (topics != nullptr) {
            if (!topics->is_valid(row) || topics->string_at(row).empty()) {
                reject_row(row,
                           {payload == nullptr ? "" : payload, payload_size},
                           fmt::format("column '{}' holds no topic name", config_.topic_column));
                continue;
            }
            topic_name = topics->string_at(row);
            topic = topic_handle(topic_name);
        }
        const void* key = nullptr;
        std::size_t key_size = 0;
        if (keys != nullptr && keys->is_valid(row)) {
            const auto text = keys->string_at(row);
            key = text.data();
            key_size = text.size();
        }
        const auto deadline = steady::now() + std::chrono::milliseconds(message_timeout_ms_) +
                              std::chrono::seconds(10);
        while (true) {
            if (topic != nullptr && rd_kafka_produce(topic,
                                                     RD_KAFKA_PARTITION_UA,
                                                     RD_KAFKA_MSG_F_COPY,
                                                     const_cast<char*>(payload),
                                                     payload_size,
                                                     key,
                                                     key_size,
                                                     pending) == 0) {
                break;
            }
            // rd_kafka_topic_new and rd_kafka_produce both leave their reason here.
            const rd_kafka_resp_err_t err = rd_kafka_last_error();
            if (topic != nullptr && err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                // Backpressure: librdkafka's queue is full until delivery reports drain it.
                if (steady::now() >= deadline) {
                    // This row and the ones after it were never queued, so no report will give
                    // up their counts: give them up here (the loop's count keeps the batch
                    // alive until settle()), and fail the batch.
                    pending->fail("the producer queue stayed full");
                    pending->remaining.fetch_sub(rows - row, std::memory_order_acq_rel);
                    settle(pending);  // this loop's own count
                    throw operator_error(
                            ctx.type(),
                            ctx.id(),
                            fmt::format(
                                    "the producer queue stayed full for {} ms; is the broker down?",
                                    message_timeout_ms_ + 10000));
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                continue;
            }
            // A record librdkafka refuses outright (too large, unknown partition, ...).
            reject_row(row,
                       {payload == nullptr ? "" : payload, payload_size},
                       fmt::format("Kafka refused the record for '{}': {}",
                                   topic_name,
                                   rd_kafka_err2str(err)));
            break;
        }
    }
    settle(pending);
}

void kafka_sink::finish(operator_context& ctx) {
    if (!rk_) {
        return;
    }
    const int timeout = to_timeout_ms(config_.flush_timeout);
    rd_kafka_flush(rk_.get(), timeout);
    const int left = rd_kafka_outq_len(rk_.get());
    stop_reporter();
    rd_kafka_poll(rk_.get(), 0);  // reports that came after the reporter stopped
    throw_if_fatal(ctx);
    if (left > 0) {
        throw operator_error(
                ctx.type(),
                ctx.id(),
                fmt::format("{} message(s) still undelivered after waiting {} ms", left, timeout));
    }
}

}  // namespace sluice::kafka_detail
