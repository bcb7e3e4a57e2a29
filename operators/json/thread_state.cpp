#include "thread_state.hpp"

namespace sluice::detail::json {

thread_state& local_state() {
    thread_local thread_state state;
    return state;
}

}  // namespace sluice::detail::json
