#pragma once

#include <stdexcept>

/// Checks an internal invariant (a bug if it fails). Throws std::logic_error rather than
/// aborting: the library never aborts, and the graph turns the exception into an error.
#define SLUICE_ASSERT(condition)                                                                 \
    do {                                                                                         \
        if (!(condition)) {                                                                      \
            throw std::logic_error(                                                              \
                    __FILE__ ":" SLUICE_DETAIL_STR(__LINE__) ": assertion failed: " #condition); \
        }                                                                                        \
    } while (false)

#define SLUICE_DETAIL_STR2(x) #x
#define SLUICE_DETAIL_STR(x) SLUICE_DETAIL_STR2(x)
