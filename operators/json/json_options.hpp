#pragma once

// Private to the json operator: reading json_decode's options into a config, and the checks
// that need only the config.

#include <sluice/core/error.hpp>
#include <sluice/operator/options.hpp>
#include <sluice/ops/json.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace sluice::detail::json {

using report_fn = std::function<void(std::string_view key, std::string code, std::string message)>;

/// Checks that need only the config (shared by the option spec's check and the constructor):
/// each problem is reported once through `report` with the option's key and a code.
void validate_config(const json_decode_config& config, const report_fn& report);

/// Reads the options into a config, reporting into `out` what the spec's per-field
/// validation cannot see (unknown types, `required` or `event_time` naming unknown fields).
json_decode_config config_from_options(const options& opts, diagnostics_collector& out);

}  // namespace sluice::detail::json
