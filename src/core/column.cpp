#include <sluice/core/assert.hpp>
#include <sluice/core/column.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <utility>

namespace sluice {

column::column(data_type type)
    : type_(type) {
    if (type_ == data_type::string) {
        offsets_.push_back(0);
    }
}

std::span<const double> column::float64_values() const noexcept {
    return f64_;
}

std::span<const std::int64_t> column::int64_values() const noexcept {
    return i64_;
}

std::span<const std::uint8_t> column::bool_values() const noexcept {
    return bool_;
}

std::string_view column::string_at(std::size_t row) const noexcept {
    const auto begin = offsets_[row];
    return {chars_.data() + begin, offsets_[row + 1] - begin};
}

void column::reserve(std::size_t rows, std::size_t string_bytes) {
    switch (type_) {
        case data_type::float64:
            f64_.reserve(rows);
            break;
        case data_type::int64:
        case data_type::timestamp_ms:
            i64_.reserve(rows);
            break;
        case data_type::boolean:
            bool_.reserve(rows);
            break;
        case data_type::string:
            offsets_.reserve(rows + 1);
            chars_.reserve(string_bytes);
            break;
    }
}

void column::mark_valid_appended() {
    if (!validity_.empty()) {
        const std::size_t row = size_;
        if ((row >> 6) >= validity_.size()) {
            validity_.push_back(0);
        }
        validity_[row >> 6] |= (std::uint64_t{1} << (row & 63));
    }
    ++size_;
}

void column::mark_null_appended() {
    if (validity_.empty()) {
        // First missing value: materialise the bitmap with every earlier row valid.
        validity_.assign((size_ >> 6) + 1, ~std::uint64_t{0});
    }
    const std::size_t row = size_;
    if ((row >> 6) >= validity_.size()) {
        validity_.push_back(~std::uint64_t{0});
    }
    validity_[row >> 6] &= ~(std::uint64_t{1} << (row & 63));
    ++null_count_;
    ++size_;
}

void column::push_float64(double value) {
    SLUICE_ASSERT(type_ == data_type::float64);
    f64_.push_back(value);
    mark_valid_appended();
}

void column::push_int64(std::int64_t value) {
    SLUICE_ASSERT(is_integer_storage(type_));
    i64_.push_back(value);
    mark_valid_appended();
}

void column::push_bool(bool value) {
    SLUICE_ASSERT(type_ == data_type::boolean);
    bool_.push_back(value ? 1 : 0);
    mark_valid_appended();
}

void column::push_string(std::string_view value) {
    SLUICE_ASSERT(type_ == data_type::string);
    SLUICE_ASSERT(chars_.size() + value.size() <= std::numeric_limits<std::uint32_t>::max());
    chars_.insert(chars_.end(), value.begin(), value.end());
    offsets_.push_back(static_cast<std::uint32_t>(chars_.size()));
    mark_valid_appended();
}

void column::push_null() {
    switch (type_) {
        case data_type::float64:
            f64_.push_back(0.0);
            break;
        case data_type::int64:
        case data_type::timestamp_ms:
            i64_.push_back(0);
            break;
        case data_type::boolean:
            bool_.push_back(0);
            break;
        case data_type::string:
            offsets_.push_back(static_cast<std::uint32_t>(chars_.size()));
            break;
    }
    mark_null_appended();
}

void column::push_from(const column& other, std::size_t row) {
    SLUICE_ASSERT(other.type_ == type_ ||
                  (is_integer_storage(other.type_) && is_integer_storage(type_)));
    if (!other.is_valid(row)) {
        push_null();
        return;
    }
    switch (type_) {
        case data_type::float64:
            push_float64(other.f64_[row]);
            break;
        case data_type::int64:
        case data_type::timestamp_ms:
            push_int64(other.i64_[row]);
            break;
        case data_type::boolean:
            push_bool(other.bool_[row] != 0);
            break;
        case data_type::string:
            push_string(other.string_at(row));
            break;
    }
}

std::vector<double>& column::mutable_float64() {
    SLUICE_ASSERT(type_ == data_type::float64);
    return f64_;
}

std::vector<std::int64_t>& column::mutable_int64() {
    SLUICE_ASSERT(is_integer_storage(type_));
    return i64_;
}

std::vector<std::uint8_t>& column::mutable_bool() {
    SLUICE_ASSERT(type_ == data_type::boolean);
    return bool_;
}

void column::resize(std::size_t rows) {
    SLUICE_ASSERT(type_ != data_type::string);
    switch (type_) {
        case data_type::float64:
            f64_.resize(rows);
            break;
        case data_type::int64:
        case data_type::timestamp_ms:
            i64_.resize(rows);
            break;
        default:
            bool_.resize(rows);
            break;
    }
    if (!validity_.empty()) {
        validity_.resize((rows >> 6) + 1, ~std::uint64_t{0});
        if (rows < size_) {
            // Recount: rows beyond the new size no longer exist.
            null_count_ = 0;
            for (std::size_t i = 0; i < rows; ++i) {
                null_count_ += is_valid(i) ? 0 : 1;
            }
        }
    }
    size_ = rows;
}

void column::assign_strings(std::vector<char> bytes,
                            std::vector<std::uint32_t> offsets,
                            std::vector<std::uint64_t> validity) {
    SLUICE_ASSERT(type_ == data_type::string);
    SLUICE_ASSERT(!offsets.empty() && offsets.front() == 0 && offsets.back() == bytes.size());
    const std::size_t rows = offsets.size() - 1;
    chars_ = std::move(bytes);
    offsets_ = std::move(offsets);
    size_ = rows;
    null_count_ = 0;
    validity_.clear();
    if (!validity.empty()) {
        SLUICE_ASSERT(validity.size() >= (rows + 63) / 64);
        // The shape set_null gives: (rows >> 6) + 1 words, bits past the last row set.
        validity.resize((rows >> 6) + 1, ~std::uint64_t{0});
        validity.back() |= ~std::uint64_t{0} << (rows & 63);
        for (const auto word : validity) {
            null_count_ += static_cast<std::size_t>(std::popcount(~word));
        }
        if (null_count_ != 0) {
            validity_ = std::move(validity);
        }
    }
}

void column::set_null(std::size_t row) {
    SLUICE_ASSERT(row < size_);
    if (validity_.empty()) {
        validity_.assign((size_ >> 6) + 1, ~std::uint64_t{0});
    }
    auto& word = validity_[row >> 6];
    const auto bit = std::uint64_t{1} << (row & 63);
    if ((word & bit) != 0) {
        word &= ~bit;
        ++null_count_;
    }
}

column column::filter(std::span<const std::uint8_t> selection) const {
    SLUICE_ASSERT(selection.size() == size_);
    column out(type_);
    const auto kept = static_cast<std::size_t>(std::count_if(
            selection.begin(), selection.end(), [](std::uint8_t s) { return s != 0; }));
    out.reserve(kept, type_ == data_type::string ? chars_.size() : 0);
    if (!has_nulls()) {
        // Fast paths without per-row validity checks.
        switch (type_) {
            case data_type::float64:
                for (std::size_t i = 0; i < size_; ++i) {
                    if (selection[i] != 0) {
                        out.f64_.push_back(f64_[i]);
                    }
                }
                out.size_ = kept;
                return out;
            case data_type::int64:
            case data_type::timestamp_ms:
                for (std::size_t i = 0; i < size_; ++i) {
                    if (selection[i] != 0) {
                        out.i64_.push_back(i64_[i]);
                    }
                }
                out.size_ = kept;
                return out;
            case data_type::boolean:
                for (std::size_t i = 0; i < size_; ++i) {
                    if (selection[i] != 0) {
                        out.bool_.push_back(bool_[i]);
                    }
                }
                out.size_ = kept;
                return out;
            case data_type::string:
                break;
        }
    }
    for (std::size_t i = 0; i < size_; ++i) {
        if (selection[i] != 0) {
            out.push_from(*this, i);
        }
    }
    return out;
}

std::size_t column::memory_bytes() const noexcept {
    return f64_.capacity() * sizeof(double) + i64_.capacity() * sizeof(std::int64_t) +
           bool_.capacity() + chars_.capacity() + offsets_.capacity() * sizeof(std::uint32_t) +
           validity_.capacity() * sizeof(std::uint64_t);
}

}  // namespace sluice
