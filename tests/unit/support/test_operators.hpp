#pragma once

// Small operators for testing the runtime without any real I/O.

#include <sluice/sluice.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace sluice::testing {

/// Schema of every test batch: one int64 column "n" numbering the records 0, 1, 2, ...
inline schema_ptr counter_schema() {
    static const schema_ptr s = make_schema({{"n", data_type::int64, false}});
    return s;
}

/// Emits `batches` batches of `rows` consecutive numbers (unbounded if batches == 0), with
/// positions = record numbers, and records what was acknowledged.
class counting_source final : public source {
public:
    counting_source(std::size_t batches, std::size_t rows)
        : batches_(batches)
        , rows_(rows) {}

    schema_ptr output_schema() const override { return counter_schema(); }

    poll_status poll(source_batch& out, operator_context& ctx) override {
        if (ctx.stop_requested() || (batches_ != 0 && produced_ == batches_)) {
            return poll_status::finished;
        }
        auto values = std::make_shared<column>(data_type::int64);
        const auto first = static_cast<std::int64_t>(produced_ * rows_);
        for (std::size_t i = 0; i < rows_; ++i) {
            values->push_int64(first + static_cast<std::int64_t>(i));
        }
        out.data = batch(counter_schema(), {values});
        out.positions = {{0, first, first + static_cast<std::int64_t>(rows_) - 1}};
        ++produced_;
        produced_count.store(produced_);
        return poll_status::produced;
    }

    void acknowledge(const std::vector<source_position>& positions) override {
        std::lock_guard lock(mutex);
        for (const auto& p : positions) {
            for (auto i = p.first; i <= p.last; ++i) {
                acknowledged.insert(i);
            }
        }
    }
    void reject_positions(const std::vector<source_position>& positions) override {
        std::lock_guard lock(mutex);
        for (const auto& p : positions) {
            for (auto i = p.first; i <= p.last; ++i) {
                not_delivered.insert(i);
            }
        }
    }
    void close(operator_context&) override { closed = true; }

    std::mutex mutex;
    std::set<std::int64_t> acknowledged;
    std::set<std::int64_t> not_delivered;
    std::atomic<std::size_t> produced_count{0};
    bool closed = false;

private:
    std::size_t batches_;
    std::size_t rows_;
    std::size_t produced_ = 0;
};

/// Adds `offset` to every value; parallel; optionally sleeps a random while to shuffle order.
class add_transform final : public transform {
public:
    add_transform(std::int64_t offset, bool shuffle)
        : offset_(offset)
        , shuffle_(shuffle) {}
    operator_traits traits() const override { return {concurrency::parallel, false}; }
    schema_ptr bind(const schema_ptr& input, bind_context&) override { return input; }
    batch process(const batch& input, operator_context&) override {
        if (shuffle_) {
            thread_local std::mt19937 rng{std::random_device{}()};
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
        }
        auto values = std::make_shared<column>(data_type::int64);
        for (const auto v : input.column_at(0).int64_values()) {
            values->push_int64(v + offset_);
        }
        batch out(input.schema(), {values});
        out.inherit_lineage(input);
        return out;
    }

private:
    std::int64_t offset_;
    bool shuffle_;
};

/// Collects every value it receives; optionally checks that batches arrive in order, and
/// optionally holds acknowledgements (like an asynchronous sink) until `release()`.
class collecting_sink final : public sink {
public:
    explicit collecting_sink(bool ordered = true, bool hold_acks = false)
        : ordered_(ordered)
        , hold_acks_(hold_acks) {}
    operator_traits traits() const override { return {concurrency::serial, ordered_}; }
    void bind(const schema_ptr&, bind_context&) override {}
    void consume(const batch& input, operator_context&) override {
        std::unique_lock lock(mutex);
        if (gate_closed) {
            // A deliberately slow sink: wait (bounded) until the test opens the gate.
            opened.wait_for(lock, std::chrono::seconds(30), [this] { return !gate_closed; });
        }
        for (const auto v : input.column_at(0).int64_values()) {
            values.push_back(v);
        }
        sequences.push_back(input.origin().sequence);
        if (hold_acks_) {
            held.push_back(input.acks());
        }
    }
    void release() {
        {
            std::lock_guard lock(mutex);
            held.clear();
        }
        opened.notify_all();
    }
    /// Like an asynchronous sink, finishing waits until what it holds is delivered.
    void finish(operator_context&) override {
        std::unique_lock lock(mutex);
        opened.wait_for(lock, std::chrono::seconds(30), [this] { return held.empty(); });
    }
    void open_gate() {
        {
            std::lock_guard lock(mutex);
            gate_closed = false;
        }
        opened.notify_all();
    }

    std::mutex mutex;
    std::condition_variable opened;
    bool gate_closed = false;
    std::vector<std::int64_t> values;
    std::vector<std::uint64_t> sequences;
    std::vector<std::vector<ack_ref>> held;

private:
    bool ordered_;
    bool hold_acks_;
};

/// Throws on the batch whose first value is `fail_at`.
class failing_transform final : public transform {
public:
    explicit failing_transform(std::int64_t fail_at)
        : fail_at_(fail_at) {}
    schema_ptr bind(const schema_ptr& input, bind_context&) override { return input; }
    batch process(const batch& input, operator_context& ctx) override {
        if (!input.empty() && input.column_at(0).int64_values()[0] == fail_at_) {
            throw operator_error(ctx.type(), ctx.id(), "deliberate failure");
        }
        batch out = input;
        return out;
    }

private:
    std::int64_t fail_at_;
};

}  // namespace sluice::testing
