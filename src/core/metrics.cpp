#include <sluice/core/metrics.hpp>

#include <algorithm>
#include <bit>
#include <cmath>

namespace sluice {
namespace {

constexpr int sub_bits = latency_histogram::sub_bucket_bits;
constexpr int per_octave = latency_histogram::buckets_per_octave;

// Values below 2 * per_octave are their own bucket. Above, the octave of the highest set bit
// picks a group of per_octave buckets and the next sub_bits bits the bucket inside it, so each
// bucket spans 1/per_octave of its power of two.
int bucket_of(std::uint64_t value) noexcept {
    if (value < 2 * per_octave) {
        return static_cast<int>(value);
    }
    const int octave = 63 - std::countl_zero(value);  // > sub_bits
    const auto sub = static_cast<int>((value >> (octave - sub_bits)) & (per_octave - 1U));
    return (octave - sub_bits + 1) * per_octave + sub;
}

// The largest value bucket_of() maps to `bucket`.
std::uint64_t upper_bound_of(int bucket) noexcept {
    if (bucket < 2 * per_octave) {
        return static_cast<std::uint64_t>(bucket);
    }
    const int octave = bucket / per_octave + sub_bits - 1;
    const int sub = bucket % per_octave;
    const std::uint64_t base = std::uint64_t{1} << octave;
    const std::uint64_t step = base >> sub_bits;
    // For the last bucket this wraps to 2^64 - 1, the largest value there is.
    return base + step * static_cast<std::uint64_t>(sub + 1) - 1;
}

}  // namespace

std::uint64_t latency_histogram::bucket_upper_bound(int bucket) noexcept {
    return upper_bound_of(bucket);
}

void latency_histogram::record_since(std::span<const std::int64_t> since_ns,
                                     std::int64_t now_ns) noexcept {
    std::array<std::uint32_t, bucket_count> local{};
    std::uint64_t sum = 0;
    for (const auto t : since_ns) {
        const auto elapsed = now_ns > t ? static_cast<std::uint64_t>(now_ns - t) : 0;
        sum += elapsed;
        ++local[static_cast<std::size_t>(std::min(bucket_of(elapsed), bucket_count - 1))];
    }
    sum_ns_.fetch_add(sum, std::memory_order_relaxed);
    for (std::size_t b = 0; b < local.size(); ++b) {
        if (local[b] != 0) {
            buckets_[b].fetch_add(local[b], std::memory_order_relaxed);
        }
    }
    count_.fetch_add(since_ns.size(), std::memory_order_relaxed);
}

void latency_histogram::record(std::uint64_t nanoseconds) noexcept {
    int bucket = bucket_of(nanoseconds);
    if (bucket >= bucket_count) {
        bucket = bucket_count - 1;
    }
    buckets_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(nanoseconds, std::memory_order_relaxed);
}

std::uint64_t latency_histogram::quantile(double q) const noexcept {
    std::array<std::uint64_t, bucket_count> counts{};
    for (std::size_t b = 0; b < counts.size(); ++b) {
        counts[b] = buckets_[b].load(std::memory_order_relaxed);
    }
    return quantile_of(counts, q);
}

std::uint64_t latency_histogram::quantile_of(std::span<const std::uint64_t> counts,
                                             double q) noexcept {
    std::uint64_t total = 0;
    for (const auto c : counts) {
        total += c;
    }
    if (total == 0) {
        return 0;
    }
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        seen += counts[i];
        if (seen >= rank && seen > 0) {
            return upper_bound_of(static_cast<int>(i));
        }
    }
    return upper_bound_of(static_cast<int>(counts.size()) - 1);
}

void metric_set::add(std::string_view name, std::int64_t delta) {
    const std::lock_guard lock(mutex_);
    auto it = values_.find(name);
    if (it == values_.end()) {
        it = values_.emplace(std::string(name), std::pair{kind::counter, std::int64_t{0}}).first;
    }
    it->second.second += delta;
}

void metric_set::set(std::string_view name, std::int64_t value) {
    const std::lock_guard lock(mutex_);
    auto it = values_.find(name);
    if (it == values_.end()) {
        values_.emplace(std::string(name), std::pair{kind::gauge, value});
    } else {
        it->second = {kind::gauge, value};
    }
}

std::int64_t metric_set::value(std::string_view name) const {
    const std::lock_guard lock(mutex_);
    const auto it = values_.find(name);
    return it == values_.end() ? 0 : it->second.second;
}

std::vector<metric_set::sample> metric_set::snapshot() const {
    const std::lock_guard lock(mutex_);
    std::vector<sample> out;
    out.reserve(values_.size());
    for (const auto& [name, entry] : values_) {
        out.push_back({name, entry.first, entry.second});
    }
    return out;
}

}  // namespace sluice
