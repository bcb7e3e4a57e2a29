#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::cli {

/// Exit codes of the `sluice` command.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;  ///< the run failed (an operator error)
inline constexpr int exit_invalid = 2;  ///< the pipeline or the command line is invalid
inline constexpr int exit_interrupted = 130;

using arguments = std::vector<std::string>;

/// One `sluice <name>` subcommand. Each command file registers itself with a static
/// `register_command(...)` (the CLI is an executable, so static registration is kept), and
/// main() dispatches by name and lists them in --help.
struct command {
    std::string name;     ///< e.g. "run"
    std::string usage;    ///< e.g. "run FILE [--set KEY=VALUE]... [--quiet]"
    std::string summary;  ///< one line for --help
    std::function<int(const arguments&)> run;
};

bool register_command(command c);
const std::vector<command>& commands();

/// Prints `message` to stderr as "sluice: error: message".
void print_error(const std::string& message);

}  // namespace sluice::cli
