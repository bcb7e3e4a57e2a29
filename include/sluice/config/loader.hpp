#pragma once

#include <sluice/graph/pipeline.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

/// How a YAML pipeline is read.
struct load_options {
    /// `--set` overrides, applied before validation: {"sources.raw.path", "x.ndjson"}; the value
    /// is YAML text (so "[a, b]" is a list).
    std::vector<std::pair<std::string, std::string>> overrides;
    /// Looks up `${VAR}`; defaults to the process environment.
    std::function<std::optional<std::string>(std::string_view)> environment;
};

/// Reads, validates and prepares the pipeline in `path`: every operator is created through
/// the operator registry and bound to its input schema. Throws config_error holding every
/// problem found, each located at `path:LINE:COL`. `register_builtin_operators()` must have
/// run (or the operators the file names must be registered otherwise).
std::unique_ptr<pipeline> load_pipeline(const std::string& path, const load_options& how = {});

/// The same, from YAML text; `display_name` is used as the file name in diagnostics.
std::unique_ptr<pipeline> load_pipeline_from_string(std::string_view yaml,
                                                    const std::string& display_name,
                                                    const load_options& how = {});

/// Parses "a.b.c=value" as given to `--set`; nullopt if there is no '=' or no key.
std::optional<std::pair<std::string, std::string>> parse_override(std::string_view text);

}  // namespace sluice
