#pragma once

#include <sluice/core/batch.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace sluice::detail {

/// Restores each stream's order in front of an operator that needs it.
///
/// Batches of one (producer, stream) pair carry dense sequence numbers 0, 1, 2, ...; parallel
/// stages upstream may deliver them out of order. `push` returns the batches that are now
/// next in line (possibly none, possibly several), in order. Memory is bounded by the
/// batches in flight, which the source's limiter bounds. Thread-safe.
class reorder_buffer {
public:
    std::vector<batch_ptr> push(batch_ptr incoming) {
        const auto& origin = incoming->origin();
        const std::uint64_t key = (std::uint64_t{origin.producer} << 32) | origin.stream;
        std::lock_guard lock(mutex_);
        auto& state = streams_[key];
        std::vector<batch_ptr> ready;
        if (origin.sequence != state.next) {
            state.pending.emplace(origin.sequence, std::move(incoming));
            return ready;
        }
        ready.push_back(std::move(incoming));
        ++state.next;
        for (auto it = state.pending.begin(); it != state.pending.end() && it->first == state.next;
             it = state.pending.erase(it)) {
            ready.push_back(std::move(it->second));
            ++state.next;
        }
        return ready;
    }

    /// Batches waiting for an earlier one (0 once the stream is drained).
    std::size_t pending() const {
        std::lock_guard lock(mutex_);
        std::size_t total = 0;
        for (const auto& [key, state] : streams_) {
            total += state.pending.size();
        }
        return total;
    }

private:
    struct stream_state {
        std::uint64_t next = 0;
        std::map<std::uint64_t, batch_ptr> pending;
    };
    mutable std::mutex mutex_;
    std::unordered_map<std::uint64_t, stream_state> streams_;
};

}  // namespace sluice::detail
