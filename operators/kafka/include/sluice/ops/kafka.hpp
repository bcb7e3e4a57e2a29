#pragma once

#include <sluice/core/column.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

class operator_registry;

/// Registers the `kafka` source (consumer group, offsets committed only for delivered records)
/// and the `kafka` sink (idempotent producer, acknowledged from delivery reports).
void register_kafka_operators(operator_registry& registry);

/// Which offsets of one partition may be committed: the batches a source has handed out, in
/// order, and which of them every sink has accepted.
///
/// A batch covers offsets [first, last] of the partition. The commit position is one past the
/// last offset of the longest run of accepted batches at the front (the highest *contiguous*
/// acknowledged offset + 1), so a batch accepted early never lets an older, still in-flight one
/// be skipped. Contiguity is by hand-out order, not by offset arithmetic: Kafka offsets have
/// gaps (compaction, transaction markers). A failed batch stops the commit position for good.
///
/// Not thread-safe: the kafka source guards it with its own mutex.
class kafka_offset_tracker {
public:
    /// A batch [first, last] was handed out (first <= last).
    void issue(std::int64_t first, std::int64_t last);
    /// Every sink accepted batch [first, last]. Returns false if no in-flight batch has exactly
    /// these bounds (e.g. a late acknowledgement from before a rebalance): nothing changes.
    bool acknowledge(std::int64_t first, std::int64_t last);
    /// Batch [first, last] was not delivered: nothing at or after it is ever committed.
    bool fail(std::int64_t first, std::int64_t last);

    /// The offset to commit (last accepted contiguous offset + 1) if it moved since the last
    /// call to `take_commit`, and forgets the batches it covers.
    std::optional<std::int64_t> take_commit();
    /// The commit position reached so far (nullopt before the first accepted batch).
    std::optional<std::int64_t> commit_position() const noexcept { return committed_; }

    /// Batches handed out and neither accepted nor failed.
    std::size_t in_flight() const noexcept { return in_flight_; }
    /// True if a batch failed (the commit position is stuck before it).
    bool blocked() const noexcept { return blocked_; }

private:
    enum class state : std::uint8_t {
        pending,
        accepted,
        failed
    };
    struct range {
        std::int64_t first;
        std::int64_t last;
        state status;
    };
    range* find(std::int64_t first, std::int64_t last);

    std::deque<range> ranges_;
    std::size_t in_flight_ = 0;
    std::optional<std::int64_t> committed_;
    bool moved_ = false;
    bool blocked_ = false;
};

/// Event-time watermark of a source reading several partitions: per partition the largest
/// timestamp seen minus `max_out_of_orderness`; the source's watermark is the minimum over its
/// active partitions. A partition that has been silent for `idle_timeout` (0 = never) does not
/// hold the watermark back; if every partition is idle the largest one is used, so windows
/// still close on a quiet stream. The result never decreases. Not thread-safe.
class kafka_watermarks {
public:
    using clock = std::chrono::steady_clock;

    kafka_watermarks(std::chrono::milliseconds max_out_of_orderness,
                     std::chrono::nanoseconds idle_timeout);

    /// Partition `id` was assigned at `now` (it holds the watermark back until it has data or
    /// turns idle).
    void assign(std::int32_t id, clock::time_point now);
    /// Partition `id` was revoked: it no longer counts.
    void revoke(std::int32_t id);
    /// A record of partition `id` with event time `timestamp_ms` was read at `now`.
    void observe(std::int32_t id, std::int64_t timestamp_ms, clock::time_point now);

    /// The watermark at `now` (ms; `no_watermark` from batch.hpp = INT64_MIN before any data).
    std::int64_t current(clock::time_point now);

private:
    struct partition_state {
        std::int64_t max_timestamp = 0;  // set on insertion (no_watermark until data came)
        clock::time_point last_seen;
    };
    std::vector<std::pair<std::int32_t, partition_state>> partitions_;
    std::int64_t max_out_of_orderness_ms_;
    std::chrono::nanoseconds idle_timeout_;
    std::int64_t emitted_;
};

/// Consumer lag of a source over its assigned partitions: per partition the high watermark
/// (the offset the next produced message gets) minus the next offset the source will hand out.
/// The kafka source publishes `total` and `max` as the gauges `consumer_lag` and
/// `consumer_lag_max` (see operators/kafka/README.md).
struct kafka_lag {
    std::int64_t total = 0;      ///< records behind, summed over the partitions counted
    std::int64_t max = 0;        ///< the largest lag of one partition
    std::size_t partitions = 0;  ///< partitions counted

    /// Counts one partition. A negative high watermark or next offset means "not known yet"
    /// (no fetch answered, no record read): the partition is not counted. A high watermark
    /// behind the next offset (cached from an older fetch) counts as no lag.
    void add(std::int64_t high_watermark, std::int64_t next_offset) noexcept;
};

/// The creation times (batch::created_ns: int64 ns since the epoch) of records whose Kafka
/// message timestamps, in ms since the epoch, are `timestamps_ms`: the lineage column the
/// kafka source stamps so that sinks measure end-to-end latency from the message timestamp.
column_ptr kafka_creation_times(std::span<const std::int64_t> timestamps_ms);

/// Settings of a `kafka_producer`.
struct kafka_producer_config {
    std::string brokers = "127.0.0.1:9092";  ///< bootstrap.servers
    std::string topic;                       ///< topic every message goes to
    /// Further librdkafka properties (name, value); applied after the defaults below.
    std::vector<std::pair<std::string, std::string>> properties;
};

/// A small idempotent Kafka producer (acks=all, murmur2 partitioner like the Java client) for
/// tools and tests: `sluice generate` feeds a topic with it. Messages are copied; delivery is
/// reported through `delivered()` / `failed()`.
///
/// Thread-safety: one thread calls `send`/`poll`/`flush`. Errors: the constructor throws
/// std::runtime_error with librdkafka's text for a rejected property; `send` throws it for a
/// fatal producer error or a queue that stays full for `queue_full_timeout`.
class kafka_producer {
public:
    explicit kafka_producer(kafka_producer_config config);
    ~kafka_producer();
    kafka_producer(const kafka_producer&) = delete;
    kafka_producer& operator=(const kafka_producer&) = delete;
    kafka_producer(kafka_producer&&) = delete;
    kafka_producer& operator=(kafka_producer&&) = delete;

    /// Queues one message (key may be empty = no key); `timestamp_ms` 0 = now. Blocks while
    /// librdkafka's queue is full (backpressure), serving delivery reports meanwhile.
    void send(std::string_view key,
              std::string_view value,
              std::int64_t timestamp_ms = 0,
              std::chrono::milliseconds queue_full_timeout = std::chrono::minutes(5));
    /// Serves delivery reports for up to `timeout`.
    void poll(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
    /// Waits up to `timeout` until every queued message is delivered or failed; returns the
    /// number still outstanding (0 = all done).
    std::size_t flush(std::chrono::milliseconds timeout);

    std::uint64_t sent() const noexcept;
    std::uint64_t delivered() const noexcept;
    std::uint64_t failed() const noexcept;
    /// librdkafka's text for the first failed delivery ("" if none).
    std::string first_error() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Creates `topic` with `partitions` partitions (replication factor 1) unless it exists.
/// Returns "" on success, or librdkafka's / the broker's error text. Waits at most `timeout`.
std::string create_kafka_topic(const std::string& brokers,
                               const std::string& topic,
                               int partitions,
                               std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace sluice
