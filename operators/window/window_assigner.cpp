// Event time -> windows.

#include <sluice/ops/window/window_assigner.hpp>

#include <algorithm>

namespace sluice {

window_assigner::window_assigner(window_kind kind, std::int64_t size_ms, std::int64_t slide_ms)
    : kind_(kind)
    , size_(std::max<std::int64_t>(size_ms, 1))
    , slide_(kind == window_kind::hopping ? std::clamp<std::int64_t>(slide_ms, 1, size_) : size_)
    , max_windows_(kind == window_kind::hopping
                           ? static_cast<std::size_t>((size_ + slide_ - 1) / slide_)
                           : 1) {}

std::size_t window_assigner::assign(std::int64_t time_ms, window_bounds* out) const noexcept {
    if (kind_ == window_kind::session) {
        out[0] = {time_ms, time_ms + size_};
        return 1;
    }
    // The latest window containing t starts at the last multiple of slide <= t; earlier ones
    // step back by slide while they still reach past t.
    std::size_t n = 0;
    for (std::int64_t start = floor_div(time_ms, slide_) * slide_;
         start > time_ms - size_ && n < max_windows_;
         start -= slide_) {
        out[n++] = {start, start + size_};
    }
    return n;
}

}  // namespace sluice
