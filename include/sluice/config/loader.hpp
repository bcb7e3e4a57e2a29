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

/// Where the engine's HTTP server (dashboard, /metrics) listens.
struct listen_address {
    std::string host = "127.0.0.1";  ///< an IPv4 literal, "localhost" or an IPv6 literal
    int port = 8080;                 ///< 0..65535; 0 = any free port
};

/// Parses "HOST:PORT", "[IPV6]:PORT", ":PORT" or "PORT" (the host then stays 127.0.0.1).
/// Returns nullopt and says why in `why` (if given) when the text is not such an address.
std::optional<listen_address> parse_listen_address(std::string_view text,
                                                   std::string* why = nullptr);

/// Settings written at the top level of a pipeline file, beside the operators.
struct pipeline_settings {
    /// `dashboard: {listen: HOST:PORT}`: serve the dashboard and /metrics there; unset when
    /// the file has no `dashboard` key.
    std::optional<listen_address> dashboard;
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

/// As above, also filling `settings` from the file's top-level settings.
std::unique_ptr<pipeline> load_pipeline(const std::string& path,
                                        const load_options& how,
                                        pipeline_settings& settings);
std::unique_ptr<pipeline> load_pipeline_from_string(std::string_view yaml,
                                                    const std::string& display_name,
                                                    const load_options& how,
                                                    pipeline_settings& settings);

/// Parses "a.b.c=value" as given to `--set`; nullopt if there is no '=' or no key.
std::optional<std::pair<std::string, std::string>> parse_override(std::string_view text);

}  // namespace sluice
