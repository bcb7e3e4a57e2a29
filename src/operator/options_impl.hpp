#pragma once

#include <sluice/core/edit_distance.hpp>
#include <sluice/core/error.hpp>
#include <sluice/operator/option_spec.hpp>
#include <sluice/operator/options.hpp>

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>

namespace sluice {

/// What an `options` object wraps: the YAML mapping of one operator (or nested object),
/// the spec it was validated against, and enough context to point errors at the text.
struct options::impl {
    YAML::Node node;  // the mapping; Null when an optional object is absent
    const option_spec* spec = nullptr;
    std::string file;          // configuration file, for locations
    std::string type;          // operator type
    std::string id;            // operator id
    std::string key_prefix;    // "batch." for a nested object, "" at the top
    source_location fallback;  // where to point when the node has no mark (e.g. --set)
};

/// A 1-based location for a yaml-cpp node (whose marks are 0-based).
source_location location_of(const YAML::Node& node,
                            const std::string& file,
                            const source_location& fallback);

/// Validates `node` against `spec`, appending every problem to `out`. Keys in `reserved`
/// (e.g. "type", "inputs") are skipped at this level.
void validate_options(const options::impl& state,
                      const std::set<std::string, std::less<>>& reserved,
                      diagnostics_collector& out);

/// "a, b, c"
std::string join_names(const std::vector<std::string>& names);

}  // namespace sluice
