#pragma once

#include <sluice/operator/context.hpp>
#include <sluice/operator/operator.hpp>

#include <memory>
#include <mutex>

namespace sluice::detail {

/// Turns rejected records into rows of a dead-letter batch written through an ordinary sink
/// (a file, stdout, later Kafka), so any sink type can be the pipeline's dead-letter sink.
/// Rows are buffered and written by flush(); the runtime flushes after every operator call
/// that rejected something, so a rejected record is durable before its batch moves on.
/// Columns: time, operator_type, operator_id, reason, payload, positions.
class sink_dead_letter_writer final : public dead_letter_writer {
public:
    explicit sink_dead_letter_writer(std::unique_ptr<sink> target, std::string id);
    static schema_ptr record_schema();

    void write(const dead_letter_record& record) override;
    void flush() override;
    /// Flushes, then lets the sink finish (close its file).
    void finish() override;

private:
    void reset_builders();

    std::mutex mutex_;
    std::unique_ptr<sink> target_;
    std::unique_ptr<operator_context> context_;
    std::vector<std::shared_ptr<column>> builders_;
};

}  // namespace sluice::detail
