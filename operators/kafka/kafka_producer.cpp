#include "kafka_common.hpp"

#include <sluice/ops/kafka.hpp>

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <stdexcept>

namespace sluice {

using kafka_detail::build_conf;
using kafka_detail::conf_ptr;
using kafka_detail::handle_context;
using kafka_detail::handle_ptr;
using kafka_detail::property_list;
using kafka_detail::route_logs;
using kafka_detail::topic_ptr;

struct kafka_producer::impl {
    kafka_producer_config config;
    handle_context context;
    handle_ptr rk;
    topic_ptr topic;
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> delivered{0};
    std::atomic<std::uint64_t> failed{0};
    std::mutex error_mutex;
    std::string first_error;

    static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void*) {
        auto* self = static_cast<impl*>(static_cast<handle_context*>(rd_kafka_opaque(rk))->owner);
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            self->delivered.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        self->failed.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(self->error_mutex);
        if (self->first_error.empty()) {
            self->first_error = rd_kafka_err2str(message->err);
        }
    }
};

kafka_producer::kafka_producer(kafka_producer_config config)
    : impl_(std::make_unique<impl>()) {
    impl_->config = std::move(config);
    impl_->context.who = fmt::format("kafka producer '{}'", impl_->config.topic);
    impl_->context.owner = impl_.get();
    property_list properties = {
            {"bootstrap.servers", impl_->config.brokers},
            {"enable.idempotence", "true"},
            {"acks", "all"},
            {"linger.ms", "5"},
            {"batch.num.messages", "10000"},
            {"compression.codec", "lz4"},
            {"partitioner", "murmur2_random"},
    };
    properties.insert(
            properties.end(), impl_->config.properties.begin(), impl_->config.properties.end());
    conf_ptr conf = build_conf(properties);
    route_logs(conf.get(), &impl_->context);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &impl::on_delivery);
    char error[512] = {0};
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), error, sizeof(error));
    if (rk == nullptr) {
        throw std::runtime_error(fmt::format("cannot create a Kafka producer: {}", error));
    }
    (void)conf.release();  // rd_kafka_new took it
    impl_->rk.reset(rk);
    impl_->topic.reset(rd_kafka_topic_new(rk, impl_->config.topic.c_str(), nullptr));
    if (!impl_->topic) {
        throw std::runtime_error(fmt::format("cannot use topic '{}': {}",
                                             impl_->config.topic,
                                             rd_kafka_err2str(rd_kafka_last_error())));
    }
}

kafka_producer::~kafka_producer() {
    if (impl_ && impl_->rk) {
        // Bounded: a destructor must not hang on a dead broker.
        rd_kafka_flush(impl_->rk.get(), 5000);
        impl_->topic.reset();
        impl_->rk.reset();
    }
}

void kafka_producer::send(std::string_view key,
                          std::string_view value,
                          std::int64_t timestamp_ms,
                          std::chrono::milliseconds queue_full_timeout) {
    const auto deadline = std::chrono::steady_clock::now() + queue_full_timeout;
    while (true) {
        const rd_kafka_resp_err_t err = rd_kafka_producev(
                impl_->rk.get(),
                RD_KAFKA_V_RKT(impl_->topic.get()),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                RD_KAFKA_V_TIMESTAMP(timestamp_ms),
                RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            impl_->sent.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            throw std::runtime_error(fmt::format(
                    "cannot produce to '{}': {}", impl_->config.topic, rd_kafka_err2str(err)));
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            throw std::runtime_error(
                    fmt::format("producer queue for '{}' stayed full for {} ms (broker down?)",
                                impl_->config.topic,
                                queue_full_timeout.count()));
        }
        rd_kafka_poll(impl_->rk.get(), 10);
    }
}

void kafka_producer::poll(std::chrono::milliseconds timeout) {
    rd_kafka_poll(impl_->rk.get(), static_cast<int>(timeout.count()));
}

std::size_t kafka_producer::flush(std::chrono::milliseconds timeout) {
    rd_kafka_flush(impl_->rk.get(), static_cast<int>(timeout.count()));
    return static_cast<std::size_t>(std::max(0, rd_kafka_outq_len(impl_->rk.get())));
}

std::uint64_t kafka_producer::sent() const noexcept {
    return impl_->sent.load();
}
std::uint64_t kafka_producer::delivered() const noexcept {
    return impl_->delivered.load();
}
std::uint64_t kafka_producer::failed() const noexcept {
    return impl_->failed.load();
}
std::string kafka_producer::first_error() const {
    std::lock_guard lock(impl_->error_mutex);
    return impl_->first_error;
}

std::string create_kafka_topic(const std::string& brokers,
                               const std::string& topic,
                               int partitions,
                               std::chrono::milliseconds timeout) {
    handle_context context{fmt::format("kafka admin '{}'", topic), nullptr};
    conf_ptr conf;
    try {
        conf = build_conf({{"bootstrap.servers", brokers}});
    } catch (const std::exception& e) {
        return e.what();
    }
    route_logs(conf.get(), &context);
    char error[512] = {0};
    handle_ptr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), error, sizeof(error)));
    if (!rk) {
        return error;
    }
    (void)conf.release();  // rd_kafka_new took it
    rd_kafka_NewTopic_t* request =
            rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, error, sizeof(error));
    if (request == nullptr) {
        return error;
    }
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
    rd_kafka_AdminOptions_t* admin =
            rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(
            admin, static_cast<int>(timeout.count()), error, sizeof(error));
    rd_kafka_AdminOptions_set_request_timeout(
            admin, static_cast<int>(timeout.count()), error, sizeof(error));
    rd_kafka_CreateTopics(rk.get(), &request, 1, admin, queue);
    std::string result = fmt::format("no answer from {} within {} ms", brokers, timeout.count());
    if (rd_kafka_event_t* event =
                rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 1000)) {
        if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            result = rd_kafka_event_error_string(event);
        } else if (const auto* created = rd_kafka_event_CreateTopics_result(event)) {
            std::size_t count = 0;
            const rd_kafka_topic_result_t** topics =
                    rd_kafka_CreateTopics_result_topics(created, &count);
            result.clear();
            for (std::size_t i = 0; i < count; ++i) {
                const auto err = rd_kafka_topic_result_error(topics[i]);
                if (err != RD_KAFKA_RESP_ERR_NO_ERROR &&
                    err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                    const char* text = rd_kafka_topic_result_error_string(topics[i]);
                    result = text != nullptr ? text : rd_kafka_err2str(err);
                }
            }
        }
        rd_kafka_event_destroy(event);
    }
    rd_kafka_AdminOptions_destroy(admin);
    rd_kafka_NewTopic_destroy(request);
    rd_kafka_queue_destroy(queue);
    return result;
}

}  // namespace sluice
