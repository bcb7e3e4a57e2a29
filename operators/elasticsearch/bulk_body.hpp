#pragma once

// Building `_bulk` NDJSON bodies straight from a batch's columns: one action line
// (`{"index":{"_index":...,"_id":...}}`) and one document line per row.

#include <sluice/core/batch.hpp>
#include <sluice/core/row_json.hpp>
#include <sluice/core/schema.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::es_detail {

/// An index name, fixed ("sensors") or with strftime-like date fields taken from the event
/// time in UTC ("sensors-%Y.%m.%d"). Fields: %Y (year), %m (month 01-12), %d (day 01-31),
/// %H (hour 00-23), %j (day of year 001-366), %% (a literal '%').
/// Not thread-safe (`name_for` caches the last name): one per building thread.
class index_pattern {
public:
    /// Parses `text`; on failure returns nullopt and says why in `error`. Index names must be
    /// lowercase, non-empty, and free of the characters Elasticsearch forbids.
    static std::optional<index_pattern> parse(std::string_view text, std::string& error);

    /// True if the name depends on the event time.
    bool has_date() const noexcept { return has_date_; }
    /// The pattern with every date field replaced by `*` (for an index template).
    std::string wildcard() const;
    /// The JSON-escaped name (quotes excluded) for an event time in ms since the epoch.
    /// Consecutive calls in the same hour/day reuse the last name.
    std::string_view name_for(std::int64_t epoch_ms);

private:
    struct segment {
        std::string literal;  ///< text when `field` is 0
        char field = 0;       ///< 'Y', 'm', 'd', 'H', 'j'
    };
    std::string format(std::int64_t epoch_ms) const;

    std::vector<segment> segments_;
    bool has_date_ = false;
    std::int64_t granularity_ms_ = 86'400'000;  // an hour when %H is used
    std::int64_t cached_bucket_ = 0;
    bool cached_ = false;
    std::string cached_name_;
};

/// A document id template: literal text with `{column}` references, e.g.
/// "{sensor_id}-{timestamp}". `{{` and `}}` stand for literal braces. Values are written as
/// text: strings as is, integers and timestamps (epoch ms) in decimal, floats in their
/// shortest form, booleans as true/false, missing values as "null".
class id_template {
public:
    /// Parses `text`; on failure returns nullopt and says why in `error`.
    static std::optional<id_template> parse(std::string_view text, std::string& error);

    /// The column names referenced, in order of appearance.
    std::vector<std::string> columns() const;
    /// Resolves column names against `fields`; returns false and names the first unknown
    /// column in `error`.
    bool bind(const schema& fields, std::string& error);
    /// Appends the id of row `row` of `input` (unescaped text). Precondition: bound to the
    /// batch's schema.
    void append(std::string& out, const batch& input, std::size_t row) const;

private:
    struct part {
        std::string literal;  ///< text when `column` is empty
        std::string column;
        std::size_t index = 0;  ///< resolved column index
    };
    std::vector<part> parts_;
};

/// Where document ids come from.
enum class id_mode : std::uint8_t {
    from_template,  ///< the `id` template
    from_column,    ///< the value of one column (the window operator's `window_id`)
    from_position,  ///< the record's source position "<partition>-<offset>"
    automatic,      ///< no `_id`: Elasticsearch generates one (replays duplicate)
};

/// Computes the default id of each row of a batch from its source positions.
///
/// When the rows of a batch are exactly the positions it covers (the sum of the ranges'
/// lengths equals the row count: sources emit one record per position, and 1:1 transforms
/// keep every row), row i gets "<partition>-<offset>" of the i-th position, in the order the
/// ranges are listed. When rows were dropped (a filter, or a decoder's rejects) that mapping
/// is lost; the id is then "<partition>-<first>-<last>-<row>" of the batch's first range,
/// which is stable as long as a replay cuts the same batches (true for the generator and
/// file sources with the same settings). Without positions, ids are automatic.
class position_ids {
public:
    /// Prepares the ids of `input`'s rows.
    void prepare(const batch& input);
    /// False when the batch had no positions (use automatic ids).
    bool available() const noexcept { return available_; }
    /// True when each row maps to its exact source position.
    bool exact() const noexcept { return exact_; }
    /// Appends the id of row `row` (rows must be asked in increasing order for exact mode).
    void append(std::string& out, std::size_t row);

private:
    std::vector<source_position> positions_;
    bool available_ = false;
    bool exact_ = false;
    std::size_t range_ = 0;         // current range for exact mode
    std::int64_t next_offset_ = 0;  // offset of the next row in exact mode
    std::size_t next_row_ = 0;
};

/// Where a document's lines sit in a body: action line [begin, doc_begin), document
/// [doc_begin, end - 1), '\n' at end - 1.
struct doc_span {
    std::uint32_t begin = 0;
    std::uint32_t doc_begin = 0;
    std::uint32_t end = 0;
};

/// Settings of a body builder.
struct body_settings {
    std::string index;       ///< index name or date pattern
    std::string id;          ///< id template; empty = default
    std::string time_field;  ///< column for date patterns; empty = event time
    json_timestamp_format timestamps = json_timestamp_format::epoch_ms;  ///< timestamp spelling
};

/// Turns batches of one schema into `_bulk` lines. Not thread-safe: one per building thread.
class bulk_body_builder {
public:
    /// Checks `settings` against `fields`; on failure returns nullptr and fills `error_key`
    /// (the option at fault: "index", "id" or "time_field") and `error`.
    static std::unique_ptr<bulk_body_builder> make(const schema& fields,
                                                   const body_settings& settings,
                                                   std::string& error_key,
                                                   std::string& error);

    /// How ids are chosen for this schema.
    id_mode ids() const noexcept { return ids_; }

    /// Appends an action line and a document line for every row of `input`, and each row's
    /// span (offsets relative to `out`'s start) to `spans`. `now_ms` names the index of rows
    /// whose event time is missing. Rows larger than 4 GiB in total are not supported
    /// (offsets are 32-bit; the sink keeps bodies far smaller).
    void append_batch(const batch& input,
                      std::string& out,
                      std::vector<doc_span>& spans,
                      std::int64_t now_ms);

private:
    bulk_body_builder(const schema& fields, index_pattern pattern, row_json_options json);

    row_json_writer writer_;
    index_pattern pattern_;
    id_mode ids_ = id_mode::from_position;
    std::optional<id_template> template_;
    std::size_t id_column_ = 0;
    std::optional<std::size_t> time_column_;  // the bound column for date patterns
    bool time_from_option_ = false;
    position_ids positions_;
    std::string id_scratch_;
};

}  // namespace sluice::es_detail
