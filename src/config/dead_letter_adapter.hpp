#pragma once

#include <sluice/operator/context.hpp>
#include <sluice/operator/operator.hpp>

#include <memory>
#include <mutex>

namespace sluice::detail {

/// Turns rejected records into rows of a dead-letter batch written through an ordinary sink
/// (a file, stdout, later Kafka), so any sink type can be the pipeline's dead-letter sink.
/// Each record is written through before write() returns (a rejected record must be durable
/// before its batch can be acknowledged); rejections are rare, so one write per record is fine.
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
    // The context is declared first, so the sink goes before it: a Kafka or Elasticsearch
    // sink that did not finish may still report deliveries to it while it shuts down.
    std::unique_ptr<operator_context> context_;
    std::unique_ptr<sink> target_;
    std::vector<std::shared_ptr<column>> builders_;
};

}  // namespace sluice::detail
