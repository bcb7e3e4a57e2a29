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

/// One `sluice <name>` subcommand. Each command file defines a `register_*_command(s)()`
/// below that calls `register_command(...)`; main() calls them all explicitly before it
/// dispatches by name and lists the commands in --help.
struct command {
    std::string name;     ///< e.g. "run"
    std::string usage;    ///< e.g. "run FILE [--set KEY=VALUE]... [--quiet]"
    std::string summary;  ///< one line for --help
    std::function<int(const arguments&)> run;
};

/// Adds `c` to the list commands() returns. Not thread-safe: main() calls it before any
/// command runs.
void register_command(command c);
const std::vector<command>& commands();

/// The built-in commands, one function per command file; main() calls each once.
void register_run_command();        ///< run
void register_describe_commands();  ///< validate, graph, operators, explain
void register_generate_command();   ///< generate
void register_train_command();      ///< train (a no-op when built without the xgboost family)

/// Prints `message` to stderr as "sluice: error: message".
void print_error(const std::string& message);

}  // namespace sluice::cli
