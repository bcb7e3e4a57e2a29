#pragma once

// Private to the json operator: decodes the rows of one batch, one JSON object per row, into
// the output columns, and words every rejection.

#include "decode_plan.hpp"
#include "key_hint.hpp"
#include "string_builder.hpp"
#include "thread_state.hpp"

#include <sluice/core/column.hpp>

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

// Rejection paths: kept out of line so that the per-value fast path stays small.
#if defined(__GNUC__)
#    define SLUICE_JSON_COLD [[gnu::cold, gnu::noinline]]
#else
#    define SLUICE_JSON_COLD
#endif
// Per-value helpers of decode_members, defined in row_decoder.cpp (the only file that calls
// them): inlined there, as when they were defined in the class, or GCC keeps them out of line.
#if defined(__GNUC__)
#    define SLUICE_JSON_INLINE [[gnu::always_inline]] inline
#else
#    define SLUICE_JSON_INLINE inline
#endif

// The default of a switch that names every value of its enum: no range check before its jump
// table.
#if defined(__GNUC__)
#    define SLUICE_JSON_UNREACHABLE() __builtin_unreachable()
#else
#    define SLUICE_JSON_UNREACHABLE() ((void)0)
#endif

namespace sluice::detail::json {

// Where the decoded values of one slot go: numeric and bool columns are resized to the
// input's row count and written by output row index; strings are appended row by row.
struct slot_sink {
    data_type type = data_type::string;  // copied from the plan: one cache line per value
    column* target = nullptr;
    string_builder* text = nullptr;  // string slots: the values, moved into `target` at the end
    double* f64 = nullptr;
    std::int64_t* i64 = nullptr;
    std::uint8_t* flag = nullptr;
};

// What the flat path does with a key's value: skip it (a key not in the schema) or read it as
// its slot's type.
enum class flat_kind : std::uint8_t {
    skip,
    float64,
    int64,
    timestamp_ms,
    boolean,
    string
};

// A key position of the flat path: the key that stood there in the previous record, and what
// to do with its value, side by side, so that a hinted key needs no look-up of its slot's sink.
struct flat_key {
    key_hint hint;
    flat_kind kind = flat_kind::skip;
    void* values = nullptr;  // the float64, int64 or bool column data (null otherwise)
};

// Decodes the rows of one batch. Lives for one `process` call on one thread.
class row_decoder {
public:
    row_decoder(const json_decode_transform::plan& plan, std::vector<slot_sink>& sinks)
        : plan_(plan)
        , sinks_(sinks)
        , state_(local_state())
        , present_(plan.words)
        , nulled_(plan.words)
        , strings_(plan.slots.size()) {}

    /// Decodes `json` into output row `out_row`. On failure returns false and `reason()`
    /// says why; the values written for the row are overwritten by the next accepted row.
    bool decode(std::string_view json, std::size_t out_row);

    /// The batch path: decodes `doc`, a document of a stream over the batch's bytes that
    /// starts where record `json` does, its copy at `record` in the batch buffer. The record
    /// counts as this document only if the next document starts at `next` (the next record's
    /// first byte that is not blank), or, with `next` null, if no document follows. Returns
    /// false when the record is rejected or does not match the document; the caller then
    /// decodes it alone with decode(), for the exact reason, and that overwrites the row.
    bool decode_streamed(ondemand::document& doc,
                         std::string_view json,
                         const char* record,
                         const char* next,
                         std::size_t out_row);

    /// The flat path (see flat_scan.hpp): decodes `json`, a record in memory readable up to
    /// `limit` (the end of the input column's bytes), into output row `out_row` without
    /// simdjson, if it is an object of plain scalars in the forms the scanner reads and is
    /// accepted. Returns false otherwise (declined or rejected, the reason not worded): the
    /// caller then decodes the record with decode(), which overwrites the row. Only for
    /// schemas of at most 64 fields (`flat_capable()`).
    bool decode_flat(std::string_view json, const char* limit, std::size_t out_row);

    /// True if decode_flat() may be used (the schema has at most 64 fields).
    bool flat_capable() const noexcept { return plan_.words == 1; }

    const std::string& reason() const noexcept { return reason_; }

private:
    static constexpr int key_failed = -2;

    // The root object's members, into row `out_row` (not committed yet).
    bool decode_members(ondemand::document& doc, std::size_t out_row);

    bool commit(std::size_t out_row);

    SLUICE_JSON_INLINE int match_key(ondemand::field& field,
                                     std::uint32_t ordinal,
                                     ondemand::document& doc);

    void remember(std::uint32_t ordinal, std::string_view key, int slot);

    // The padded spelling of `key` for a hint (the slot's name, or a stored copy for an
    // ignored key), or null if it is not worth one.
    const char* hint_name(std::string_view key, int slot);

    // The flat path's key `key` (slot `slot`) at position `ordinal`, remembered for the next
    // record when it is plain ASCII (a hinted key is then known to be ASCII, which the flat
    // path's UTF-8 check relies on).
    flat_key flat_key_for(std::uint32_t ordinal, std::string_view key, int slot);

    // commit() for the flat path (one word of fields): false if a required field has no value
    // (declined: decode() tells a null from a missing field and words the reason).
    SLUICE_JSON_INLINE bool commit_flat(std::uint64_t present,
                                        const char* limit,
                                        std::size_t out_row);

    // The fast path is one typed get per value; only when it fails is the value's JSON type
    // looked at, to tell a null from a type error from a malformed or out-of-range value.
    // (A failed scalar get leaves the on-demand iterator where it was.)
    SLUICE_JSON_INLINE bool read_value(ondemand::value& value,
                                       std::size_t slot,
                                       std::size_t out_row,
                                       ondemand::document& doc);

    // `nulled_` is left alone: commit() only reads it for slots that end up without a value.
    SLUICE_JSON_INLINE void mark_present(std::size_t slot) noexcept;

    // One value of the flat path into slot `slot`: the byte after it, or nullptr to decline.
    // A null clears the slot's bit in `present` (the last occurrence of a key wins). `high`
    // collects the bytes of strings read (see flat_scan.hpp, "UTF-8").
    SLUICE_JSON_INLINE const char* flat_value(const char* p,
                                              const char* end,
                                              const char* limit,
                                              const flat_key& key,
                                              std::size_t out_row,
                                              std::uint64_t& present,
                                              std::uint64_t& high);

    // The slow path of read_value: null, the other accepted spellings (a whole number written
    // as a double, an ISO-8601 timestamp), or a precise reason for the rejection.
    SLUICE_JSON_COLD bool read_failed(ondemand::value& value,
                                      std::size_t slot,
                                      ondemand::document& doc);

    // int64 and timestamp_ms written as a number that get_int64 refused: accepted if it is a
    // whole number that a double holds exactly (`7.0`, `1e3`: producers that only have
    // doubles write these), rejected if it has a fraction or is out of range.
    SLUICE_JSON_COLD bool read_whole_double(ondemand::value& value,
                                            const json_decode_transform::plan::slot& spec,
                                            std::int64_t& out);

    SLUICE_JSON_COLD bool fail_number(ondemand::value& value,
                                      const json_decode_transform::plan::slot& spec,
                                      std::string_view what);

    SLUICE_JSON_COLD bool fail_type(ondemand::value& value,
                                    ondemand::json_type kind,
                                    const json_decode_transform::plan::slot& spec);

    SLUICE_JSON_COLD bool fail_literal(ondemand::value& value, std::string_view name);

    SLUICE_JSON_COLD bool fail_document(simdjson::error_code error);

    SLUICE_JSON_COLD bool fail_at(simdjson::error_code error,
                                  ondemand::document& doc,
                                  std::string_view field_name);

    // The root is valid so far but not an object (or the object is cut short).
    SLUICE_JSON_COLD bool fail_root(simdjson::error_code error, ondemand::document& doc);

    static constexpr std::size_t max_hints = 256;
    static constexpr std::size_t max_ignored_names = 256;

    const json_decode_transform::plan& plan_;
    std::vector<slot_sink>& sinks_;
    thread_state& state_;
    std::vector<std::uint64_t> present_;  // slot has a value in this row
    std::vector<std::uint64_t>
            nulled_;  // slot was seen as JSON null in this row (if absent now: last)
    std::vector<std::string_view> strings_;
    std::vector<key_hint> hints_;
    std::vector<flat_key> flat_keys_;
    std::deque<std::string> ignored_names_;
    std::string reason_;
    std::string_view json_;
    const char* buffer_ = nullptr;
    std::size_t current_row_ = 0;
};

}  // namespace sluice::detail::json
