#pragma once

#include <sluice/core/error.hpp>

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

using environment_lookup = std::function<std::optional<std::string>(std::string_view)>;

/// Replaces `${VAR}` and `${VAR:-default}` in every scalar of `root` (and `$$` by `$`).
/// A variable that is unset and has no default is an error at the scalar's position.
/// `lookup` defaults to the process environment.
void expand_environment(const YAML::Node& root,
                        const std::string& file,
                        const environment_lookup& lookup,
                        diagnostics_collector& out);

/// Expands one string; on an unset variable without default, returns nullopt and its name.
std::optional<std::string> expand_variables(std::string_view text,
                                            const environment_lookup& lookup,
                                            std::string& missing);

}  // namespace sluice
