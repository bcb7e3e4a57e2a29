#pragma once

#include <sluice/operator/context.hpp>
#include <sluice/operator/operator.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace sluice::detail {

/// Turns rejected records into rows of a dead-letter batch written through an ordinary sink
/// (a file, stdout, Kafka, Elasticsearch), so any sink type can be the pipeline's dead-letter
/// sink. Each record is delivered before write() returns: a rejected record must be durable
/// before its batch can be acknowledged, so write() waits for the sink's acknowledgement (a
/// Kafka or Elasticsearch sink gives it when the broker or node confirms) and throws if the
/// sink did not deliver or refused the record. Rejections are rare, so one write per record
/// is fine. Columns: time, operator_type, operator_id, reason, payload, positions.
class sink_dead_letter_writer final : public dead_letter_writer {
public:
    explicit sink_dead_letter_writer(std::unique_ptr<sink> target, std::string id);
    static schema_ptr record_schema();

    void write(const dead_letter_record& record) override;
    void flush() override;
    /// Flushes, then lets the sink finish (close its file).
    void finish() override;

private:
    /// What the target sink itself rejects: a dead letter of a dead letter has nowhere to go,
    /// so it fails the write instead.
    class refusals final : public dead_letter_writer {
    public:
        void write(const dead_letter_record& record) override;
        /// The first refusal's reason since the last call, or "".
        std::string take();

    private:
        std::mutex mutex_;
        std::string first_;
    };

    void reset_builders();

    std::mutex mutex_;
    refusals refused_;  // before context_, which points at it
    // The context is declared first, so the sink goes before it: a Kafka or Elasticsearch
    // sink that did not finish may still report deliveries to it while it shuts down.
    std::unique_ptr<operator_context> context_;
    std::unique_ptr<sink> target_;
    std::vector<std::shared_ptr<column>> builders_;
};

}  // namespace sluice::detail
