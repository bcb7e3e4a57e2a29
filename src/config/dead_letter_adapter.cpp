#include "config/dead_letter_adapter.hpp"

#include <fmt/format.h>

#include <chrono>

namespace sluice::detail {

sink_dead_letter_writer::sink_dead_letter_writer(std::unique_ptr<sink> target, std::string id)
    : context_(std::make_unique<operator_context>(
              "dead_letter", std::move(id), nullptr, nullptr, nullptr))
    , target_(std::move(target)) {
    reset_builders();
}

schema_ptr sink_dead_letter_writer::record_schema() {
    static const schema_ptr shared = make_schema({{"time", data_type::timestamp_ms, false},
                                                  {"operator_type", data_type::string, false},
                                                  {"operator_id", data_type::string, false},
                                                  {"reason", data_type::string, false},
                                                  {"payload", data_type::string, false},
                                                  {"positions", data_type::string, false}});
    return shared;
}

void sink_dead_letter_writer::reset_builders() {
    builders_.clear();
    for (const auto& f : record_schema()->fields()) {
        builders_.push_back(std::make_shared<column>(f.type));
    }
}

void sink_dead_letter_writer::write(const dead_letter_record& record) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    std::string positions;
    for (const auto& p : record.positions) {
        fmt::format_to(std::back_inserter(positions),
                       "{}{}:{}-{}",
                       positions.empty() ? "" : ",",
                       p.partition,
                       p.first,
                       p.last);
    }
    {
        std::lock_guard lock(mutex_);
        builders_[0]->push_int64(now);
        builders_[1]->push_string(record.operator_type);
        builders_[2]->push_string(record.operator_id);
        builders_[3]->push_string(record.reason);
        builders_[4]->push_string(record.payload);
        builders_[5]->push_string(positions);
    }
    // Durable before returning: a sink may acknowledge a batch right after rejecting some of
    // its records (e.g. from its own I/O thread), so nothing may wait for a later flush.
    flush();
}

void sink_dead_letter_writer::flush() {
    std::lock_guard lock(mutex_);
    if (builders_[0]->empty()) {
        return;
    }
    std::vector<column_ptr> columns(builders_.begin(), builders_.end());
    batch rows(record_schema(), std::move(columns));
    reset_builders();
    target_->consume(rows, *context_);
}

void sink_dead_letter_writer::finish() {
    flush();
    std::lock_guard lock(mutex_);
    target_->finish(*context_);
}

}  // namespace sluice::detail
