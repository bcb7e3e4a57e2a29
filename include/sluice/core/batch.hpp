#pragma once

#include <sluice/core/column.hpp>
#include <sluice/core/schema.hpp>
#include <sluice/graph/acknowledgement.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace sluice {

/// Watermark value before any event time has been seen.
inline constexpr std::int64_t no_watermark = std::numeric_limits<std::int64_t>::min();

/// Where a batch comes from: which stream (a source, or an operator's end-of-stream flush) and
/// its sequence number in that stream. Operators that keep one output batch per input batch
/// preserve it, so the graph can restore order in front of an operator that needs it.
struct batch_origin {
    std::uint32_t stream = 0;    ///< which source (or flush) stream the batch belongs to
    std::uint64_t sequence = 0;  ///< dense: 0, 1, 2, ... within the stream
    std::uint32_t producer = 0;  ///< graph node that made this batch (set by the runtime)
};

/// A micro-batch: a schema, one column per field (all of equal length), the index of the
/// event-time column, the watermark, and the lineage the runtime needs for backpressure and
/// acknowledgement.
///
/// Columns are shared (`column_ptr`): an operator that passes a column through shares it and
/// never copies it. A batch is cheap to copy (shared pointers only). Once handed to the graph
/// it is immutable and may be read from several threads.
class batch {
public:
    batch() = default;
    /// Precondition: one column per schema field, matching types, equal lengths (asserted).
    batch(schema_ptr schema, std::vector<column_ptr> columns);

    const schema_ptr& schema() const noexcept { return schema_; }
    std::size_t num_rows() const noexcept { return num_rows_; }
    std::size_t num_columns() const noexcept { return columns_.size(); }
    bool empty() const noexcept { return num_rows_ == 0; }

    const column& column_at(std::size_t index) const { return *columns_.at(index); }
    const column_ptr& shared_column(std::size_t index) const { return columns_.at(index); }
    const std::vector<column_ptr>& columns() const noexcept { return columns_; }
    /// The column called `name`, or nullptr.
    const column* find_column(std::string_view name) const noexcept;

    /// Index of the event-time column (a timestamp_ms column), if the batch has one.
    std::optional<std::size_t> event_time_column() const noexcept { return event_time_column_; }
    void set_event_time_column(std::optional<std::size_t> index) { event_time_column_ = index; }

    /// Event-time watermark in ms: no record with an earlier event time is expected any more.
    std::int64_t watermark_ms() const noexcept { return watermark_ms_; }
    void set_watermark_ms(std::int64_t watermark) noexcept { watermark_ms_ = watermark; }

    /// When each record was created, in ns since the Unix epoch (an int64 column, one value
    /// per row), or null if the source did not say. It is lineage, not data: it is not in the
    /// schema and no sink writes it; sinks measure end-to-end latency from it. A Kafka
    /// record's creation time is its message timestamp; the simulator's is when it made it.
    const column_ptr& created_ns() const noexcept { return created_ns_; }
    /// Precondition: null, or an int64 column with num_rows() values (asserted).
    void set_created_ns(column_ptr created);

    const batch_origin& origin() const noexcept { return origin_; }
    void set_origin(batch_origin origin) noexcept { origin_ = origin; }

    /// Acknowledgement tokens of the source batches this batch derives from.
    const std::vector<ack_ref>& acks() const noexcept { return acks_; }
    void add_ack(ack_ref ack) { acks_.push_back(std::move(ack)); }
    /// The in-flight slot this batch occupies (may be null outside a running graph).
    const flight_ref& flight() const noexcept { return flight_; }
    void set_flight(flight_ref flight) { flight_ = std::move(flight); }

    /// Copies origin, watermark, event-time column (by name, if present in this batch's
    /// schema), acknowledgements and in-flight slot from `input`: what a transform does for
    /// the one output batch it makes from one input batch.
    ///
    /// Creation times are inherited when both batches have the same number of rows (a
    /// transform that keeps its rows); a transform that drops rows uses the overload below.
    void inherit_lineage(const batch& input);
    /// As above, for an output holding the input's rows whose `selection` byte is non-zero,
    /// in order: creation times are filtered the same way.
    void inherit_lineage(const batch& input, std::span<const std::uint8_t> selection);

    /// The source positions covered by this batch's acknowledgements.
    std::vector<source_position> source_positions() const;

    /// Keeps only the rows whose `selection` byte is non-zero (lineage is kept).
    batch filter_rows(std::span<const std::uint8_t> selection) const;

    /// A batch with the same lineage and one more (or a replaced) column.
    batch with_column(const field& new_field, column_ptr values) const;

private:
    schema_ptr schema_;
    std::vector<column_ptr> columns_;
    std::size_t num_rows_ = 0;
    std::optional<std::size_t> event_time_column_;
    std::int64_t watermark_ms_ = no_watermark;
    column_ptr created_ns_;
    batch_origin origin_;
    std::vector<ack_ref> acks_;
    flight_ref flight_;
};

using batch_ptr = std::shared_ptr<const batch>;

}  // namespace sluice
