#include "cli.hpp"
#include "pipeline_arguments.hpp"

#include <sluice/config/loader.hpp>
#include <sluice/core/edit_distance.hpp>
#include <sluice/operator/registry.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace sluice::cli {

static int validate_command(const arguments& args) {
    const auto parsed = parse_pipeline_arguments(args, "validate");
    if (!parsed) {
        return exit_invalid;
    }
    try {
        const auto p = load_pipeline(parsed->file, parsed->load);
        std::size_t counts[3] = {0, 0, 0};
        for (const auto* m : p->metrics()) {
            counts[m->role == "source" ? 0 : m->role == "transform" ? 1 : 2]++;
        }
        std::printf("%s: ok: pipeline '%s' with %zu source%s, %zu transform%s, %zu sink%s\n",
                    parsed->file.c_str(),
                    p->name().c_str(),
                    counts[0],
                    counts[0] == 1 ? "" : "s",
                    counts[1],
                    counts[1] == 1 ? "" : "s",
                    counts[2],
                    counts[2] == 1 ? "" : "s");
        return exit_ok;
    } catch (const config_error& e) {
        print_diagnostics(e, parsed->json_diagnostics);
        return exit_invalid;
    }
}

static int graph_command(const arguments& args) {
    const auto parsed = parse_pipeline_arguments(args, "graph");
    if (!parsed) {
        return exit_invalid;
    }
    try {
        const auto p = load_pipeline(parsed->file, parsed->load);
        std::string dot = fmt::format(
                "digraph \"{}\" {{\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n", p->name());
        const auto metrics = p->metrics();
        const auto declarations = p->declarations();
        for (std::size_t i = 0; i < declarations.size(); ++i) {
            const auto& d = declarations[i];
            const auto& role = metrics[i]->role;
            const char* shape = role == "source" ? "invhouse" : role == "sink" ? "house" : "box";
            std::string label = fmt::format("{}\\n({})", d.id, d.type);
            if (const auto s = p->output_schema_of(d.id)) {
                label += fmt::format("\\n{} columns", s->size());
            }
            fmt::format_to(std::back_inserter(dot),
                           "  \"{}\" [shape={}, label=\"{}\"];\n",
                           d.id,
                           shape,
                           label);
            for (const auto& input : d.inputs) {
                // `<id>.<output>` reads a transform's side output: a dashed edge named after it.
                const auto dot_at = input.rfind('.');
                const bool side = dot_at != std::string::npos &&
                                  std::none_of(declarations.begin(),
                                               declarations.end(),
                                               [&](const node_declaration& other) {
                                                   return other.id == input;
                                               });
                if (side) {
                    fmt::format_to(std::back_inserter(dot),
                                   "  \"{}\" -> \"{}\" [style=dashed, label=\"{}\"];\n",
                                   input.substr(0, dot_at),
                                   d.id,
                                   input.substr(dot_at + 1));
                } else {
                    fmt::format_to(std::back_inserter(dot), "  \"{}\" -> \"{}\";\n", input, d.id);
                }
            }
        }
        dot += "}\n";
        (void)std::fputs(dot.c_str(), stdout);
        return exit_ok;
    } catch (const config_error& e) {
        print_diagnostics(e, parsed->json_diagnostics);
        return exit_invalid;
    }
}

static int operators_command(const arguments& args) {
    (void)args;
    for (const auto* d : operator_registry::global().all()) {
        std::printf("%-10s %-16s %s\n",
                    std::string(to_string(d->role)).c_str(),
                    d->type.c_str(),
                    d->summary.c_str());
    }
    std::printf("\nRun 'sluice explain TYPE' for one operator's options.\n");
    return exit_ok;
}

namespace {

void print_fields(const option_spec& spec, const std::string& indent) {
    for (const auto& f : spec.all_fields()) {
        std::string line = fmt::format("{}{:<22} {:<20}", indent, f.name, to_string(f.kind));
        if (f.required) {
            line += " required";
        } else if (!f.default_value.empty()) {
            line += fmt::format(" default {}", f.secret ? "(hidden)" : f.default_value);
        }
        if (!f.choices.empty()) {
            line += fmt::format(" one of: {}", fmt::join(f.choices, ", "));
        }
        if (f.min || f.max) {
            line += fmt::format(" range: {}..{}",
                                f.min ? fmt::format("{}", *f.min) : "",
                                f.max ? fmt::format("{}", *f.max) : "");
        }
        std::printf("%s\n%s    %s\n", line.c_str(), indent.c_str(), f.doc.c_str());
        if (f.nested) {
            print_fields(*f.nested, indent + "    ");
        }
    }
}

}  // namespace

static int explain_command(const arguments& args) {
    if (args.size() != 1) {
        print_error("'sluice explain' needs one operator type, e.g. sluice explain json_decode");
        return exit_invalid;
    }
    bool found = false;
    for (const auto* d : operator_registry::global().all()) {
        if (d->type != args[0]) {
            continue;
        }
        found = true;
        std::printf("%s (%s): %s\n\nOptions:\n",
                    d->type.c_str(),
                    std::string(to_string(d->role)).c_str(),
                    d->summary.c_str());
        if (d->role != operator_role::source) {
            std::printf("  %-22s %-20s required\n      ids of the operators this one reads from\n",
                        "inputs",
                        "list of strings");
        }
        print_fields(d->spec, "  ");
        std::printf("\n");
    }
    if (!found) {
        std::vector<std::string> names;
        for (const auto* d : operator_registry::global().all()) {
            names.push_back(d->type);  // a type can be a source and a sink (file, kafka)
        }
        std::sort(names.begin(), names.end());
        names.erase(std::unique(names.begin(), names.end()), names.end());
        const auto guess = closest_name(args[0], names);
        print_error(fmt::format("no operator type '{}'{} (types: {})",
                                args[0],
                                guess.empty() ? "" : fmt::format("; did you mean '{}'?", guess),
                                fmt::join(names, ", ")));
        return exit_invalid;
    }
    return exit_ok;
}

void register_describe_commands() {
    register_command(
            {"validate",
             "validate FILE [--set KEY=VALUE]... [--diagnostics=json]",
             "check a pipeline without running it; exit 0 if valid, 2 with the errors if not",
             validate_command});
    register_command({"graph",
                      "graph FILE [--set KEY=VALUE]...",
                      "print the pipeline as Graphviz DOT (sluice graph p.yaml | dot -Tpng)",
                      graph_command});
    register_command({"operators", "operators", "list every operator type", operators_command});
    register_command({"explain",
                      "explain TYPE",
                      "print one operator's options (its spec)",
                      explain_command});
}

}  // namespace sluice::cli
