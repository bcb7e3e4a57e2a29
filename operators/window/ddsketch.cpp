// DDSketch with a logarithmic index mapping and collapsing-lowest dense stores.

#include <sluice/core/assert.hpp>
#include <sluice/ops/window/ddsketch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sluice {

ddsketch::ddsketch(double relative_accuracy, std::size_t max_bins)
        : alpha_(std::clamp(relative_accuracy, 1e-6, 0.5)),
          gamma_((1 + alpha_) / (1 - alpha_)),
          inv_log_gamma_(1.0 / std::log(gamma_)),
          max_bins_(std::max<std::size_t>(max_bins, 1)) {}

std::int32_t ddsketch::index_of(double magnitude) const {
    // Bin i holds (γ^(i-1), γ^i]; its representative 2γ^i/(γ+1) is within α of every value in it.
    const double clamped = std::min(magnitude, std::numeric_limits<double>::max());
    return static_cast<std::int32_t>(std::ceil(std::log(clamped) * inv_log_gamma_));
}

double ddsketch::value_of(std::int32_t index) const {
    return 2.0 * std::pow(gamma_, index) / (gamma_ + 1.0);
}

void ddsketch::store::add(std::int32_t index,
                          std::uint64_t n,
                          std::size_t max_bins,
                          std::uint64_t& collapses) {
    if (counts.empty()) {
        offset = index;
        counts.assign(1, n);
        return;
    }
    const std::int64_t top = static_cast<std::int64_t>(offset) + static_cast<std::int64_t>(counts.size()) - 1;
    if (index >= offset && index <= top) {
        counts[static_cast<std::size_t>(index - offset)] += n;
        return;
    }
    const std::int64_t new_top = std::max<std::int64_t>(top, index);
    std::int64_t new_low = std::min<std::int64_t>(offset, index);
    const auto limit = static_cast<std::int64_t>(max_bins);
    if (new_top - new_low + 1 > limit) {
        new_low = new_top - limit + 1;
        ++collapses;
    }
    std::vector<std::uint64_t> grown(static_cast<std::size_t>(new_top - new_low + 1), 0);
    for (std::size_t i = 0; i < counts.size(); ++i) {
        const std::int64_t at = std::max<std::int64_t>(offset + static_cast<std::int64_t>(i), new_low);
        grown[static_cast<std::size_t>(at - new_low)] += counts[i];
    }
    const std::int64_t at = std::max<std::int64_t>(index, new_low);
    grown[static_cast<std::size_t>(at - new_low)] += n;
    counts = std::move(grown);
    offset = static_cast<std::int32_t>(new_low);
}

void ddsketch::add(double value) {
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
                into.add(from.offset + static_cast<std::int32_t>(i), from.counts[i], max_bins_, collapses_);
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
                   : value_of(positive_.offset + static_cast<std::int32_t>(positive_.counts.size()) - 1);
}

std::size_t ddsketch::memory_bytes() const noexcept {
    return (positive_.counts.capacity() + negative_.counts.capacity()) * sizeof(std::uint64_t);
}

}  // namespace sluice
