#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// A contiguous range of positions a source read, e.g. Kafka offsets [first, last] of one
/// partition, or line numbers of a file. Positions are inclusive at both ends.
struct source_position {
    std::int32_t partition = 0;  ///< Kafka partition, or 0 for single-stream sources
    std::int64_t first = 0;      ///< first position covered
    std::int64_t last = 0;       ///< last position covered (inclusive)

    bool operator==(const source_position&) const = default;
};

/// Acknowledgement of one source batch's positions.
///
/// Every batch derived from a source batch carries a shared reference to its `ack_token`.
/// When the last reference is dropped (every sink has accepted the data, and every window that
/// held the input has emitted and seen its output accepted) the token calls its release
/// callback with `delivered == true`, and the source may commit the positions. A sink that
/// could not deliver calls `fail()` first, and the positions are reported as not delivered,
/// so they are never committed. Thread-safe: references may be dropped on any thread.
class ack_token {
public:
    using release_callback =
            std::function<void(const std::vector<source_position>& positions, bool delivered)>;

    ack_token(std::vector<source_position> positions, release_callback on_release);
    ~ack_token();
    ack_token(const ack_token&) = delete;
    ack_token& operator=(const ack_token&) = delete;
    ack_token(ack_token&&) = delete;
    ack_token& operator=(ack_token&&) = delete;

    /// Marks the data as not delivered. Only the fact is kept: the source hears about it
    /// through `reject_positions`; the caller logs `reason` where it knows the context.
    void fail(std::string_view reason) noexcept;
    bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }
    const std::vector<source_position>& positions() const noexcept { return positions_; }

private:
    std::vector<source_position> positions_;
    release_callback on_release_;
    std::atomic<bool> failed_{false};
};

using ack_ref = std::shared_ptr<ack_token>;

/// One slot of a source's bounded number of batches in flight. Released (its destructor runs
/// the callback) when the last batch referring to it is dropped, i.e. when every sink is done
/// with the batch and everything derived from it. Unlike acknowledgement, a window does not
/// keep the slot of the batches it holds in its state, so open windows never stall a source.
class flight_slot {
public:
    explicit flight_slot(std::function<void()> on_release)
        : on_release_(std::move(on_release)) {}
    ~flight_slot() {
        if (on_release_) {
            on_release_();
        }
    }
    flight_slot(const flight_slot&) = delete;
    flight_slot& operator=(const flight_slot&) = delete;
    flight_slot(flight_slot&&) = delete;
    flight_slot& operator=(flight_slot&&) = delete;

private:
    std::function<void()> on_release_;
};

using flight_ref = std::shared_ptr<flight_slot>;

}  // namespace sluice
