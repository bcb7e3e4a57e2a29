// DDSketch with a logarithmic index mapping and collapsing-lowest dense stores.

#include <sluice/core/assert.hpp>
#include <sluice/ops/window/ddsketch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sluice {

ddsketch::ddsketch(double relative_accuracy, std::size_t max_bins)
    : alpha_(std::clamp(relative_accuracy, 1e-6, 0.5))
    , gamma_((1 + alpha_) / (1 - alpha_))
    , inv_log_gamma_(1.0 / std::log(gamma_))
    , max_bins_(std::max<std::size_t>(max_bins, 1)) {}

double ddsketch::value_of(std::int32_t index) const {
    return 2.0 * std::pow(gamma_, index) / (gamma_ + 1.0);
}

void ddsketch::store::add(std::int32_t index,
                          std::uint64_t n,
                          std::size_t max_bins,
                          std::uint64_t& collapses) {
    const auto limit = static_cast<std::int64_t>(max_bins);
    if (!counts.empty()) {
        const std::int64_t at = static_cast<std::int64_t>(index) - offset;
        if (at >= 0 && at < static_cast<std::int64_t>(counts.size())) {
            counts[static_cast<std::size_t>(at)] += n;
            return;
        }
    }
    // Growing. The range may hold empty bins at its ends (room reserved by an earlier growth),
    // so the collapse decision uses the occupied bins only: it is the same as if the range had
    // grown one index at a time, and so are the counts and every quantile.
    std::int64_t used_low = index;
    std::int64_t used_top = index;
    std::size_t first = 0;
    std::size_t last = counts.size();
    while (first < counts.size() && counts[first] == 0) {
        ++first;
    }
    while (last > first && counts[last - 1] == 0) {
        --last;
    }
    if (first < last) {
        used_low = std::min<std::int64_t>(used_low, offset + static_cast<std::int64_t>(first));
        used_top = std::max<std::int64_t>(used_top, offset + static_cast<std::int64_t>(last) - 1);
    }
    if (used_top - used_low + 1 > limit) {
        used_low = used_top - limit + 1;
        ++collapses;
    }
    // Reserve empty bins on the side it grew to (half the occupied span, at least 8, within
    // max_bins): a window's values fill their range in a few growths instead of one
    // reallocation per new extreme.
    const std::int64_t span = used_top - used_low + 1;
    const std::int64_t room = std::min(limit - span, std::max<std::int64_t>(8, span / 2));
    std::int64_t new_low = used_low;
    std::int64_t new_top = used_top;
    if (first >= last) {
        new_low -= room / 2;
        new_top += room - room / 2;
    } else if (index < offset + static_cast<std::int64_t>(first)) {
        new_low -= room;
    } else {
        new_top += room;
    }
    std::vector<std::uint64_t> grown(static_cast<std::size_t>(new_top - new_low + 1), 0);
    for (std::size_t i = first; i < last; ++i) {
        const std::int64_t at =
                std::max<std::int64_t>(offset + static_cast<std::int64_t>(i), new_low);
        grown[static_cast<std::size_t>(at - new_low)] += counts[i];
    }
    const std::int64_t at = std::max<std::int64_t>(index, new_low);
    grown[static_cast<std::size_t>(at - new_low)] += n;
    counts = std::move(grown);
    offset = static_cast<std::int32_t>(new_low);
}

void ddsketch::add_slow(double value) {
    if (std::isnan(value)) {
        return;
    }
    ++count_;
    const double magnitude = std::fabs(value);
    if (magnitude < min_indexable) {
        ++zeros_;
    } else if (value > 0) {
        positive_.add(index_of(magnitude), 1, max_bins_, collapses_);
    } else {
        negative_.add(index_of(magnitude), 1, max_bins_, collapses_);
    }
}

void ddsketch::merge(const ddsketch& other) {
    SLUICE_ASSERT(other.alpha_ == alpha_ && other.max_bins_ == max_bins_);
    count_ += other.count_;
    zeros_ += other.zeros_;
    collapses_ += other.collapses_;
    const auto merge_store = [this](store& into, const store& from) {
        for (std::size_t i = 0; i < from.counts.size(); ++i) {
            if (from.counts[i] != 0) {
                into.add(from.offset + static_cast<std::int32_t>(i),
                         from.counts[i],
                         max_bins_,
                         collapses_);
            }
        }
    };
    merge_store(positive_, other.positive_);
    merge_store(negative_, other.negative_);
}

double ddsketch::quantile(double q) const {
    if (count_ == 0) {
        return 0.0;
    }
    q = std::clamp(q, 0.0, 1.0);
    const auto rank = static_cast<std::uint64_t>(std::floor(q * static_cast<double>(count_ - 1)));
    std::uint64_t seen = 0;
    // Ascending order: most negative first (highest negative index), then zeros, then positives.
    for (std::size_t i = negative_.counts.size(); i-- > 0;) {
        seen += negative_.counts[i];
        if (seen > rank) {
            return -value_of(negative_.offset + static_cast<std::int32_t>(i));
        }
    }
    seen += zeros_;
    if (seen > rank) {
        return 0.0;
    }
    for (std::size_t i = 0; i < positive_.counts.size(); ++i) {
        seen += positive_.counts[i];
        if (seen > rank) {
            return value_of(positive_.offset + static_cast<std::int32_t>(i));
        }
    }
    // Unreachable when the counts add up; the largest bin is the safe answer.
    return positive_.counts.empty()
                   ? 0.0
                   : value_of(positive_.offset +
                              static_cast<std::int32_t>(positive_.counts.size()) - 1);
}

std::size_t ddsketch::memory_bytes() const noexcept {
    return (positive_.counts.capacity() + negative_.counts.capacity()) * sizeof(std::uint64_t);
}

}  // namespace sluice
