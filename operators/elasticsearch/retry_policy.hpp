#pragma once

// Exponential backoff with jitter for failed bulk items and requests.

#include <chrono>
#include <cstdint>
#include <random>

namespace sluice::es_detail {

/// Settings of the backoff.
struct retry_settings {
    std::chrono::nanoseconds initial_backoff = std::chrono::milliseconds(100);  ///< first wait, > 0
    std::chrono::nanoseconds max_backoff = std::chrono::seconds(10);  ///< cap, >= initial_backoff
    std::uint32_t max_retries =
            0;  ///< retries per document before it is dead-lettered; 0 = no limit
};

/// Exponential backoff with "equal jitter": the n-th retry (n >= 1) waits a uniformly random
/// time in [b/2, b] where b = min(max_backoff, initial_backoff * 2^(n-1)). The random half
/// spreads retries of many documents rejected at once; the fixed half guarantees that the
/// wait does grow. Not thread-safe (owns its random engine): one per thread.
class retry_policy {
public:
    explicit retry_policy(retry_settings settings, std::uint64_t seed = std::random_device{}());

    /// The wait before retry number `retry` (1 = first retry).
    std::chrono::nanoseconds delay(std::uint32_t retry);
    /// The upper bound b of that wait (no jitter).
    std::chrono::nanoseconds ceiling(std::uint32_t retry) const noexcept;
    /// True when a document that failed `retries_done` times after its first try must not be
    /// retried again.
    bool exhausted(std::uint32_t retries_done) const noexcept {
        return settings_.max_retries != 0 && retries_done >= settings_.max_retries;
    }
    const retry_settings& settings() const noexcept { return settings_; }

private:
    retry_settings settings_;
    std::mt19937_64 random_;
};

}  // namespace sluice::es_detail
