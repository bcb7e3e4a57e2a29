#pragma once

#include <sluice/core/assert.hpp>
#include <sluice/core/batch.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace sluice::detail {

/// Gathers, in front of a join_transform, the batches its inputs made from one source batch.
///
/// Every input delivers exactly one batch per (stream, sequence) origin; `push` keeps each
/// until all inputs have delivered that origin and then returns the complete set, one batch
/// per input in input order. Memory is bounded by the batches in flight (the batches held
/// here keep their flight slots, and every source bounds those). Thread-safe.
class join_buffer {
public:
    void set_inputs(std::size_t inputs) { inputs_ = inputs; }

    /// Adds the batch of input `index`; returns the complete set once every input has
    /// delivered this origin, else an empty vector. A second batch of one origin from the same
    /// input is a bug in the wiring checks (asserted).
    std::vector<batch_ptr> push(std::size_t index, batch_ptr incoming) {
        SLUICE_ASSERT(index < inputs_);
        const auto key = std::make_pair(incoming->origin().stream, incoming->origin().sequence);
        std::lock_guard lock(mutex_);
        auto& set = pending_[key];
        if (set.parts.empty()) {
            set.parts.resize(inputs_);
        }
        SLUICE_ASSERT(set.parts[index] == nullptr);
        set.parts[index] = std::move(incoming);
        if (++set.arrived < inputs_) {
            return {};
        }
        auto complete = std::move(set.parts);
        pending_.erase(key);
        return complete;
    }

    /// Origins some but not all inputs have delivered.
    std::size_t pending() const {
        std::lock_guard lock(mutex_);
        return pending_.size();
    }

    /// Removes every incomplete set and returns the batches it held.
    std::vector<batch_ptr> take_pending() {
        std::lock_guard lock(mutex_);
        std::vector<batch_ptr> out;
        for (auto& [key, set] : pending_) {
            for (auto& part : set.parts) {
                if (part) {
                    out.push_back(std::move(part));
                }
            }
        }
        pending_.clear();
        return out;
    }

private:
    struct partial_set {
        std::vector<batch_ptr> parts;  // one slot per input
        std::size_t arrived = 0;
    };
    std::size_t inputs_ = 0;
    mutable std::mutex mutex_;
    std::map<std::pair<std::uint32_t, std::uint64_t>, partial_set> pending_;
};

}  // namespace sluice::detail
