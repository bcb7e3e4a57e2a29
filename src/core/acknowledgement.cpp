#include <sluice/graph/acknowledgement.hpp>

namespace sluice {

ack_token::ack_token(std::vector<source_position> positions, release_callback on_release)
    : positions_(std::move(positions))
    , on_release_(std::move(on_release)) {}

ack_token::~ack_token() {
    if (on_release_) {
        // A destructor must not throw: a failing callback is the source's bug, not a reason to
        // terminate the process from whichever thread dropped the last reference.
        try {
            on_release_(positions_, !failed());
        } catch (...) {
        }
    }
}

void ack_token::fail(std::string_view reason) noexcept {
    (void)reason;  // documented: the token keeps only the fact (see the header)
    failed_.store(true, std::memory_order_release);
}

}  // namespace sluice
