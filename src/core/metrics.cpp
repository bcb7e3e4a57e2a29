#include <sluice/core/metrics.hpp>

#include <bit>
#include <cmath>

namespace sluice {
namespace {

// Bucket b holds values in [lower(b), lower(b+1)): 4 sub-buckets per power of two.
int bucket_of(std::uint64_t value) noexcept {
    if (value < 4) {
        return static_cast<int>(value);
    }
    const int octave = 63 - std::countl_zero(value);                          // >= 2
    const int sub = static_cast<int>((value >> (octave - 2)) & 3U);           // next two bits
    return octave * latency_histogram::buckets_per_octave + sub - 4;
}

std::uint64_t upper_bound_of(int bucket) noexcept {
    if (bucket < 4) {
        return static_cast<std::uint64_t>(bucket);
    }
    const int octave = (bucket + 4) / latency_histogram::buckets_per_octave;
    const int sub = (bucket + 4) % latency_histogram::buckets_per_octave;
    const std::uint64_t base = std::uint64_t{1} << octave;
    const std::uint64_t step = base >> 2;
    return base + step * static_cast<std::uint64_t>(sub + 1) - 1;
}

}  // namespace

void latency_histogram::record(std::uint64_t nanoseconds) noexcept {
    int bucket = bucket_of(nanoseconds);
    if (bucket >= bucket_count) {
        bucket = bucket_count - 1;
    }
    buckets_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t latency_histogram::quantile(double q) const noexcept {
    std::uint64_t total = 0;
    for (const auto& b : buckets_) {
        total += b.load(std::memory_order_relaxed);
    }
    if (total == 0) {
        return 0;
    }
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (int i = 0; i < bucket_count; ++i) {
        seen += buckets_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed);
        if (seen >= rank && seen > 0) {
            return upper_bound_of(i);
        }
    }
    return upper_bound_of(bucket_count - 1);
}

}  // namespace sluice
