#pragma once

// Shared by the kafka source, sink and producer: librdkafka handles with RAII, configuration
// from options with librdkafka's own error text, and log routing (librdkafka must never print).

#include <sluice/core/error.hpp>
#include <sluice/operator/option_spec.hpp>
#include <sluice/operator/options.hpp>

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::kafka_detail {

struct conf_deleter {
    void operator()(rd_kafka_conf_t* conf) const noexcept { rd_kafka_conf_destroy(conf); }
};
struct handle_deleter {
    void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy(rk); }
};
struct topic_deleter {
    void operator()(rd_kafka_topic_t* rkt) const noexcept { rd_kafka_topic_destroy(rkt); }
};
struct queue_deleter {
    void operator()(rd_kafka_queue_t* queue) const noexcept { rd_kafka_queue_destroy(queue); }
};
struct list_deleter {
    void operator()(rd_kafka_topic_partition_list_t* list) const noexcept {
        rd_kafka_topic_partition_list_destroy(list);
    }
};
using conf_ptr = std::unique_ptr<rd_kafka_conf_t, conf_deleter>;
using handle_ptr = std::unique_ptr<rd_kafka_t, handle_deleter>;
using topic_ptr = std::unique_ptr<rd_kafka_topic_t, topic_deleter>;
using queue_ptr = std::unique_ptr<rd_kafka_queue_t, queue_deleter>;
using list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t, list_deleter>;

using property_list = std::vector<std::pair<std::string, std::string>>;

/// Declares `brokers` and `librdkafka` on a spec.
void describe_connection(option_spec& spec);

/// Builds a librdkafka configuration: `defaults` first, then the user's `librdkafka` map
/// (which may override defaults), then `forced` (properties the operator's guarantees rest
/// on). A property librdkafka rejects, or a user property in `reserved` (with the reason in
/// its second member), becomes a diagnostic located at that key with librdkafka's own text.
/// Throws config_error with every problem.
conf_ptr build_conf(const options& opts,
                    const property_list& defaults,
                    const property_list& forced,
                    const property_list& reserved);

/// The same without options (tools): throws std::runtime_error with librdkafka's text.
conf_ptr build_conf(const property_list& properties);

/// The opaque of every handle: a name for log lines and the object owning the handle (for
/// callbacks such as rebalance).
struct handle_context {
    std::string who;        ///< "kafka source 'id'"
    void* owner = nullptr;  ///< the source, sink or producer
};

/// Routes librdkafka's log lines and global errors to sluice::log, tagged with `context.who`,
/// and makes `context` the handle's opaque. `context` must outlive the handle. Repeated
/// errors are logged at most every few seconds per error code.
void route_logs(rd_kafka_conf_t* conf, handle_context* context);

/// Milliseconds for librdkafka timeouts, clamped to [0, INT_MAX].
int to_timeout_ms(std::chrono::nanoseconds value);

}  // namespace sluice::kafka_detail
