#pragma once

#include <cstddef>
#include <string_view>

namespace sluice {

/// Levenshtein distance between `a` and `b` (case-sensitive): the "did you mean" suggestions
/// of config errors and bind errors all measure closeness with it.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace sluice
