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

class row_json_cursor;

/// Formats rows of batches of one schema as JSON objects (`{"name":value,...}`), fields in
/// schema order. The escaped keys are prepared once at construction.
///
/// For many rows of one batch, `prepare` a cursor once and append rows through it: it reads
/// the columns through raw pointers and allocates nothing per row. `append_row` and
/// `append_ndjson` are shorthands.
///
/// Thread-safety: const methods may be called concurrently (each with its own `out`). The
/// writer must outlive the cursors it prepared.
class row_json_writer {
public:
    explicit row_json_writer(const schema& fields, row_json_options options = {});

    /// A cursor over the rows of `input`, which must have the schema given at construction
    /// (field count and types are checked: SLUICE_ASSERT) and outlive the cursor.
    row_json_cursor prepare(const batch& input) const;

    /// Appends row `row` of `input` as one JSON object (no newline). Prepares a cursor per call:
    /// for many rows of one batch, use `prepare`.
    void append_row(std::string& out, const batch& input, std::size_t row) const;

    /// Appends every row of `input`, each followed by '\n' (NDJSON).
    void append_ndjson(std::string& out, const batch& input) const;

    const row_json_options& options() const noexcept { return options_; }

private:
    friend class row_json_cursor;
    std::vector<data_type> types_;
    std::string keys_;                     // every `"name":` back to back
    std::vector<std::uint32_t> key_ends_;  // end of each key in keys_
    std::size_t fixed_bound_ = 2;          // bytes a row needs beyond its strings' escaped text
    row_json_options options_;
};

/// Fast appending of the rows of one batch as JSON objects; see row_json_writer::prepare.
/// Not thread-safe (it keeps a scratch buffer): one cursor per thread.
class row_json_cursor {
public:
    std::size_t num_rows() const noexcept { return rows_; }

    /// Appends row `row` as one JSON object, then `terminator` unless it is '\0'.
    void append_row(std::string& out, std::size_t row, char terminator = '\0');

    /// Appends rows [first, last), each followed by `terminator` unless it is '\0'.
    void append_rows(std::string& out, std::size_t first, std::size_t last, char terminator = '\n');

private:
    friend class row_json_writer;
    struct column_view {
        data_type type;
        const void* values;             // double, int64_t or uint8_t array; chars for strings
        const std::uint32_t* offsets;   // strings only
        const std::uint64_t* validity;  // null when every value is present
    };
    std::size_t row_bound(std::size_t row) const noexcept;
    char* write_row(char* p, std::size_t row) const noexcept;

    const row_json_writer* writer_ = nullptr;
    std::vector<column_view> columns_;
    std::size_t rows_ = 0;
    std::string scratch_;
};

}  // namespace sluice
