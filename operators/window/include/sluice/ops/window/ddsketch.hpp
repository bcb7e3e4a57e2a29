#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace sluice {

/// A DDSketch (Masson, Rim, Lee, VLDB 2019): a quantile sketch with a relative-error
/// guarantee and bounded memory.
///
/// Guarantee: for a sketch of n values and 0 <= q <= 1, `quantile(q)` returns x̂ with
/// |x̂ − x_q| <= α·|x_q|, where α is `relative_accuracy()` and x_q is the value at 0-based
/// rank ⌊q·(n − 1)⌋ of the values in ascending order — as long as no bin had to be collapsed
/// on x_q's side of zero (see below). Values with |x| below `min_indexable` count as 0.
///
/// Memory: positive and negative values each go into at most `max_bins` logarithmic bins
/// (8 bytes each) over a contiguous index range. When a store would need more, its lowest
/// bins (the values of smallest magnitude) are collapsed into one, so quantiles among the
/// largest magnitudes keep the guarantee. With α = 1 % and 2048 bins, collapsing starts only
/// when one sign's magnitudes span more than a factor of about 6·10^17.
///
/// Not thread-safe; a value type (copyable, movable).
class ddsketch {
public:
    /// Smallest magnitude that is indexed; smaller magnitudes count as zero.
    static constexpr double min_indexable = 1e-300;

    /// Preconditions: 0 < relative_accuracy < 1, max_bins >= 1 (clamped otherwise).
    explicit ddsketch(double relative_accuracy = 0.01, std::size_t max_bins = 2048);

    /// Adds one value. NaN is ignored; ±infinity is clamped to the largest indexable value.
    void add(double value) {
        // Inline fast path: a finite positive value whose bin is already in range (most values
        // once a window has seen a few).
        if (value >= min_indexable && value <= std::numeric_limits<double>::max()) {
            const std::int64_t at = static_cast<std::int64_t>(index_of(value)) - positive_.offset;
            if (at >= 0 && at < static_cast<std::int64_t>(positive_.counts.size())) {
                ++positive_.counts[static_cast<std::size_t>(at)];
                ++count_;
                return;
            }
        }
        add_slow(value);
    }
    /// Adds every value of `other`, which must have the same accuracy and bin limit (SLUICE_ASSERT:
    /// merging sketches with different mappings would void the guarantee).
    void merge(const ddsketch& other);

    /// The q-quantile (q clamped to [0, 1]); 0 for an empty sketch (check `empty()`).
    double quantile(double q) const;

    std::uint64_t count() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    double relative_accuracy() const noexcept { return alpha_; }
    std::size_t max_bins() const noexcept { return max_bins_; }
    /// Times a store collapsed its lowest bins (0 means the guarantee holds for every q).
    std::uint64_t collapses() const noexcept { return collapses_; }
    /// Heap bytes held by the bins (not counting sizeof(ddsketch)).
    std::size_t memory_bytes() const noexcept;

private:
    // Counts of a contiguous range of bin indices [offset, offset + counts.size()).
    struct store {
        std::int32_t offset = 0;
        std::vector<std::uint64_t> counts;
        void add(std::int32_t index,
                 std::uint64_t n,
                 std::size_t max_bins,
                 std::uint64_t& collapses);
    };

    void add_slow(double value);
    std::int32_t index_of(double magnitude) const {
        // Bin i holds (γ^(i-1), γ^i]; its representative 2γ^i/(γ+1) is within α of every value in
        // it.
        const double clamped = std::min(magnitude, std::numeric_limits<double>::max());
        return static_cast<std::int32_t>(std::ceil(std::log(clamped) * inv_log_gamma_));
    }
    double value_of(std::int32_t index) const;

    double alpha_;
    double gamma_;
    double inv_log_gamma_;
    std::size_t max_bins_;
    std::uint64_t count_ = 0;
    std::uint64_t zeros_ = 0;
    std::uint64_t collapses_ = 0;
    store positive_;
    store negative_;
};

}  // namespace sluice
