#include "retry_policy.hpp"

#include <algorithm>

namespace sluice::es_detail {

retry_policy::retry_policy(retry_settings settings, std::uint64_t seed)
    : settings_(settings)
    , random_(seed) {
    if (settings_.initial_backoff.count() <= 0) {
        settings_.initial_backoff = std::chrono::milliseconds(1);
    }
    settings_.max_backoff = std::max(settings_.max_backoff, settings_.initial_backoff);
}

std::chrono::nanoseconds retry_policy::ceiling(std::uint32_t retry) const noexcept {
    const auto initial = settings_.initial_backoff.count();
    const auto cap = settings_.max_backoff.count();
    // Doubling stops at the cap, so no shift can overflow.
    std::int64_t b = initial;
    for (std::uint32_t i = 1; i < retry && b < cap; ++i) {
        b = b > cap / 2 ? cap : b * 2;
    }
    return std::chrono::nanoseconds(std::min(b, cap));
}

std::chrono::nanoseconds retry_policy::delay(std::uint32_t retry) {
    const auto b = ceiling(std::max<std::uint32_t>(retry, 1)).count();
    std::uniform_int_distribution<std::int64_t> half(0, b - b / 2);
    return std::chrono::nanoseconds(b / 2 + half(random_));
}

}  // namespace sluice::es_detail
