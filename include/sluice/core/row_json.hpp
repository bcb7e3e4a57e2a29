#pragma once

#include <sluice/core/batch.hpp>
#include <sluice/core/column.hpp>
#include <sluice/core/schema.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// How timestamp_ms values are written as JSON.
enum class json_timestamp_format : std::uint8_t {
    epoch_ms,  ///< integer milliseconds since the Unix epoch: 1767225600000
    iso8601,   ///< a string in UTC with milliseconds: "2026-01-01T00:00:00.000Z"
};

/// Options of the row-to-JSON formatting.
struct row_json_options {
    json_timestamp_format timestamps = json_timestamp_format::epoch_ms;  ///< timestamp spelling
    bool skip_nulls = false;  ///< true: omit missing values; false: write them as `null`
};

/// Appends `text` as a JSON string, quotes included. `"`, `\` and control characters
/// (< 0x20) are escaped (`\n`, `\t`, ... or `\u00XX`); every other byte, UTF-8 included, is
/// copied as is, so invalid UTF-8 stays invalid. Never allocates beyond growing `out`.
void append_json_string(std::string& out, std::string_view text);

/// Like `append_json_string`, but bytes that are not valid UTF-8 are replaced by U+FFFD, so
/// the result is valid JSON whatever `text` holds (for raw payloads, e.g. dead letters).
void append_json_string_lossy(std::string& out, std::string_view text);

/// Appends a double as the shortest text that reads back to the same value ("21.37",
/// "1e+300"); integral values get ".0" ("21.0") so readers that infer types (Elasticsearch
/// dynamic mapping, schema inference) keep them floating-point. NaN and infinities, which
/// JSON cannot hold, are written as `null`.
void append_json_double(std::string& out, double value);

/// Appends an integer in decimal.
void append_json_int(std::string& out, std::int64_t value);

/// Appends a timestamp in ms as `2026-01-01T00:00:00.000Z` (UTC, proleptic Gregorian), without
/// quotes.
void append_iso8601_ms(std::string& out, std::int64_t epoch_ms);

/// Parses an ISO-8601 / RFC 3339 timestamp: `2026-01-01`, `2026-01-01T08:30:00Z`,
/// `2026-01-01 08:30:00.250+02:00`, ... (a missing offset means UTC; fractions below a
/// millisecond are truncated). Returns ms since the Unix epoch, or nullopt if `text` is not
/// such a timestamp.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text) noexcept;

/// Appends value `row` of `values` as JSON (`null` if missing).
void append_json_value(std::string& out,
                       const column& values,
                       std::size_t row,
                       json_timestamp_format timestamps = json_timestamp_format::epoch_ms);

/// Formats rows of batches of one schema as JSON objects (`{"name":value,...}`), fields in
/// schema order. The escaped keys are prepared once at construction, so appending a row
/// allocates nothing beyond growing `out`.
///
/// Thread-safety: const methods may be called concurrently (each with its own `out`).
class row_json_writer {
public:
    explicit row_json_writer(const schema& fields, row_json_options options = {});

    /// Appends row `row` of `input` as one JSON object (no newline). Precondition: `input`
    /// has the schema given at construction (field count asserted).
    void append_row(std::string& out, const batch& input, std::size_t row) const;

    /// Appends every row of `input`, each followed by '\n' (NDJSON). Reserves an estimate
    /// first, so a batch costs at most a few reallocations of `out`.
    void append_ndjson(std::string& out, const batch& input) const;

    const row_json_options& options() const noexcept { return options_; }

private:
    std::vector<std::string> keys_;  // `"name":` per field, with the leading ',' from the 2nd on
    row_json_options options_;
};

}  // namespace sluice
