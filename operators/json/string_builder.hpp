#pragma once

// Private to the json operator: one string output column built row by row, then moved into its
// column in one piece (column::assign_strings). column::push_string is an out-of-line call with
// a vector insert and a validity update per value; this append is a few inline instructions.

#include <sluice/core/column.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::detail::json {

class string_builder {
public:
    string_builder()
        : offsets_(1, 0) {}

    /// Room for `rows` values of `bytes` bytes in all (it grows past that if needed).
    void reserve(std::size_t rows, std::size_t bytes) {
        bytes_.resize(std::max(bytes_.size(), bytes + copy_slack));
        offsets_.reserve(rows + 1);
    }

    /// Appends a valid value. `readable_end`: the value's bytes may be read in one 32-byte
    /// copy when that ends at or before it (null: copy exactly).
    void push(std::string_view value, const char* readable_end) {
        const std::size_t size = value.size();
        if (used_ + size + copy_slack > bytes_.size()) {
            grow(size);
        }
        char* out = bytes_.data() + used_;
        if (size <= copy_slack && readable_end != nullptr &&
            value.data() + copy_slack <= readable_end) {
            std::memcpy(out, value.data(), copy_slack);  // the bytes past `size` are scratch
        } else if (size != 0) {
            std::memcpy(out, value.data(), size);
        }
        used_ += size;
        offsets_.push_back(static_cast<std::uint32_t>(used_));
        if (!validity_.empty()) {
            mark(true);
        }
    }

    /// Appends a missing value.
    void push_null() {
        offsets_.push_back(static_cast<std::uint32_t>(used_));
        if (validity_.empty()) {
            // First missing value: every earlier row is valid.
            validity_.assign(((offsets_.size() - 2) >> 6) + 1, ~std::uint64_t{0});
        }
        mark(false);
    }

    /// Bytes appended so far.
    std::size_t bytes() const noexcept { return used_; }

    /// Moves the values into `target`, an empty string column; leaves this builder empty.
    void finish(column& target) {
        bytes_.resize(used_);
        target.assign_strings(std::move(bytes_), std::move(offsets_), std::move(validity_));
        bytes_.clear();
        offsets_.assign(1, 0);
        validity_.clear();
        used_ = 0;
    }

private:
    static constexpr std::size_t copy_slack = 32;

    // The row just appended (offsets_.size() - 2) is valid or not; the bitmap is in use.
    void mark(bool valid) {
        const std::size_t row = offsets_.size() - 2;
        if ((row >> 6) >= validity_.size()) {
            validity_.push_back(~std::uint64_t{0});
        }
        if (!valid) {
            validity_[row >> 6] &= ~(std::uint64_t{1} << (row & 63));
        }
    }

    [[gnu::noinline]] void grow(std::size_t size) {
        bytes_.resize(std::max(bytes_.size() * 2, used_ + size + copy_slack));
    }

    std::vector<char> bytes_;  // used_ bytes of values, then scratch
    std::size_t used_ = 0;
    std::vector<std::uint32_t> offsets_;
    std::vector<std::uint64_t> validity_;  // empty while every value is valid
};

}  // namespace sluice::detail::json
