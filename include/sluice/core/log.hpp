#pragma once

#include <functional>
#include <string_view>

namespace sluice {

enum class log_level {
    debug,
    info,
    warning,
    error
};

/// Where the library's log lines go. The library never prints on its own: by default lines
/// are dropped; the CLI installs a sink that writes to stderr. Thread-safe to call `log`;
/// set the sink before starting a pipeline.
using log_sink = std::function<void(log_level, std::string_view)>;
void set_log_sink(log_sink sink);
void log(log_level level, std::string_view message);

}  // namespace sluice
