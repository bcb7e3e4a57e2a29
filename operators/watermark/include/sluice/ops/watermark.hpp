#pragma once

#include <sluice/operator/operator.hpp>
#include <sluice/operator/option_spec.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

/// \file
/// The `watermark` transform: watermarks from the event time in the data.
///
/// ```yaml
///   timed:
///     type: watermark
///     inputs: [parsed]
///     column: timestamp             # default: the batch's event-time column
///     max_out_of_orderness: 10s
///     partition_column: partition   # optional: the minimum over partitions
/// ```
/// Reference: operators/watermark/README.md.

namespace sluice {

class operator_registry;
class options;

/// Registers the `watermark` transform.
void register_watermark_operators(operator_registry& registry);

/// Settings of a watermark operator, usable from C++ without YAML.
struct watermark_config {
    std::string column;  ///< event time (timestamp_ms or int64 ms); empty = the batch's event-time
                         ///< column
    std::chrono::milliseconds max_out_of_orderness{
            0};                    ///< how far behind the newest a record may be, >= 0
    std::string partition_column;  ///< int64 column: one watermark per value, the minimum counts;
                                   ///< empty = none
    /// With partition_column: partitions 0..N-1 are expected, and the watermark waits until each
    /// has delivered a record (or is idle); 0 = only the partitions seen so far count.
    std::int64_t partitions = 0;
    /// With partition_column: a partition without records for this long (wall clock) is left out
    /// of the minimum; 0 = never.
    std::chrono::milliseconds idle_timeout{0};
    /// Wall clock in ms for idle_timeout; empty = std::chrono::steady_clock. Tests inject one.
    std::function<std::int64_t()> clock;
};

/// Replaces each batch's watermark with one derived from its records' event times:
/// per input stream (and per partition value, if `partition_column` is set), the largest
/// event time seen so far minus `max_out_of_orderness`; the minimum over the stream's
/// partitions seen so far; never decreasing. Batches keep their rows and columns (shared); the
/// named `column` becomes the batch's event-time column.
///
/// Why: a source's own watermark follows its clock, e.g. Kafka message timestamps (when the
/// producer sent the record), which can be far from the event time inside the record (a
/// replayed or simulated history): windows on that event time need this one instead.
///
/// With `partitions`, a partition that has not delivered a record yet holds the watermark
/// back (while a backlog is read, one partition's batches can arrive long before another's);
/// with `idle_timeout`, a partition silent that long (wall clock; for one never seen: since
/// the first batch) is left out, and if all are, the largest counts.
///
/// Until a watermark is known, batches carry `no_watermark + 1` (nothing is complete), not
/// `no_watermark`, which a window would read as "none: derive one from the event times".
///
/// A stream whose data stops keeps its watermark where it was (there is no processing-time
/// advance), so its last windows are emitted at end of stream; a partition that stops getting
/// records holds the minimum back.
///
/// Concurrency: serial, needs ordered input.
class watermark_transform final : public transform {
public:
    static constexpr std::string_view type_name = "watermark";
    static void describe(option_spec& spec);
    static watermark_config config_from(const options& opts);

    explicit watermark_transform(watermark_config config);

    operator_traits traits() const override { return {concurrency::serial, true}; }
    /// Errors: "unknown-column", "wrong-type" (time not timestamp_ms/int64, partition not int64).
    schema_ptr bind(const schema_ptr& input, bind_context& ctx) override;
    /// Throws operator_error if not bound, or if no `column` is set and the batch has no
    /// event-time column.
    batch process(const batch& input, operator_context& ctx) override;

private:
    struct partition_state {
        std::int64_t newest = no_watermark;  // largest event time (no_watermark: none yet)
        std::int64_t last_seen = 0;          // wall clock (ms) of its last record
    };
    struct stream_state {
        std::map<std::int64_t, partition_state> partitions;
        std::int64_t watermark = no_watermark;
    };
    std::int64_t now() const;
    watermark_config config_;
    schema_ptr schema_;
    std::optional<std::size_t> time_index_;
    std::optional<std::size_t> partition_index_;
    std::map<std::uint32_t, stream_state> streams_;
};

}  // namespace sluice
