#pragma once

#include <sluice/core/data_type.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace sluice {

/// A typed column of values with a validity bitmap (a cleared bit marks a missing value).
///
/// Storage is struct-of-arrays: float64 in `double`s, int64 and timestamp_ms in `int64_t`s,
/// bool in one byte per value, string as contiguous bytes plus `size() + 1` offsets. A missing
/// value still occupies a slot (0, false or "") so that row `i` is at index `i` everywhere.
/// Building (`push_*`) is single-threaded; a finished column is shared read-only between
/// batches and threads through `column_ptr`.
class column {
public:
    explicit column(data_type type);

    data_type type() const noexcept { return type_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    /// True if row `row` holds a value (not missing).
    bool is_valid(std::size_t row) const noexcept {
        return validity_.empty() || ((validity_[row >> 6] >> (row & 63)) & 1U) != 0;
    }
    bool has_nulls() const noexcept { return null_count_ != 0; }
    std::size_t null_count() const noexcept { return null_count_; }

    /// Typed read access. Precondition: the column has the matching type (asserted).
    std::span<const double> float64_values() const noexcept;
    /// int64 and timestamp_ms columns.
    std::span<const std::int64_t> int64_values() const noexcept;
    /// One byte per row, 0 or 1.
    std::span<const std::uint8_t> bool_values() const noexcept;
    std::string_view string_at(std::size_t row) const noexcept;
    /// Raw string storage: bytes, and offsets with size() + 1 entries.
    std::span<const char> string_bytes() const noexcept { return chars_; }
    std::span<const std::uint32_t> string_offsets() const noexcept { return offsets_; }
    /// The validity bitmap words (empty when no value is missing).
    std::span<const std::uint64_t> validity_words() const noexcept { return validity_; }

    /// Reserves room for `rows` values (and `string_bytes` bytes for strings).
    void reserve(std::size_t rows, std::size_t string_bytes = 0);

    void push_float64(double value);
    void push_int64(std::int64_t value);
    void push_bool(bool value);
    void push_string(std::string_view value);
    /// Appends a missing value of the column's type.
    void push_null();
    /// Appends row `row` of `other` (same type), missing or not.
    void push_from(const column& other, std::size_t row);

    /// Mutable access for bulk producers that fill values directly; call `set_null` afterwards
    /// for missing rows. Resizing through these vectors is not allowed for strings.
    std::vector<double>& mutable_float64();
    std::vector<std::int64_t>& mutable_int64();
    std::vector<std::uint8_t>& mutable_bool();
    /// Resizes a numeric or bool column to `rows` values (new values 0, valid).
    void resize(std::size_t rows);
    /// Bulk producers of strings (json_decode): replaces the contents of a string column with
    /// storage built elsewhere, moved in without a copy. `offsets` holds one entry more than
    /// there are rows, starting at 0, non-decreasing, ending at `bytes.size()` (row `i` is
    /// bytes [offsets[i], offsets[i + 1])); `validity` is empty when no value is missing, else
    /// at least one bit per row (set = valid; bits past the last row are ignored). The shape is
    /// asserted (first and last offset, bitmap length), not every offset.
    void assign_strings(std::vector<char> bytes,
                        std::vector<std::uint32_t> offsets,
                        std::vector<std::uint64_t> validity = {});
    /// Marks row `row` missing (its stored value is left as is).
    void set_null(std::size_t row);

    /// A new column holding the rows whose `selection` byte is non-zero, in order.
    column filter(std::span<const std::uint8_t> selection) const;

    /// Bytes held (values, strings, offsets, bitmap): for memory accounting.
    std::size_t memory_bytes() const noexcept;

private:
    void mark_valid_appended();
    void mark_null_appended();

    data_type type_;
    std::size_t size_ = 0;
    std::size_t null_count_ = 0;
    std::vector<double> f64_;
    std::vector<std::int64_t> i64_;
    std::vector<std::uint8_t> bool_;
    std::vector<char> chars_;
    std::vector<std::uint32_t> offsets_;
    std::vector<std::uint64_t> validity_;
};

using column_ptr = std::shared_ptr<const column>;

}  // namespace sluice
