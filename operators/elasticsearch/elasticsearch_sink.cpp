// The `elasticsearch` sink: batches become `_bulk` requests sent by one I/O thread with several
// requests in flight; per-item outcomes decide retry, dead letter or done; a batch's
// acknowledgement is released when its last document is indexed or dead-lettered.

#include "bulk_body.hpp"
#include "bulk_response.hpp"
#include "http_client.hpp"
#include "index_template.hpp"
#include "retry_policy.hpp"
#include "sink_config.hpp"

#include <sluice/core/log.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/elasticsearch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace sluice {

namespace es_detail {

namespace {

using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// What the sink holds of one input batch until its documents are resolved: the batch's
/// acknowledgements and flight slot. Dropping the last reference releases both and, unless the
/// batch failed, times its records' end-to-end latency: they are indexed (or dead-lettered).
struct batch_tracker {
    std::vector<ack_ref> acks;
    flight_ref flight;
    std::vector<source_position> positions;
    column_ptr created_ns;
    operator_context* ctx = nullptr;
    mutable std::atomic<bool> failed{false};

    batch_tracker() = default;
    batch_tracker(const batch_tracker&) = delete;
    batch_tracker& operator=(const batch_tracker&) = delete;
    batch_tracker(batch_tracker&&) = delete;
    batch_tracker& operator=(batch_tracker&&) = delete;
    ~batch_tracker() {
        if (ctx != nullptr && !failed.load(std::memory_order_acquire)) {
            ctx->record_delivered(created_ns);
        }
    }

    void fail(const std::string& reason) const {
        failed.store(true, std::memory_order_release);
        for (const auto& ack : acks) {
            ack->fail(reason);
        }
    }
};

struct pending_doc {
    std::shared_ptr<batch_tracker> tracker;
    doc_span span;  // within the request's body
};

/// One bulk request: its body and, per document, where its lines are and whose batch it is.
struct bulk_request {
    std::string body;
    std::vector<pending_doc> docs;
    std::uint32_t retries = 0;  // times these documents were already sent again
    steady::time_point not_before{};
    steady::time_point opened{};  // when its first document was added
    steady::time_point sent{};    // when its latest attempt went out
};

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::int64_t wall_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
}

class elasticsearch_sink final : public sink {
public:
    explicit elasticsearch_sink(sink_config config)
        : config_(std::move(config))
        , retry_(config_.retry) {}

    ~elasticsearch_sink() override {
        shutdown("the elasticsearch sink was destroyed before its documents were indexed");
    }
    elasticsearch_sink(const elasticsearch_sink&) = delete;
    elasticsearch_sink& operator=(const elasticsearch_sink&) = delete;
    elasticsearch_sink(elasticsearch_sink&&) = delete;
    elasticsearch_sink& operator=(elasticsearch_sink&&) = delete;

    operator_traits traits() const override {
        // Ids come from each row's own position or columns, so order does not matter. A
        // record is done when the node answered for it: the sink times it then.
        return {concurrency::serial, false, true};
    }

    void bind(const schema_ptr& input, bind_context& ctx) override {
        std::string key;
        std::string error;
        builder_ = bulk_body_builder::make(*input, config_.body, key, error);
        if (!builder_) {
            ctx.error(key, "schema-mismatch", error);
            return;
        }
        if (const auto problem = check_mappings(config_.index_template, *input); !problem.empty()) {
            ctx.error("template.mappings", "schema-mismatch", problem);
            return;
        }
        schema_ = input;
    }

    void consume(const batch& input, operator_context& ctx) override {
        throw_if_failed(ctx);
        if (input.empty()) {
            return;  // a heartbeat: nothing to index, its acknowledgement goes right away
        }
        const double cpu_start = thread_cpu_seconds();
        ensure_started(ctx);
        auto tracker = std::make_shared<batch_tracker>();
        tracker->acks = input.acks();
        tracker->flight = input.flight();
        tracker->positions = input.source_positions();
        tracker->created_ns = input.created_ns();
        tracker->ctx = &ctx;

        // Formatting runs outside the lock; only the copy into the open request is under it.
        scratch_.clear();
        spans_.clear();
        builder_->append_batch(input, scratch_, spans_, wall_now_ms());

        bool sealed = false;
        bool opened = false;
        {
            std::unique_lock lock(mutex_);
            if (!fatal_.empty()) {
                // Failed while this batch was formatted: the I/O thread may already have
                // failed what it held and ended, so nothing may be added for it to send.
                const std::string reason = fatal_;
                lock.unlock();
                tracker->fail(reason);
                throw operator_error(ctx.type(), ctx.id(), reason);
            }
            for (const doc_span& s : spans_) {
                const std::size_t len = s.end - s.begin;
                if (!open_.docs.empty() && (open_.docs.size() >= config_.max_docs ||
                                            open_.body.size() + len > config_.max_bytes)) {
                    seal_locked();
                    sealed = true;
                }
                if (open_.docs.empty()) {
                    open_.opened = steady::now();
                    opened = true;
                    open_.body.reserve(std::min(config_.max_bytes, scratch_.size()) + 1024);
                }
                const auto base = static_cast<std::uint32_t>(open_.body.size());
                open_.body.append(scratch_, s.begin, len);
                open_.docs.push_back({tracker,
                                      {base,
                                       base + (s.doc_begin - s.begin),
                                       base + static_cast<std::uint32_t>(len)}});
                pending_bytes_ += len;
            }
            if (open_.docs.size() >= config_.max_docs || open_.body.size() >= config_.max_bytes) {
                seal_locked();
                sealed = true;
            }
            peak_pending_bytes_ = std::max(peak_pending_bytes_, pending_bytes_);
            // The I/O thread sleeps up to 50 ms when nothing is open. A newly opened request
            // wakes it too, so that it re-arms its timer for `max_latency` (which is often
            // shorter) instead of overshooting it by the rest of that sleep.
            if (sealed || opened) {
                http_->wakeup();
            }
            // Backpressure: while too much is buffered (e.g. the node is down) take no more
            // batches. Waits are short so a stop request or a fatal error is seen promptly.
            consume_cpu_ += thread_cpu_seconds() - cpu_start;
            while (pending_bytes_ > config_.max_pending_bytes && fatal_.empty() &&
                   !ctx.stop_requested()) {
                space_cv_.wait_for(lock, 100ms);
            }
        }
        throw_if_failed(ctx);
    }

    void finish(operator_context& ctx) override {
        if (!io_.joinable()) {
            throw_if_failed(ctx);
            return;  // nothing was ever consumed
        }
        const auto deadline = steady::now() + config_.flush_timeout;
        std::string left;
        {
            std::unique_lock lock(mutex_);
            finishing_ = true;
            http_->wakeup();
            while ((!open_.docs.empty() || outstanding_requests_ != 0) && fatal_.empty()) {
                if (steady::now() >= deadline) {
                    left = fmt::format(
                            "{} documents in {} bulk requests not indexed after "
                            "flush_timeout {}s (last error: {})",
                            outstanding_docs_ + open_.docs.size(),
                            outstanding_requests_ + (open_.docs.empty() ? 0 : 1),
                            std::chrono::duration_cast<std::chrono::seconds>(config_.flush_timeout)
                                    .count(),
                            last_error_.empty() ? "none" : last_error_);
                    break;
                }
                done_cv_.wait_for(lock, 100ms);
            }
        }
        if (!left.empty()) {
            shutdown(left);
            throw operator_error(ctx.type(), ctx.id(), left);
        }
        shutdown("the elasticsearch sink stopped");
        log(log_level::info,
            fmt::format("elasticsearch '{}': {} documents indexed in {} bulk requests ({} MB), {} "
                        "retried, {} dead-lettered; waited before sending p50 {:.1f} ms, "
                        "p99 {:.1f} ms; node's answers p50 {:.1f} ms, p99 {:.1f} ms; peak "
                        "buffered {} KB; CPU {:.3f} s (build {:.3f} s, I/O {:.3f} s)",
                        ctx.id(),
                        indexed_.load(),
                        requests_.load(),
                        bytes_sent_.load() / 1'000'000,
                        retried_.load(),
                        dead_lettered_.load(),
                        static_cast<double>(wait_times_.quantile(0.5)) / 1e6,
                        static_cast<double>(wait_times_.quantile(0.99)) / 1e6,
                        static_cast<double>(answer_times_.quantile(0.5)) / 1e6,
                        static_cast<double>(answer_times_.quantile(0.99)) / 1e6,
                        peak_pending_bytes_ / 1024,
                        consume_cpu_ + io_cpu_,
                        consume_cpu_,
                        io_cpu_));
        throw_if_failed(ctx);
    }

private:
    void throw_if_failed(operator_context& ctx) {
        std::lock_guard lock(mutex_);
        if (!fatal_.empty()) {
            throw operator_error(ctx.type(), ctx.id(), fatal_);
        }
    }

    void ensure_started(operator_context& ctx) {
        if (io_.joinable()) {
            return;
        }
        ctx_ = &ctx;
        http_ = std::make_unique<http_client>(config_.http);
        io_ = std::thread([this] { io_loop(); });
    }

    void seal_locked() {
        outstanding_docs_ += open_.docs.size();
        ++outstanding_requests_;
        ready_.push_back(std::move(open_));
        open_ = bulk_request{};
    }

    // ---- I/O thread ----

    void io_loop() {
        if (config_.index_template.create) {
            ensure_template();
        }
        std::vector<std::pair<std::uint64_t, http_result>> done;
        std::vector<std::pair<std::uint64_t, const std::string*>> to_start;
        while (true) {
            auto timeout = std::chrono::milliseconds(50);
            to_start.clear();
            {
                std::lock_guard lock(mutex_);
                if (stop_io_ || !fatal_.empty()) {
                    break;  // a give-up or a failed dead letter; handled after the loop
                }
                const auto now = steady::now();
                if (give_up_after_stop_locked(now)) {
                    break;
                }
                // A request that has waited `max_latency` is sealed when a slot can take it. While
                // every slot is busy it stays open and keeps growing (up to max_docs/max_bytes,
                // where consume() seals it), so after a slow answer the backlog goes out as one
                // request, not as a queue of small ones that each pay the node's per-request
                // cost (its translog fsync among them). An answer ends http_->run's wait.
                if (!open_.docs.empty()) {
                    const bool waited = now - open_.opened >= config_.max_latency;
                    const bool slot_for_it =
                            in_flight_.size() + ready_.size() < config_.concurrency;
                    if (finishing_ || (waited && slot_for_it)) {
                        seal_locked();
                    } else if (!waited) {
                        timeout = std::min(timeout,
                                           std::chrono::ceil<std::chrono::milliseconds>(
                                                   config_.max_latency - (now - open_.opened)));
                    }
                }
                // Retries that are due go first, then new requests, up to `concurrency`.
                while (in_flight_.size() < config_.concurrency) {
                    bulk_request next;
                    if (!retry_queue_.empty() && retry_queue_.begin()->first <= now) {
                        next = std::move(retry_queue_.begin()->second);
                        retry_queue_.erase(retry_queue_.begin());
                    } else if (!ready_.empty()) {
                        next = std::move(ready_.front());
                        ready_.pop_front();
                    } else {
                        break;
                    }
                    const std::uint64_t tag = next_tag_++;
                    auto& slot = in_flight_[tag];
                    slot = std::move(next);
                    slot.sent = now;
                    if (slot.retries == 0) {
                        const auto waited = std::chrono::nanoseconds(now - slot.opened);
                        wait_times_.record(static_cast<std::uint64_t>(waited.count()));
                    }
                    to_start.emplace_back(tag, &slot.body);
                }
                if (!retry_queue_.empty() && in_flight_.size() < config_.concurrency) {
                    const auto wait = retry_queue_.begin()->first - now;
                    timeout = std::min(
                            timeout,
                            std::max(1ms, std::chrono::ceil<std::chrono::milliseconds>(wait)));
                }
            }
            for (const auto& [tag, body] : to_start) {
                http_->start(tag, "POST", bulk_path, "application/x-ndjson", body);
                ++requests_;
                bytes_sent_ += body->size();
            }
            done.clear();
            http_->run(timeout, done);
            for (auto& [tag, result] : done) {
                handle(tag, result);
            }
        }
        std::string reason;
        {
            std::lock_guard lock(mutex_);
            reason = fatal_;
        }
        if (!reason.empty()) {
            fail_all(reason);
        }
        io_cpu_ = thread_cpu_seconds();
    }

    // The runtime calls finish() only once every flight slot is released, so while the node
    // is unreachable the pipeline waits for it (backpressure). After a stop request (SIGINT)
    // that wait is bounded: `flush_timeout` after the request, whatever is still held is
    // marked not delivered, so the pipeline can end and finish() reports it. Returns true
    // when it gave up.
    bool give_up_after_stop_locked(steady::time_point now) {
        if (ctx_ == nullptr || !ctx_->stop_requested()) {
            return false;
        }
        if (!stop_seen_) {
            stop_seen_ = true;
            stop_at_ = now;
            http_->wakeup();
            return false;
        }
        const bool holding = !open_.docs.empty() || outstanding_requests_ != 0;
        if (!holding || now - stop_at_ < config_.flush_timeout) {
            return false;
        }
        const std::string reason = fmt::format(
                "{} documents in {} bulk requests not indexed {}s after the stop request "
                "(flush_timeout; last error: {})",
                outstanding_docs_ + open_.docs.size(),
                outstanding_requests_ + (open_.docs.empty() ? 0 : 1),
                std::chrono::duration_cast<std::chrono::seconds>(config_.flush_timeout).count(),
                last_error_.empty() ? "none" : last_error_);
        if (fatal_.empty()) {
            fatal_ = reason;
        }
        return true;
    }

    // Creates the index template if the node has none of that name, before any document is
    // sent (an index created by a first document would get dynamic mappings instead).
    void ensure_template() {
        const std::string path = "/_index_template/" + config_.index_template.name;
        const std::string body = template_body(config_.index_template, *schema_);
        for (std::uint32_t attempt = 1;; ++attempt) {
            std::string problem;
            const http_result head = http_->request("HEAD", path, "", nullptr);
            if (head.status == 200) {
                return;
            }
            if (head.status == 404) {
                const http_result put = http_->request("PUT", path, "application/json", &body);
                if (put.status == 200) {
                    log(log_level::info,
                        fmt::format("elasticsearch: created index template '{}' for '{}'",
                                    config_.index_template.name,
                                    config_.index_template.pattern));
                    return;
                }
                if (put.status != 0 && !retryable_status(put.status)) {
                    fail_all(fmt::format("PUT {} answered HTTP {}: {}",
                                         path,
                                         put.status,
                                         describe_error_body(put.body)));
                    return;
                }
                problem = put.status == 0 ? put.transport_error
                                          : fmt::format("HTTP {}: {}",
                                                        put.status,
                                                        describe_error_body(put.body));
            } else if (head.status != 0 && !retryable_status(head.status)) {
                fail_all(fmt::format(
                        "HEAD {} answered HTTP {} (check url and credentials)", path, head.status));
                return;
            } else {
                problem = head.status == 0 ? head.transport_error
                                           : fmt::format("HTTP {}", head.status);
            }
            std::unique_lock lock(mutex_);
            last_error_ = fmt::format("index template: {}", problem);
            if (done_cv_.wait_for(lock,
                                  std::min<std::chrono::nanoseconds>(retry_.delay(attempt), 1s),
                                  [this] { return stop_io_; }) ||
                give_up_after_stop_locked(steady::now())) {
                return;  // io_loop sees stop_io_ or the give-up and ends
            }
        }
    }

    void handle(std::uint64_t tag, http_result& result) {
        auto it = in_flight_.find(tag);
        if (it == in_flight_.end()) {
            return;  // already failed by fail_all()
        }
        bulk_request request = std::move(it->second);
        {
            std::lock_guard lock(mutex_);
            in_flight_.erase(it);
        }
        if (!result.transport_error.empty()) {
            retry_whole(std::move(request), fmt::format("no answer: {}", result.transport_error));
            return;
        }
        // An answer (a refused connection or a timeout is not one): how long the node took.
        const auto took =
                std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - request.sent);
        answer_times_.record(static_cast<std::uint64_t>(took.count()));
        if (result.status == 200) {
            std::string error;
            if (!parse_bulk_response(result.body, parsed_, error)) {
                retry_whole(std::move(request), error);
                return;
            }
            if (parsed_.items.size() != request.docs.size()) {
                // Worded before the call: argument evaluation order is unspecified, and the
                // by-value parameter may be moved from `request` first.
                const std::string mismatch =
                        fmt::format("bulk response has {} items for {} documents",
                                    parsed_.items.size(),
                                    request.docs.size());
                retry_whole(std::move(request), mismatch);
                return;
            }
            resolve_items(std::move(request));
            return;
        }
        const std::string why =
                fmt::format("HTTP {}: {}", result.status, describe_error_body(result.body));
        if (retryable_status(result.status)) {
            retry_whole(std::move(request), why);
            return;
        }
        // 400 for the whole request, 401/403, 404 (wrong URL), 413 (max_bytes above the
        // node's http.max_content_length): retrying cannot help.
        {
            std::lock_guard lock(mutex_);
            in_flight_.emplace(tag, std::move(request));  // so fail_all fails its batches too
        }
        fail_all(fmt::format("POST /_bulk answered {}", why));
    }

    void resolve_items(bulk_request request) {
        bulk_request again;
        std::size_t ok = 0;
        std::size_t rejected = 0;
        std::string reason;
        for (std::size_t i = 0; i < request.docs.size(); ++i) {
            const bulk_item& item = parsed_.items[i];
            pending_doc& doc = request.docs[i];
            if (item.outcome == item_outcome::done) {
                ++ok;
                continue;
            }
            reason = item.error_reason.empty()
                             ? item.error_type
                             : fmt::format("{}: {}", item.error_type, item.error_reason);
            if (item.outcome == item_outcome::retry && !retry_.exhausted(request.retries)) {
                const auto base = static_cast<std::uint32_t>(again.body.size());
                again.body.append(request.body, doc.span.begin, doc.span.end - doc.span.begin);
                again.docs.push_back({std::move(doc.tracker),
                                      {base,
                                       base + (doc.span.doc_begin - doc.span.begin),
                                       base + (doc.span.end - doc.span.begin)}});
                continue;
            }
            if (item.outcome == item_outcome::retry) {
                reason = fmt::format("not indexed after {} retries: {}", request.retries, reason);
            }
            reject(doc, request.body, reason);
            ++rejected;
        }
        indexed_ += ok;
        dead_lettered_ += rejected;
        if (!again.docs.empty()) {
            retried_ += again.docs.size();
            // Published so tests and /metrics can see per-item retries while the run goes on
            // (the end-of-run log line's "retried" also counts whole-request retries).
            ctx_->metrics().extra.add("retried_items",
                                      static_cast<std::int64_t>(again.docs.size()));
            again.retries = request.retries + 1;
            again.not_before = steady::now() + retry_.delay(again.retries);
        }
        std::lock_guard lock(mutex_);
        if (!again.docs.empty()) {
            last_error_ = reason;
            pending_bytes_ += again.body.size();
            outstanding_docs_ += again.docs.size();
            ++outstanding_requests_;
            const auto when = again.not_before;
            retry_queue_.emplace(when, std::move(again));
        }
        release_locked(request);
        // `request` (and with it the last references to finished batches) is dropped after
        // the lock is released, so acknowledgement callbacks never run under it.
    }

    void retry_whole(bulk_request request, const std::string& why) {
        if (retry_.exhausted(request.retries)) {
            const std::string reason =
                    fmt::format("not indexed after {} retries: {}", request.retries, why);
            for (auto& doc : request.docs) {
                reject(doc, request.body, reason);
            }
            dead_lettered_ += request.docs.size();
            std::lock_guard lock(mutex_);
            last_error_ = why;
            release_locked(request);
            return;
        }
        retried_ += request.docs.size();
        request.retries += 1;
        request.not_before = steady::now() + retry_.delay(request.retries);
        std::lock_guard lock(mutex_);
        last_error_ = why;
        const auto when = request.not_before;
        retry_queue_.emplace(when, std::move(request));
    }

    // Called on the I/O thread, never under mutex_.
    void reject(const pending_doc& doc, const std::string& body, std::string_view reason) {
        const std::string_view json(body.data() + doc.span.doc_begin,
                                    doc.span.end - 1 - doc.span.doc_begin);
        try {
            ctx_->reject(json, reason, true, doc.tracker->positions);
        } catch (const std::exception& e) {
            // The dead-letter sink could not take it either (an exception here would end the
            // process): the document is nowhere, so its batch must not be acknowledged, and
            // the whole sink fails: the I/O loop stops and fails what it still holds.
            const std::string why = fmt::format("the dead-letter sink failed: {}", e.what());
            doc.tracker->fail(why);
            std::lock_guard lock(mutex_);
            if (fatal_.empty()) {
                fatal_ = why;
            }
            space_cv_.notify_all();
            done_cv_.notify_all();
        }
    }

    // Called once a request's documents are all resolved (done, dead-lettered or moved to a
    // retry request).
    void release_locked(const bulk_request& request) {
        pending_bytes_ -= std::min(pending_bytes_, request.body.size());
        outstanding_docs_ -= std::min(outstanding_docs_, request.docs.size());
        --outstanding_requests_;
        space_cv_.notify_all();
        done_cv_.notify_all();
    }

    // A permanent failure of the whole sink: every batch still held is marked not delivered,
    // and consume()/finish() throw from now on.
    void fail_all(const std::string& reason) {
        std::vector<bulk_request> dropped;
        {
            std::lock_guard lock(mutex_);
            if (fatal_.empty()) {
                fatal_ = reason;
            }
            collect_locked(dropped);
            space_cv_.notify_all();
            done_cv_.notify_all();
        }
        for (const auto& r : dropped) {
            for (const auto& d : r.docs) {
                d.tracker->fail(reason);
            }
        }
    }

    void collect_locked(std::vector<bulk_request>& out) {
        for (auto& [tag, r] : in_flight_) {
            out.push_back(std::move(r));
        }
        in_flight_.clear();
        for (auto& r : ready_) {
            out.push_back(std::move(r));
        }
        ready_.clear();
        for (auto& [when, r] : retry_queue_) {
            out.push_back(std::move(r));
        }
        retry_queue_.clear();
        if (!open_.docs.empty()) {
            out.push_back(std::move(open_));
            open_ = bulk_request{};
        }
        pending_bytes_ = 0;
        outstanding_docs_ = 0;
        outstanding_requests_ = 0;
    }

    // Stops the I/O thread; whatever is still held is marked not delivered with `reason`.
    void shutdown(const std::string& reason) {
        if (io_.joinable()) {
            {
                std::lock_guard lock(mutex_);
                stop_io_ = true;
                done_cv_.notify_all();
            }
            http_->wakeup();
            io_.join();
        }
        std::vector<bulk_request> dropped;
        {
            std::lock_guard lock(mutex_);
            collect_locked(dropped);
        }
        for (const auto& r : dropped) {
            for (const auto& d : r.docs) {
                d.tracker->fail(reason);
            }
        }
    }

    sink_config config_;
    retry_policy retry_;  // I/O thread only
    schema_ptr schema_;
    std::unique_ptr<bulk_body_builder> builder_;  // consume() only
    std::string scratch_;                         // consume() only
    std::vector<doc_span> spans_;                 // consume() only
    operator_context* ctx_ = nullptr;
    std::unique_ptr<http_client> http_;
    std::thread io_;
    bulk_response parsed_;  // I/O thread only

    std::mutex mutex_;
    std::condition_variable space_cv_;  // pending bytes went down
    std::condition_variable done_cv_;   // a request resolved, or the I/O thread must stop
    bulk_request open_;                 // being filled by consume()
    std::deque<bulk_request> ready_;    // sealed, not yet sent
    std::multimap<steady::time_point, bulk_request> retry_queue_;  // waiting for their backoff
    latency_histogram answer_times_;  // per bulk request: sent -> its response, in ns
    // Per bulk request, its first attempt: first document added -> sent, in ns. With the
    // answer times this splits a document's time in the sink into waiting and the node.
    latency_histogram wait_times_;
    std::unordered_map<std::uint64_t, bulk_request> in_flight_;  // sent, no answer yet
    std::uint64_t next_tag_ = 1;
    std::size_t pending_bytes_ = 0;  // body bytes held (open + ready + retry + in flight)
    std::size_t peak_pending_bytes_ = 0;
    std::size_t outstanding_docs_ = 0;  // documents in sealed requests not yet resolved
    std::size_t outstanding_requests_ = 0;
    bool finishing_ = false;
    bool stop_io_ = false;
    bool stop_seen_ = false;  // a stop request was noticed, at stop_at_
    steady::time_point stop_at_{};
    std::string fatal_;
    std::string last_error_;

    std::atomic<std::uint64_t> indexed_{0};
    std::atomic<std::uint64_t> retried_{0};
    std::atomic<std::uint64_t> dead_lettered_{0};
    std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::uint64_t> bytes_sent_{0};
    double consume_cpu_ = 0;  // under mutex_
    double io_cpu_ = 0;       // written by the I/O thread before it ends
};

}  // namespace

}  // namespace es_detail

void register_elasticsearch_operators(operator_registry& registry) {
    registry.add_sink("elasticsearch",
                      "indexes records into Elasticsearch/OpenSearch through the _bulk API",
                      es_detail::describe_sink,
                      [](const options& opts, build_context&) -> std::unique_ptr<sink> {
                          auto config = es_detail::read_sink_config(opts);
                          for (char& c : config.index_template.name) {
                              c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                          }
                          return std::make_unique<es_detail::elasticsearch_sink>(std::move(config));
                      });
}

}  // namespace sluice
