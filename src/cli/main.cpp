// The `sluice` command: the only part of Sluice that prints or exits.
#include "cli.hpp"

#include <sluice/core/edit_distance.hpp>
#include <sluice/core/log.hpp>
#include <sluice/operator/registry.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Commands in the order --help lists them (others follow alphabetically).
constexpr std::string_view preferred_order[] = {
        "run", "validate", "graph", "operators", "explain", "generate", "train"};

std::string usage_text() {
    std::vector<const sluice::cli::command*> listed;
    for (const auto name : preferred_order) {
        for (const auto& c : sluice::cli::commands()) {
            if (c.name == name) {
                listed.push_back(&c);
            }
        }
    }
    std::vector<const sluice::cli::command*> rest;
    for (const auto& c : sluice::cli::commands()) {
        if (std::find(std::begin(preferred_order), std::end(preferred_order), c.name) ==
            std::end(preferred_order)) {
            rest.push_back(&c);
        }
    }
    std::sort(rest.begin(), rest.end(), [](auto* a, auto* b) { return a->name < b->name; });
    listed.insert(listed.end(), rest.begin(), rest.end());

    std::string out = "sluice — streaming dataflow engine for sensor analytics\n\nUsage:\n";
    for (const auto* c : listed) {
        out += fmt::format("  sluice {}\n      {}\n", c->usage, c->summary);
    }
    out += R"(  sluice --help | --version

--set overrides one value of the file, e.g. --set sources.raw.path=data.ndjson
(the value is YAML: --set 'sinks.out.inputs=[a, b]'; a key with dots is quoted:
--set 'sources.in.librdkafka."fetch.wait.max.ms"=100'). ${VAR} and ${VAR:-default}
in the file expand from the environment.

Exit codes: 0 done, 1 the run failed, 2 invalid pipeline or command line,
130 interrupted twice (the first Ctrl-C drains and exits 0).
)";
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    using sluice::cli::arguments;
    using sluice::cli::commands;
    using sluice::cli::exit_failure;
    using sluice::cli::exit_invalid;
    using sluice::cli::exit_ok;
    using sluice::cli::print_error;
    // Debug lines only when asked for (SLUICE_LOG=debug); the rest always.
    // NOLINTNEXTLINE(concurrency-mt-unsafe): no other thread exists yet
    const char* log_setting = std::getenv("SLUICE_LOG");
    const bool show_debug = log_setting != nullptr && std::string_view(log_setting) == "debug";
    sluice::set_log_sink([show_debug](sluice::log_level level, std::string_view message) {
        if (level == sluice::log_level::debug && !show_debug) {
            return;
        }
        static constexpr const char* names[] = {"debug", "info", "warning", "error"};
        (void)std::fprintf(stderr,
                           "sluice: %s: %.*s\n",
                           names[static_cast<int>(level)],
                           static_cast<int>(message.size()),
                           message.data());
    });
    sluice::register_builtin_operators();
    // Explicit, like the operators: static-initializer registration runs in an unspecified
    // order and could throw before main() (cert-err58-cpp).
    sluice::cli::register_run_command();
    sluice::cli::register_describe_commands();
    sluice::cli::register_generate_command();
    sluice::cli::register_train_command();

    arguments args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        (void)std::fputs(usage_text().c_str(), args.empty() ? stderr : stdout);
        return args.empty() ? exit_invalid : exit_ok;
    }
    if (args[0] == "--version" || args[0] == "version") {
        std::printf("sluice %s\n", SLUICE_VERSION);
        return exit_ok;
    }
    const std::string name = args[0];
    args.erase(args.begin());
    for (const auto& c : commands()) {
        if (c.name != name) {
            continue;
        }
        if (std::any_of(args.begin(), args.end(), [](const std::string& a) {
                return a == "--help" || a == "-h";
            })) {
            std::printf("Usage: sluice %s\n    %s\n", c.usage.c_str(), c.summary.c_str());
            return exit_ok;
        }
        try {
            return c.run(args);
        } catch (const std::exception& e) {
            print_error(e.what());
            return exit_failure;
        }
    }
    std::vector<std::string> names;
    for (const auto& c : commands()) {
        names.push_back(c.name);
    }
    const auto guess = sluice::closest_name(name, names);
    print_error(fmt::format("unknown command '{}'{} (run 'sluice --help')",
                            name,
                            guess.empty() ? "" : fmt::format("; did you mean '{}'?", guess)));
    return exit_invalid;
}
