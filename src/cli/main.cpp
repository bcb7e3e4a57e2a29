// The `sluice` command: the only part of Sluice that prints or exits.
#include "cli.hpp"

#include <sluice/core/log.hpp>
#include <sluice/operator/registry.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string_view>

namespace {

constexpr std::string_view usage = R"(sluice — streaming dataflow engine for sensor analytics

Usage:
  sluice run FILE [--set KEY=VALUE]... [--quiet]    run a pipeline until its sources end (or Ctrl-C)
  sluice validate FILE [--set KEY=VALUE]... [--diagnostics=json]
                                                    check a pipeline; exit 0 if valid, 2 if not
  sluice graph FILE                                 print the pipeline as Graphviz DOT
  sluice operators                                  list every operator type
  sluice explain TYPE                               print one operator's options
  sluice --help | --version

--set overrides one value of the file, e.g. --set sources.raw.path=data.ndjson
(the value is YAML: --set 'sinks.out.inputs=[a, b]'). ${VAR} and ${VAR:-default}
in the file expand from the environment.

Exit codes: 0 done, 1 the run failed, 2 invalid pipeline or command line, 130 interrupted twice.
)";

}  // namespace

int main(int argc, char** argv) {
    using namespace sluice::cli;
    sluice::set_log_sink([](sluice::log_level level, std::string_view message) {
        static constexpr const char* names[] = {"debug", "info", "warning", "error"};
        std::fprintf(stderr, "sluice: %s: %.*s\n", names[static_cast<int>(level)], static_cast<int>(message.size()),
                     message.data());
    });
    sluice::register_builtin_operators();

    arguments args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::fputs(usage.data(), args.empty() ? stderr : stdout);
        return args.empty() ? exit_invalid : exit_ok;
    }
    if (args[0] == "--version" || args[0] == "version") {
        std::printf("sluice %s\n", SLUICE_VERSION);
        return exit_ok;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    try {
        if (command == "run") {
            return run_command(args);
        }
        if (command == "validate") {
            return validate_command(args);
        }
        if (command == "graph") {
            return graph_command(args);
        }
        if (command == "operators") {
            return operators_command(args);
        }
        if (command == "explain") {
            return explain_command(args);
        }
    } catch (const std::exception& e) {
        print_error(e.what());
        return exit_failure;
    }
    print_error(fmt::format("unknown command '{}' (run 'sluice --help')", command));
    return exit_invalid;
}
