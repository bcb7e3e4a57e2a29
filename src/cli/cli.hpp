#pragma once

#include <string>
#include <vector>

namespace sluice::cli {

/// Exit codes of the `sluice` command.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;      ///< the run failed (an operator error)
inline constexpr int exit_invalid = 2;      ///< the pipeline or the command line is invalid
inline constexpr int exit_interrupted = 130;

using arguments = std::vector<std::string>;

int run_command(const arguments& args);
int validate_command(const arguments& args);
int graph_command(const arguments& args);
int operators_command(const arguments& args);
int explain_command(const arguments& args);

/// Prints `message` to stderr as "sluice: error: message".
void print_error(const std::string& message);

}  // namespace sluice::cli
