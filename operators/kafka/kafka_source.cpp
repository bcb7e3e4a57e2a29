#include "kafka_source.hpp"

#include <sluice/core/log.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace sluice::kafka_detail {

namespace {

using steady = std::chrono::steady_clock;

extern "C" void rebalance_trampoline(rd_kafka_t* rk,
                                     rd_kafka_resp_err_t err,
                                     rd_kafka_topic_partition_list_t* partitions,
                                     void* opaque) {
    (void)rk;
    auto* self = static_cast<kafka_source*>(static_cast<handle_context*>(opaque)->owner);
    self->on_rebalance(err, partitions);
}

extern "C" void commit_trampoline(rd_kafka_t*,
                                  rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t*,
                                  void* opaque) {
    auto* self = static_cast<kafka_source*>(static_cast<handle_context*>(opaque)->owner);
    self->on_commit_result(err);
}

std::int64_t wall_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
}

constexpr std::int32_t partitions_per_topic = 1 << 16;

constexpr auto lag_interval = std::chrono::seconds(1);

}  // namespace

const schema_ptr& kafka_source::kafka_schema() {
    static const schema_ptr s = make_schema({
            {"key", data_type::string, true},
            {"value", data_type::string, true},
            {"timestamp", data_type::timestamp_ms, false},
            {"partition", data_type::int64, false},
            {"offset", data_type::int64, false},
    });
    return s;
}

kafka_source::kafka_source(kafka_source_config config, conf_ptr conf)
    : config_(std::move(config))
    , conf_(std::move(conf))
    , watermarks_(config_.max_out_of_orderness, config_.idle_timeout) {
    context_.who = fmt::format("kafka source '{}'", config_.id);
    context_.owner = this;
}

kafka_source::~kafka_source() {
    // Normally close() did this; after a failed run the handle still has to go.
    closing_ = true;
    shut_down();
}

void kafka_source::start(operator_context& ctx) {
    resume_ = ctx.resume();
    char reset[32] = {0};
    std::size_t reset_size = sizeof(reset);
    if (rd_kafka_conf_get(conf_.get(), "auto.offset.reset", reset, &reset_size) ==
        RD_KAFKA_CONF_OK) {
        const std::string_view r(reset);
        reset_start_ = r == "smallest" || r == "earliest" || r == "beginning" ? lag_start::earliest
                       : r == "largest" || r == "latest" || r == "end"        ? lag_start::latest
                                                                              : lag_start::unknown;
    }
    route_logs(conf_.get(), &context_);
    rd_kafka_conf_set_rebalance_cb(conf_.get(), rebalance_trampoline);
    rd_kafka_conf_set_offset_commit_cb(conf_.get(), commit_trampoline);
    char error[512] = {0};
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf_.get(), error, sizeof(error));
    if (rk == nullptr) {
        throw operator_error(
                ctx.type(), ctx.id(), fmt::format("cannot create the Kafka consumer: {}", error));
    }
    (void)conf_.release();  // rd_kafka_new owns it now
    rk_.reset(rk);
    rd_kafka_poll_set_consumer(rk);
    queue_.reset(rd_kafka_queue_get_consumer(rk));

    list_ptr subscription(rd_kafka_topic_partition_list_new(
            static_cast<int>(std::max<std::size_t>(1, config_.topics.size()))));
    if (!config_.topic_regex.empty()) {
        // librdkafka treats a subscription starting with '^' as a regular expression.
        const std::string pattern = config_.topic_regex.front() == '^' ? config_.topic_regex
                                                                       : "^" + config_.topic_regex;
        rd_kafka_topic_partition_list_add(
                subscription.get(), pattern.c_str(), RD_KAFKA_PARTITION_UA);
    }
    for (const auto& topic : config_.topics) {
        rd_kafka_topic_partition_list_add(subscription.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
    }
    if (const auto err = rd_kafka_subscribe(rk, subscription.get());
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw operator_error(
                ctx.type(), ctx.id(), fmt::format("cannot subscribe: {}", rd_kafka_err2str(err)));
    }
    next_commit_ = steady::now() + config_.commit_interval;
    lag_thread_ = std::thread([this, rk, metrics = &ctx.metrics()] { report_lag(rk, metrics); });
    log(log_level::info,
        fmt::format("{}: joined group '{}' on {}",
                    context_.who,
                    config_.group_id,
                    config_.topic_regex.empty() ? fmt::format("{}", fmt::join(config_.topics, ", "))
                                                : "^" + config_.topic_regex));
}

std::int32_t kafka_source::position_id(const char* topic, std::int32_t partition) {
    std::size_t index = 0;
    while (index < topic_names_.size() && topic_names_[index] != topic) {
        ++index;
    }
    if (index == topic_names_.size()) {
        topic_names_.emplace_back(topic);
    }
    return static_cast<std::int32_t>(index) * partitions_per_topic + partition;
}

void kafka_source::on_rebalance(rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions) {
    rd_kafka_t* rk = rk_.get();
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    const auto now = steady::now();
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        list_ptr resuming(rd_kafka_topic_partition_list_new(std::max(1, partitions->cnt)));
        for (int i = 0; i < partitions->cnt; ++i) {
            auto& p = partitions->elems[i];
            if (p.partition >= partitions_per_topic) {
                log(log_level::error,
                    fmt::format("{}: partition {} of '{}' is beyond the supported {}",
                                context_.who,
                                p.partition,
                                p.topic,
                                partitions_per_topic - 1));
                continue;
            }
            const std::int32_t id = position_id(p.topic, p.partition);
            lag_start start = lag_start::committed;
            if (seen_.insert(id).second && config_.start != start_mode::committed) {
                const bool earliest = config_.start == start_mode::earliest;
                p.offset = earliest ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
                start = earliest ? lag_start::earliest : lag_start::latest;
            } else {
                rd_kafka_topic_partition_list_add(resuming.get(), p.topic, p.partition);
            }
            assigned_.insert(id);
            if (revoked_in_call_.count(id) != 0) {
                reassigned_in_call_.insert(id);
            }
            watermarks_.assign(id, now);
            std::lock_guard lock(mutex_);
            trackers_[id] = kafka_offset_tracker{};
            lag_positions_[id] = lag_position{p.topic, p.partition, -1, start};
        }
        // Before the first record of these partitions can be handed out.
        restore_resume_state(resuming.get());
        rd_kafka_error_t* error = nullptr;
        rd_kafka_resp_err_t result = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (cooperative) {
            error = rd_kafka_incremental_assign(rk, partitions);
        } else {
            result = rd_kafka_assign(rk, partitions);
        }
        if (error != nullptr) {
            log(log_level::error,
                fmt::format("{}: assign failed: {}", context_.who, rd_kafka_error_string(error)));
            rd_kafka_error_destroy(error);
        } else if (result != RD_KAFKA_RESP_ERR_NO_ERROR) {
            log(log_level::error,
                fmt::format("{}: assign failed: {}", context_.who, rd_kafka_err2str(result)));
        }
        log(log_level::info,
            fmt::format("{}: assigned {} partition(s), {} in all",
                        context_.who,
                        partitions->cnt,
                        assigned_.size()));
        return;
    }

    // Revocation (or an error, treated the same): hand back only what is settled.
    std::vector<std::int32_t> ids;
    for (int i = 0; i < partitions->cnt; ++i) {
        const auto& p = partitions->elems[i];
        if (p.partition < partitions_per_topic) {
            ids.push_back(position_id(p.topic, p.partition));
        }
    }
    const std::set<std::int32_t> revoked(ids.begin(), ids.end());
    // Records read but not handed out yet: the next owner reads them from the commit.
    drop_collected(revoked);
    // Those in the array of the rd_kafka_consume_batch_queue() call running now are dropped
    // when it returns (see settle_fetched).
    revoked_in_call_.insert(revoked.begin(), revoked.end());
    if (rd_kafka_assignment_lost(rk)) {
        // Another member may own these partitions already: committing now could move its
        // position backwards. Whatever is in flight will be read again by the new owner.
        log(log_level::warning,
            fmt::format("{}: assignment lost; uncommitted records will be read again",
                        context_.who));
    } else {
        drain(ids);
        commit(ids, true, true);
    }
    {
        // Late acknowledgements of these partitions find no tracker and are ignored.
        std::lock_guard lock(mutex_);
        for (const auto id : ids) {
            trackers_.erase(id);
            lag_positions_.erase(id);
        }
    }
    for (const auto id : ids) {
        assigned_.erase(id);
        watermarks_.revoke(id);
    }
    if (cooperative) {
        if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(rk, partitions)) {
            log(log_level::error,
                fmt::format("{}: unassign failed: {}", context_.who, rd_kafka_error_string(error)));
            rd_kafka_error_destroy(error);
        }
    } else {
        rd_kafka_assign(rk, nullptr);
    }
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        log(log_level::warning,
            fmt::format("{}: rebalance error: {}", context_.who, rd_kafka_err2str(err)));
    } else {
        log(log_level::info, fmt::format("{}: revoked {} partition(s)", context_.who, ids.size()));
    }
}

void kafka_source::restore_resume_state(rd_kafka_topic_partition_list_t* partitions) {
    if (partitions->cnt == 0 || !resume_) {
        return;
    }
    // Synchronous, unlike the lag reporter's query: nothing may be read before this is known.
    const auto timeout = std::max<std::int64_t>(
            1000,
            std::chrono::duration_cast<std::chrono::milliseconds>(config_.rebalance_timeout)
                    .count());
    const auto err = rd_kafka_committed(rk_.get(), partitions, static_cast<int>(timeout));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log(log_level::warning,
            fmt::format("{}: cannot read the committed offsets' metadata ({}); windows emitted "
                        "before the last stop "
                        "may be emitted again from part of their records",
                        context_.who,
                        rd_kafka_err2str(err)));
        return;
    }
    // Each commit carried the whole resume state as it was then; the largest value over the
    // partitions is what the last run had made durable (see resume_state).
    std::map<std::string, std::int64_t, std::less<>> restored;
    for (int i = 0; i < partitions->cnt; ++i) {
        const auto& p = partitions->elems[i];
        if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR || p.metadata == nullptr || p.metadata_size == 0) {
            continue;
        }
        const auto values =
                resume_state::decode({static_cast<const char*>(p.metadata), p.metadata_size});
        if (!values) {
            log(log_level::warning,
                fmt::format("{}: ignored commit metadata of {}[{}] written by something else",
                            context_.who,
                            p.topic,
                            p.partition));
            continue;
        }
        for (const auto& [key, value] : *values) {
            auto [it, inserted] = restored.emplace(key, value);
            if (!inserted) {
                it->second = std::max(it->second, value);
            }
        }
    }
    for (const auto& [key, value] : restored) {
        resume_->restore(key, value);
    }
    if (!restored.empty()) {
        log(log_level::info,
            fmt::format("{}: resumed {}", context_.who, resume_state::encode(restored)));
    }
}

void kafka_source::drain(const std::vector<std::int32_t>& ids) {
    if (closing_ || ids.empty()) {
        return;
    }
    const auto deadline = steady::now() + config_.rebalance_timeout;
    std::unique_lock lock(mutex_);
    const auto settled = [&] {
        return std::all_of(ids.begin(), ids.end(), [&](std::int32_t id) {
            // Every batch handed out, the last one included: the runtime holds no batch of
            // its own between polls, so each is acknowledged by the sinks.
            const auto it = trackers_.find(id);
            return it == trackers_.end() || it->second.in_flight() == 0;
        });
    };
    if (!acked_.wait_until(lock, deadline, settled)) {
        log(log_level::warning,
            fmt::format("{}: revoked partitions still had batches in flight after {}; their "
                        "records will be "
                        "read again by the next owner",
                        context_.who,
                        fmt::format("{} ms",
                                    std::chrono::duration_cast<std::chrono::milliseconds>(
                                            config_.rebalance_timeout)
                                            .count())));
    }
}

void kafka_source::commit(const std::vector<std::int32_t>& ids, bool everything, bool synchronous) {
    if (!rk_) {
        return;
    }
    list_ptr list(rd_kafka_topic_partition_list_new(8));
    {
        std::lock_guard lock(mutex_);
        const auto add = [&](std::int32_t id, kafka_offset_tracker& tracker) {
            const auto moved = tracker.take_commit();
            const auto offset = everything ? tracker.commit_position() : moved;
            if (!offset) {
                return;
            }
            const auto topic_index = static_cast<std::size_t>(id / partitions_per_topic);
            rd_kafka_topic_partition_list_add(
                    list.get(), topic_names_.at(topic_index).c_str(), id % partitions_per_topic)
                    ->offset = *offset;
        };
        if (ids.empty()) {
            for (auto& [id, tracker] : trackers_) {
                add(id, tracker);
            }
        } else {
            for (const auto id : ids) {
                if (auto it = trackers_.find(id); it != trackers_.end()) {
                    add(id, it->second);
                }
            }
        }
    }
    if (list->cnt == 0) {
        return;
    }
    // Read after the acknowledgements that allowed these offsets: it covers their windows.
    if (resume_) {
        const std::string metadata = resume_state::encode(resume_->values());
        for (int i = 0; i < list->cnt && !metadata.empty(); ++i) {
            // librdkafka frees it with the list.
            auto& p = list->elems[i];
            p.metadata = std::malloc(metadata.size());
            if (p.metadata != nullptr) {
                std::memcpy(p.metadata, metadata.data(), metadata.size());
                p.metadata_size = metadata.size();
            }
        }
    }
    const auto err = rd_kafka_commit(rk_.get(), list.get(), synchronous ? 0 : 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        recommit_all_.store(true);
        log(log_level::warning,
            fmt::format("{}: offset commit failed: {}", context_.who, rd_kafka_err2str(err)));
    }
}

void kafka_source::on_commit_result(rd_kafka_resp_err_t err) {
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        // The next periodic commit sends every position again.
        recommit_all_.store(true);
        log(log_level::warning,
            fmt::format("{}: offset commit failed: {}", context_.who, rd_kafka_err2str(err)));
    }
}

void kafka_source::drop_collected(const std::set<std::int32_t>& ids) {
    std::erase_if(collected_, [&](rd_kafka_message_t* m) {
        const std::int32_t id = position_id(rd_kafka_topic_name(m->rkt), m->partition);
        if (ids.count(id) != 0) {
            rd_kafka_message_destroy(m);
            return true;
        }
        return false;
    });
}

void kafka_source::destroy_collected() {
    for (auto* m : collected_) {
        rd_kafka_message_destroy(m);
    }
    collected_.clear();
}

void kafka_source::settle_fetched(std::size_t count, operator_context& ctx) {
    // A revocation ran inside the call. The messages of the revoked partitions it returned
    // are not handed out: the next owner reads them from the commit (as drop_collected does
    // for those read before the call). librdkafka's version barrier normally removed them
    // from the array already; this covers a call that returned before the barrier came.
    // A partition revoked and assigned again within the one call is the exception: its
    // messages in the array may be outdated ones from before the revocation (no barrier
    // yet) or the first ones of the new assignment, and which cannot be told apart here.
    // They are all dropped and the partition is sought back to the offset the new
    // assignment starts at (the group's committed offset, just committed by the revocation),
    // so that nothing is skipped and nothing is handed out twice.
    for (std::size_t i = 0; i < count; ++i) {
        rd_kafka_message_t* m = fetched_[i];
        if (m->rkt == nullptr) {
            continue;  // an error without a partition
        }
        const std::int32_t id = position_id(rd_kafka_topic_name(m->rkt), m->partition);
        if (assigned_.count(id) == 0 || reassigned_in_call_.count(id) != 0) {
            rd_kafka_message_destroy(m);
            fetched_[i] = nullptr;
        }
    }
    revoked_in_call_.clear();
    if (reassigned_in_call_.empty()) {
        return;
    }
    const auto ids = std::move(reassigned_in_call_);
    reassigned_in_call_.clear();
    list_ptr list(rd_kafka_topic_partition_list_new(static_cast<int>(ids.size())));
    for (const auto id : ids) {
        rd_kafka_topic_partition_list_add(
                list.get(),
                topic_names_.at(static_cast<std::size_t>(id / partitions_per_topic)).c_str(),
                id % partitions_per_topic);
    }
    const int timeout = std::max(1000, to_timeout_ms(config_.rebalance_timeout));
    auto failed = [&](const std::string& what) {
        // Carrying on could skip the dropped records: stop instead (what was committed holds).
        for (std::size_t i = 0; i < count; ++i) {
            if (fetched_[i] != nullptr) {
                rd_kafka_message_destroy(fetched_[i]);
                fetched_[i] = nullptr;
            }
        }
        throw operator_error(
                ctx.type(),
                ctx.id(),
                fmt::format("cannot restart {} partition(s) assigned again during one read: {}",
                            list->cnt,
                            what));
    };
    if (const auto err = rd_kafka_committed(rk_.get(), list.get(), timeout);
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        failed(rd_kafka_err2str(err));
    }
    for (int i = 0; i < list->cnt; ++i) {
        auto& p = list->elems[i];
        if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            failed(rd_kafka_err2str(p.err));
        }
        if (p.offset < 0) {
            // Nothing committed: where auto.offset.reset starts the assignment.
            if (reset_start_ == lag_start::unknown) {
                failed("no committed offset and auto.offset.reset is neither earliest nor latest");
            }
            p.offset = reset_start_ == lag_start::earliest ? RD_KAFKA_OFFSET_BEGINNING
                                                           : RD_KAFKA_OFFSET_END;
        }
    }
    if (rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_.get(), list.get(), timeout)) {
        const std::string text = rd_kafka_error_string(error);
        rd_kafka_error_destroy(error);
        failed(text);
    }
    for (int i = 0; i < list->cnt; ++i) {
        // _STATE: the new assignment's fetch has not started yet, so nothing of it was read;
        // it starts at the committed offset, where the seek would have put it.
        const auto err = list->elems[i].err;
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__STATE) {
            failed(rd_kafka_err2str(err));
        }
    }
    log(log_level::info,
        fmt::format("{}: {} partition(s) revoked and assigned again during one read: restarted at "
                    "the committed offsets",
                    context_.who,
                    list->cnt));
}

poll_status kafka_source::poll(source_batch& out, operator_context& ctx) {
    if (ctx.stop_requested()) {
        return poll_status::finished;
    }
    if (!rk_) {
        start(ctx);
    }
    rd_kafka_t* rk = rk_.get();
    auto now = steady::now();
    if (now >= next_commit_) {
        commit({}, recommit_all_.exchange(false), false);
        next_commit_ = now + config_.commit_interval;
    }

    const std::size_t max_records = config_.batching.max_records;
    const auto deadline = now + config_.batching.max_latency;
    collected_.reserve(max_records);
    fetched_.resize(max_records);
    // Whole runs of messages per call instead of one rd_kafka_consumer_poll() each: that takes
    // the partition's lock and reads the clock for every message. Rebalance and commit
    // callbacks are served inside the call, on this thread, as with rd_kafka_consumer_poll();
    // librdkafka (>= 1.7, a version barrier per partition) removes from the array the messages
    // a revocation or a re-assignment during the call made outdated, and make_batch() skips
    // partitions revoked after it returned. The first call does not wait: what librdkafka
    // already holds is taken at once; later ones wait at most until the batch's deadline.
    bool wait = false;
    while (collected_.size() < max_records) {
        int timeout_ms = 0;
        if (wait) {
            now = steady::now();
            if (now >= deadline || ctx.stop_requested()) {
                break;
            }
            const auto remaining =
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
            timeout_ms = static_cast<int>(std::max<long long>(1, remaining));
        }
        wait = true;
        const auto got = rd_kafka_consume_batch_queue(
                queue_.get(), timeout_ms, fetched_.data(), max_records - collected_.size());
        if (got < 0) {
            // Only for an invalid queue: a broken invariant of this class, not a broker problem.
            throw operator_error(ctx.type(),
                                 ctx.id(),
                                 fmt::format("cannot read the Kafka consumer queue: {}",
                                             rd_kafka_err2str(rd_kafka_last_error())));
        }
        if (!revoked_in_call_.empty()) {
            settle_fetched(static_cast<std::size_t>(got), ctx);
        }
        for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
            rd_kafka_message_t* m = fetched_[i];
            if (m == nullptr) {
                continue;  // dropped by settle_fetched
            }
            if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                collected_.push_back(m);
                continue;
            }
            const auto err = m->err;
            std::string text = rd_kafka_message_errstr(m);
            rd_kafka_message_destroy(m);
            if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                continue;
            }
            char fatal[512] = {0};
            if (rd_kafka_fatal_error(rk, fatal, sizeof(fatal)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                for (std::size_t j = i + 1; j < static_cast<std::size_t>(got); ++j) {
                    if (fetched_[j] != nullptr) {
                        rd_kafka_message_destroy(fetched_[j]);
                    }
                }
                throw operator_error(
                        ctx.type(), ctx.id(), fmt::format("fatal Kafka consumer error: {}", fatal));
            }
            if (steady::now() >= next_error_log_) {
                next_error_log_ = steady::now() + std::chrono::seconds(5);
                log(log_level::warning,
                    fmt::format(
                            "{}: {} ({}); retrying", context_.who, text, rd_kafka_err2name(err)));
            }
        }
    }

    if (collected_.empty()) {
        // A heartbeat: nothing new, but idle partitions may have let the watermark move.
        const std::int64_t watermark = watermarks_.current(steady::now());
        if (watermark <= last_watermark_) {
            return poll_status::idle;
        }
        last_watermark_ = std::max(last_watermark_, watermark);
        std::vector<column_ptr> columns;
        for (const auto& f : kafka_schema()->fields()) {
            columns.push_back(std::make_shared<column>(f.type));
        }
        out.data = batch(kafka_schema(), std::move(columns));
        out.data.set_event_time_column(2);
        out.data.set_watermark_ms(last_watermark_);
        out.positions.clear();
        return poll_status::produced;
    }
    out.positions.clear();
    out.data = make_batch(ctx, out.positions);
    return poll_status::produced;
}

batch kafka_source::make_batch(operator_context& ctx, std::vector<source_position>& positions) {
    const std::size_t n = collected_.size();
    std::size_t key_bytes = 0;
    std::size_t value_bytes = 0;
    for (const auto* m : collected_) {
        key_bytes += m->key_len;
        value_bytes += m->len;
    }
    auto keys = std::make_shared<column>(data_type::string);
    auto values = std::make_shared<column>(data_type::string);
    auto times = std::make_shared<column>(data_type::timestamp_ms);
    auto partition_col = std::make_shared<column>(data_type::int64);
    auto offsets = std::make_shared<column>(data_type::int64);
    keys->reserve(n, key_bytes);
    values->reserve(n, value_bytes);
    auto& time_values = times->mutable_int64();
    auto& partition_values = partition_col->mutable_int64();
    auto& offset_values = offsets->mutable_int64();
    time_values.reserve(n);
    partition_values.reserve(n);
    offset_values.reserve(n);

    const auto now = steady::now();
    std::int64_t wall_ms = 0;
    const rd_kafka_topic_t* last_rkt = nullptr;
    std::int32_t last_topic_index = 0;
    std::size_t last_position = SIZE_MAX;
    std::int32_t last_id = -1;
    bool last_assigned = false;
    for (auto* m : collected_) {
        if (m->rkt != last_rkt) {
            last_rkt = m->rkt;
            const auto cached = std::find_if(topic_cache_.begin(),
                                             topic_cache_.end(),
                                             [&](const auto& e) { return e.first == m->rkt; });
            if (cached != topic_cache_.end()) {
                last_topic_index = cached->second;
            } else {
                last_topic_index =
                        position_id(rd_kafka_topic_name(m->rkt), 0) / partitions_per_topic;
                topic_cache_.emplace_back(m->rkt, last_topic_index);
            }
        }
        const std::int32_t id = last_topic_index * partitions_per_topic + m->partition;
        if (id != last_id) {
            // Messages come in runs per partition: one set lookup per run, not per message.
            last_id = id;
            last_assigned = assigned_.count(id) != 0;
        }
        if (!last_assigned) {
            // Fetched before a revocation: the partition's next owner reads it again.
            continue;
        }
        if (m->key != nullptr) {
            keys->push_string({static_cast<const char*>(m->key), m->key_len});
        } else {
            keys->push_null();
        }
        if (m->payload != nullptr) {
            values->push_string({static_cast<const char*>(m->payload), m->len});
        } else {
            values->push_null();
        }
        std::int64_t timestamp = rd_kafka_message_timestamp(m, nullptr);
        if (timestamp < 0) {
            wall_ms = wall_ms != 0 ? wall_ms : wall_now_ms();
            timestamp = wall_ms;
        }
        time_values.push_back(timestamp);
        partition_values.push_back(m->partition);
        offset_values.push_back(m->offset);
        watermarks_.observe(id, timestamp, now);
        if (last_position == SIZE_MAX || positions[last_position].partition != id) {
            last_position = SIZE_MAX;
            for (std::size_t i = 0; i < positions.size(); ++i) {
                if (positions[i].partition == id) {
                    last_position = i;
                }
            }
            if (last_position == SIZE_MAX) {
                positions.push_back({id, m->offset, m->offset});
                last_position = positions.size() - 1;
            }
        }
        positions[last_position].last = m->offset;
    }
    destroy_collected();
    // Columns filled directly are resized to the rows kept.
    const std::size_t rows = keys->size();
    times->resize(rows);
    partition_col->resize(rows);
    offsets->resize(rows);
    {
        std::lock_guard lock(mutex_);
        for (const auto& p : positions) {
            if (auto it = trackers_.find(p.partition); it != trackers_.end()) {
                it->second.issue(p.first, p.last);
            }
            if (auto it = lag_positions_.find(p.partition); it != lag_positions_.end()) {
                it->second.next_offset = p.last + 1;
            }
        }
    }
    ctx.metrics().bytes_in.fetch_add(key_bytes + value_bytes, std::memory_order_relaxed);

    batch data(kafka_schema(), {keys, values, times, partition_col, offsets});
    data.set_event_time_column(2);
    // A record was created when its message was: the producer's CreateTime, or the broker's
    // LogAppendTime on a topic configured so (librdkafka reports whichever the topic keeps).
    data.set_created_ns(kafka_creation_times(time_values));
    const std::int64_t watermark = watermarks_.current(now);
    last_watermark_ = std::max(last_watermark_, watermark);
    data.set_watermark_ms(watermark);
    return data;
}

void kafka_source::report_lag(rd_kafka_t* rk, operator_metrics* metrics) {
    std::vector<std::pair<std::int32_t, lag_position>> partitions;
    std::unique_lock lock(mutex_);
    while (!lag_wake_.wait_for(lock, lag_interval, [this] { return lag_stop_; })) {
        partitions.assign(lag_positions_.begin(), lag_positions_.end());
        lock.unlock();
        // The high watermarks librdkafka cached from its last fetch responses: no broker round
        // trip, so the reporter never waits on the broker and adds no load to it.
        kafka_lag lag;
        list_ptr ask(rd_kafka_topic_partition_list_new(1));
        for (const auto& [id, p] : partitions) {
            std::int64_t low = RD_KAFKA_OFFSET_INVALID;
            std::int64_t high = RD_KAFKA_OFFSET_INVALID;
            if (rd_kafka_get_watermark_offsets(rk, p.topic.c_str(), p.partition, &low, &high) !=
                RD_KAFKA_RESP_ERR_NO_ERROR) {
                continue;
            }
            // Before its first record is handed out, a partition is read from where it starts.
            std::int64_t next = p.next_offset;
            if (next < 0 && p.start == lag_start::earliest) {
                next = low;
            } else if (next < 0 && p.start == lag_start::latest) {
                next = high;
            } else if (next < 0 && p.start == lag_start::committed) {
                rd_kafka_topic_partition_list_add(ask.get(), p.topic.c_str(), p.partition);
            }
            lag.add(high, next);
        }
        metrics->extra.set("consumer_lag", lag.total);
        metrics->extra.set("consumer_lag_max", lag.max);
        // The group's committed offsets, once per assignment of a partition that has not had
        // a record yet (a broker round trip, so on this thread and bounded): counted from the
        // next report on.
        if (ask->cnt > 0 && rd_kafka_committed(rk, ask.get(), 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            lock.lock();
            for (int i = 0; i < ask->cnt; ++i) {
                const auto& answer = ask->elems[i];
                for (auto& [id, p] : lag_positions_) {
                    if (p.partition != answer.partition || p.topic != answer.topic ||
                        p.next_offset >= 0 || answer.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        continue;
                    }
                    if (answer.offset >= 0) {
                        p.next_offset = answer.offset;
                    } else {
                        p.start = reset_start_;  // no committed offset: auto.offset.reset applies
                    }
                }
            }
            lock.unlock();
        }
        lock.lock();
    }
}

void kafka_source::stop_lag_reporter() {
    {
        std::lock_guard lock(mutex_);
        lag_stop_ = true;
    }
    lag_wake_.notify_all();
    if (lag_thread_.joinable()) {
        lag_thread_.join();
    }
}

void kafka_source::acknowledge(const std::vector<source_position>& positions) {
    {
        std::lock_guard lock(mutex_);
        for (const auto& p : positions) {
            const auto it = trackers_.find(p.partition);
            if (it == trackers_.end() || !it->second.acknowledge(p.first, p.last)) {
                stale_acks_.fetch_add(1, std::memory_order_relaxed);
            }
        }
    }
    acked_.notify_all();
}

void kafka_source::reject_positions(const std::vector<source_position>& positions) {
    {
        std::lock_guard lock(mutex_);
        for (const auto& p : positions) {
            const auto it = trackers_.find(p.partition);
            if (it != trackers_.end()) {
                it->second.fail(p.first, p.last);
            }
        }
    }
    acked_.notify_all();
}

void kafka_source::close(operator_context&) {
    closing_ = true;
    shut_down();
}

void kafka_source::shut_down() {
    destroy_collected();
    if (!rk_) {
        return;
    }
    stop_lag_reporter();
    commit({}, true, true);
    if (const auto stale = stale_acks_.load(); stale != 0) {
        log(log_level::info,
            fmt::format("{}: ignored {} acknowledgement(s) of partitions revoked before they came",
                        context_.who,
                        stale));
    }
    // Leaves the group at once (the rebalance callback commits nothing new: closing_), so the
    // other members take over without waiting for a session timeout.
    if (const auto err = rd_kafka_consumer_close(rk_.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log(log_level::warning, fmt::format("{}: close: {}", context_.who, rd_kafka_err2str(err)));
    }
    queue_.reset();
    rk_.reset();
}

}  // namespace sluice::kafka_detail
