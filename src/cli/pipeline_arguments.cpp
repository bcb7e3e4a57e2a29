#include "pipeline_arguments.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace sluice::cli {

void print_error(const std::string& message) {
    (void)std::fprintf(stderr, "sluice: error: %s\n", message.c_str());
}

std::optional<pipeline_arguments> parse_pipeline_arguments(const arguments& args,
                                                           std::string_view command) {
    pipeline_arguments parsed;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& arg = args[i];
        if (arg == "--quiet" || arg == "-q") {
            parsed.quiet = true;
        } else if (arg == "--diagnostics=json") {
            parsed.json_diagnostics = true;
        } else if (arg == "--set" || arg.rfind("--set=", 0) == 0) {
            std::string value;
            if (arg == "--set") {
                if (i + 1 >= args.size()) {
                    print_error("--set needs KEY=VALUE, e.g. --set sources.raw.path=data.ndjson");
                    return std::nullopt;
                }
                value = args[++i];
            } else {
                value = arg.substr(6);
            }
            auto pair = parse_override(value);
            if (!pair) {
                print_error(fmt::format("--set expects KEY=VALUE, found '{}'", value));
                return std::nullopt;
            }
            parsed.load.overrides.push_back(std::move(*pair));
        } else if (!arg.empty() && arg[0] == '-') {
            print_error(fmt::format(
                    "'sluice {}' has no option '{}' (run 'sluice --help')", command, arg));
            return std::nullopt;
        } else if (parsed.file.empty()) {
            parsed.file = arg;
        } else {
            print_error(fmt::format(
                    "'sluice {}' takes one pipeline file; found also '{}'", command, arg));
            return std::nullopt;
        }
    }
    if (parsed.file.empty()) {
        print_error(fmt::format(
                "'sluice {}' needs a pipeline file, e.g. sluice {} pipelines/quickstart.yaml",
                command,
                command));
        return std::nullopt;
    }
    return parsed;
}

namespace {

std::string json_escape(std::string_view text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
                } else {
                    out += c;
                }
        }
    }
    return out;
}

}  // namespace

void print_diagnostics(const config_error& error, bool as_json) {
    for (const auto& d : error.diagnostics()) {
        if (as_json) {
            (void)std::fprintf(
                    stderr,
                    "{\"file\":\"%s\",\"line\":%zu,\"column\":%zu,\"code\":\"%s\",\"message\":"
                    "\"%s\"}\n",
                    json_escape(d.where.file).c_str(),
                    d.where.line,
                    d.where.column,
                    json_escape(d.code).c_str(),
                    json_escape(d.message).c_str());
        } else {
            (void)std::fprintf(stderr, "%s\n", d.to_string().c_str());
        }
    }
    if (!as_json && error.total() > error.diagnostics().size()) {
        (void)std::fprintf(stderr,
                           "(%zu more errors not shown)\n",
                           error.total() - error.diagnostics().size());
    }
}

}  // namespace sluice::cli
