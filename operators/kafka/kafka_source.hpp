#pragma once

#include "kafka_common.hpp"

#include <sluice/operator/batching.hpp>
#include <sluice/operator/operator.hpp>
#include <sluice/ops/kafka.hpp>

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace sluice::kafka_detail {

/// Where a partition starts when this process reads it for the first time.
enum class start_mode {
    earliest,   ///< the beginning of the partition, whatever was committed
    latest,     ///< the end: only records produced from now on
    committed,  ///< the group's committed offset; without one, librdkafka's auto.offset.reset
};

/// Options of the `kafka` source.
struct kafka_source_config {
    std::string id;                            ///< operator id, for messages
    std::string group_id;                      ///< consumer group (group.id)
    std::vector<std::string> topics;           ///< topics by name, or empty
    std::string topic_regex;                   ///< topics by regular expression, or ""
    start_mode start = start_mode::committed;  ///< first read of a partition
    batching_config batching;                  ///< cut at max_records or max_latency
    std::chrono::nanoseconds commit_interval = std::chrono::seconds(1);  ///< between commits
    std::chrono::milliseconds max_out_of_orderness{0};  ///< watermark lag behind max time
    std::chrono::nanoseconds idle_timeout =
            std::chrono::seconds(30);  ///< silent partition; 0 = never
    std::chrono::nanoseconds rebalance_timeout =
            std::chrono::seconds(10);  ///< drain wait on revoke
};

/// The `kafka` source: a consumer-group member whose offsets are committed only for records
/// every sink accepted. See operators/kafka/README.md.
///
/// `poll` runs on one thread at a time (the runtime's source thread); librdkafka serves the
/// rebalance callback on that thread, inside `rd_kafka_consumer_poll`. `acknowledge` and
/// `reject_positions` come from any thread and only touch the trackers under `mutex_`.
class kafka_source final : public source {
public:
    kafka_source(kafka_source_config config, conf_ptr conf);
    ~kafka_source() override;
    kafka_source(const kafka_source&) = delete;
    kafka_source& operator=(const kafka_source&) = delete;
    kafka_source(kafka_source&&) = delete;
    kafka_source& operator=(kafka_source&&) = delete;

    static const schema_ptr& kafka_schema();

    schema_ptr output_schema() const override { return kafka_schema(); }
    poll_status poll(source_batch& out, operator_context& ctx) override;
    void acknowledge(const std::vector<source_position>& positions) override;
    void reject_positions(const std::vector<source_position>& positions) override;
    void close(operator_context& ctx) override;

    /// Called by librdkafka (through a C trampoline) on the poll thread.
    void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);
    /// Called by librdkafka when an asynchronous commit finished.
    void on_commit_result(rd_kafka_resp_err_t err);

private:
    void start(operator_context& ctx);
    /// The id used in source positions for (topic, partition): topic index * 65536 + partition.
    std::int32_t position_id(const char* topic, std::int32_t partition);
    /// Commits the committable offsets: `ids` only (empty = all); all positions reached so far
    /// when `everything`, else only those that moved. Synchronous or not.
    void commit(const std::vector<std::int32_t>& ids, bool everything, bool synchronous);
    /// Reads the committed metadata of `partitions` and restores the resume state stored there.
    void restore_resume_state(rd_kafka_topic_partition_list_t* partitions);
    /// Waits (bounded by rebalance_timeout) until the batches of `ids` are all acknowledged.
    void drain(const std::vector<std::int32_t>& ids);
    void drop_collected(const std::set<std::int32_t>& ids);
    /// After a read call during which partitions were revoked: drops their messages from the
    /// first `count` of fetched_ (set to nullptr) and restarts those assigned again.
    void settle_fetched(std::size_t count, operator_context& ctx);
    void destroy_collected();
    void shut_down();
    batch make_batch(operator_context& ctx, std::vector<source_position>& positions);
    /// The lag reporter's thread: publishes the consumer lag about once a second until
    /// stop_lag_reporter(). Its own thread, because poll() does not run while the runtime
    /// holds the source back, which is when the lag matters.
    void report_lag(rd_kafka_t* rk, operator_metrics* metrics);
    void stop_lag_reporter();

    kafka_source_config config_;
    conf_ptr conf_;  // until start() hands it to rd_kafka_new
    handle_context context_;
    handle_ptr rk_;
    queue_ptr queue_;  // the consumer queue (messages, rebalances, commit results); before rk_ goes
    bool closing_ = false;
    std::shared_ptr<resume_state> resume_;  // the pipeline's; stored with every commit

    // Poll thread only.
    std::vector<std::string> topic_names_;  // index = position id >> 16
    std::vector<std::pair<const rd_kafka_topic_t*, std::int32_t>> topic_cache_;  // rkt -> index
    std::set<std::int32_t> assigned_;             // position ids currently assigned
    std::set<std::int32_t> seen_;                 // ever assigned in this process
    std::vector<rd_kafka_message_t*> collected_;  // the batch being cut
    // What one rd_kafka_consume_batch_queue() call fills. Not collected_ itself: the rebalance
    // callback (run inside that call) edits collected_ while librdkafka writes into this.
    std::vector<rd_kafka_message_t*> fetched_;
    std::set<std::int32_t> revoked_in_call_;     // revoked since the last read call returned
    std::set<std::int32_t> reassigned_in_call_;  // of those, assigned again meanwhile
    kafka_watermarks watermarks_;
    std::int64_t last_watermark_ = INT64_MIN;
    std::chrono::steady_clock::time_point next_commit_;
    std::chrono::steady_clock::time_point next_error_log_;

    // Shared with acknowledging threads and the lag reporter.
    std::mutex mutex_;
    std::condition_variable acked_;
    std::unordered_map<std::int32_t, kafka_offset_tracker> trackers_;
    // Where reading a partition starts: its lag before the first record is handed out.
    enum class lag_start : std::uint8_t {
        earliest,
        latest,
        committed,
        unknown
    };
    struct lag_position {
        std::string topic;
        std::int32_t partition = 0;
        std::int64_t next_offset = -1;         // one past the last record handed out; -1 = none yet
        lag_start start = lag_start::unknown;  // while next_offset is -1
    };
    std::unordered_map<std::int32_t, lag_position> lag_positions_;  // assigned partitions
    lag_start reset_start_ = lag_start::earliest;  // auto.offset.reset: no committed offset
    bool lag_stop_ = false;
    std::condition_variable lag_wake_;
    std::thread lag_thread_;
    std::atomic<bool> recommit_all_{false};
    std::atomic<std::uint64_t> stale_acks_{0};
};

}  // namespace sluice::kafka_detail
