#pragma once

#include "cli.hpp"

#include <sluice/config/loader.hpp>

#include <optional>
#include <string>

namespace sluice::cli {

/// What the commands that take a pipeline file share: the file, --set overrides, flags.
struct pipeline_arguments {
    std::string file;
    load_options load;
    bool quiet = false;
    bool json_diagnostics = false;
};

/// Parses `FILE [--set K=V]... [--quiet] [--diagnostics=json]`; prints the problem and
/// returns nullopt on a bad command line.
std::optional<pipeline_arguments> parse_pipeline_arguments(const arguments& args,
                                                           std::string_view command);

/// Prints config_error diagnostics to stderr (text, or JSON lines with --diagnostics=json).
void print_diagnostics(const config_error& error, bool as_json);

}  // namespace sluice::cli
