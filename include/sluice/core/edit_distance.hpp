#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// Levenshtein distance between `a` and `b` (case-sensitive): the "did you mean" suggestions
/// of config errors and bind errors all measure closeness with it.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The closest of `candidates` to `word` if it is close enough to be a likely typo, else "".
std::string closest_name(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace sluice
