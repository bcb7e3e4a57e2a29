#pragma once

// The window operator's slot storage: an array in chunks of 256 that never moves its elements
// (a window_slot reference stays valid while more slots are added, as with std::deque), but
// whose indexing is a shift and a mask: std::deque's took ~6 % of the tumbling benchmark's CPU
// (README "Benchmark").

#include <cstddef>
#include <memory>
#include <vector>

namespace sluice::detail::window {

template <class T>
class slot_array {
public:
    T& operator[](std::size_t i) noexcept { return chunks_[i >> shift][i & mask]; }
    const T& operator[](std::size_t i) const noexcept { return chunks_[i >> shift][i & mask]; }
    std::size_t size() const noexcept { return size_; }

    /// Appends a default-constructed element.
    T& emplace_back() {
        if (size_ == chunks_.size() << shift) {
            chunks_.push_back(std::make_unique<T[]>(std::size_t{1} << shift));
        }
        return (*this)[size_++];
    }

private:
    static constexpr std::size_t shift = 8;
    static constexpr std::size_t mask = (std::size_t{1} << shift) - 1;
    std::vector<std::unique_ptr<T[]>> chunks_;
    std::size_t size_ = 0;
};

}  // namespace sluice::detail::window
