#include "config/dead_letter_adapter.hpp"
#include "config/environment.hpp"
#include "operator/options_impl.hpp"

#include <sluice/config/loader.hpp>
#include <sluice/operator/registry.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace sluice {
namespace {

// yaml-cpp hands out an invalid ("zombie") node for a missing key of a const node, and
// any question but IsDefined() throws on it. Every lookup goes through here instead.
YAML::Node lookup(const YAML::Node& parent, const std::string& key) {
    if (parent.IsDefined() && parent.IsMap()) {
        YAML::Node found = parent[key];
        if (found.IsDefined()) {
            return found;
        }
    }
    return YAML::Node(YAML::NodeType::Undefined);
}

struct loader {
    std::string file;
    const load_options& how;
    diagnostics_collector problems;
    std::vector<std::string> all_ids;
    pipeline_settings settings;

    source_location at(const YAML::Node& node) const {
        return location_of(node, file, {file, 0, 0});
    }

    // `--set a.b.c=value`: walks (and creates) mappings down to the key and replaces it. A
    // quoted part keeps its dots: `--set 'sources.in.librdkafka."fetch.wait.max.ms"=100'`.
    void apply_override(const YAML::Node& root, const std::string& path, const std::string& text) {
        std::vector<std::string> parts(1);
        char quote = 0;
        for (const char c : path) {
            if (quote == 0 && (c == '"' || c == '\'')) {
                quote = c;
            } else if (c == quote) {
                quote = 0;
            } else if (quote == 0 && c == '.') {
                parts.emplace_back();
            } else {
                parts.back() += c;
            }
        }
        if (quote != 0 || std::any_of(parts.begin(), parts.end(), [](const std::string& part) {
                return part.empty();
            })) {
            problems.add({"--set", 0, 0},
                         "bad-override",
                         fmt::format("cannot set '{}': expected KEY.KEY... with no empty key "
                                     "and closed quotes (a key with dots: a.\"b.c\")",
                                     path));
            return;
        }
        YAML::Node value;
        try {
            value = YAML::Load(text);
        } catch (const YAML::Exception&) {
            value = YAML::Node(text);
        }
        YAML::Node current = root;
        for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
            YAML::Node next = current[parts[i]];
            if (next.IsDefined() && !next.IsNull() && !next.IsMap()) {
                problems.add({"--set", 0, 0},
                             "bad-override",
                             fmt::format("cannot set '{}': '{}' is not a mapping",
                                         path,
                                         fmt::join(parts.begin(),
                                                   parts.begin() + static_cast<long>(i) + 1,
                                                   ".")));
                return;
            }
            if (!next.IsDefined() || next.IsNull()) {
                current[parts[i]] = YAML::Node(YAML::NodeType::Map);
            }
            current.reset(current[parts[i]]);  // rebind: operator= would overwrite the node
        }
        current[parts.back()] = value;
    }

    node_declaration declare(const std::string& id,
                             const YAML::Node& node,
                             const std::string& type,
                             const std::shared_ptr<const options::impl>& state,
                             const YAML::Node& id_node) const {
        node_declaration d;
        d.id = id;
        d.type = type;
        const YAML::Node inputs = lookup(node, "inputs");
        if (inputs.IsSequence()) {
            for (const auto& item : inputs) {
                d.inputs.push_back(item.Scalar());
            }
        } else if (inputs.IsScalar()) {
            d.inputs.push_back(inputs.Scalar());
        }
        d.locate = [state, node, id_location = at(id_node), file = file](
                           std::string_view key) -> source_location {
            if (key.empty()) {
                return id_location;
            }
            // "inputs.2" points at the third input.
            if (key.substr(0, 7) == "inputs.") {
                const YAML::Node inputs_node = lookup(node, "inputs");
                const auto index = std::stoul(std::string(key.substr(7)));
                if (inputs_node.IsSequence() && index < inputs_node.size()) {
                    return location_of(inputs_node[index], file, id_location);
                }
                key = "inputs";
            }
            if (key == "inputs") {
                const YAML::Node inputs_node = lookup(node, "inputs");
                return inputs_node.IsDefined() ? location_of(inputs_node, file, id_location)
                                               : id_location;
            }
            return options(state).location(key);
        };
        return d;
    }

    void load_section(const YAML::Node& root,
                      const char* section,
                      operator_role role,
                      pipeline& p,
                      build_context& build) {
        const YAML::Node s = lookup(root, section);
        if (!s.IsDefined() || s.IsNull()) {
            return;
        }
        if (!s.IsMap()) {
            problems.add(at(s),
                         "wrong-type",
                         fmt::format("'{}' expects a mapping of id -> operator", section));
            return;
        }
        auto& registry = operator_registry::global();
        for (const auto& item : s) {
            const std::string id = item.first.Scalar();
            const YAML::Node node = item.second;
            const auto role_name = std::string(to_string(role));
            if (!node.IsMap()) {
                problems.add(at(node),
                             "wrong-type",
                             fmt::format("{} '{}' expects a mapping with a 'type', found {}",
                                         role_name,
                                         id,
                                         node.IsScalar() ? fmt::format("'{}'", node.Scalar())
                                                         : "a list"));
                continue;
            }
            const YAML::Node type_node = lookup(node, "type");
            if (!type_node.IsDefined() || !type_node.IsScalar()) {
                problems.add(at(node),
                             "missing-field",
                             fmt::format("{} '{}' requires 'type' (one of: {})",
                                         role_name,
                                         id,
                                         join_names(registry.names(role))));
                continue;
            }
            const std::string& type = type_node.Scalar();
            const operator_descriptor* descriptor = registry.find(role, type);
            if (descriptor == nullptr) {
                std::string hint;
                const auto guess = closest_name(type, registry.names(role));
                if (!guess.empty()) {
                    hint = fmt::format("; did you mean '{}'?", guess);
                } else {
                    for (const auto other :
                         {operator_role::source, operator_role::transform, operator_role::sink}) {
                        if (other != role && registry.find(other, type) != nullptr) {
                            hint = fmt::format("; '{}' is a {} type, not a {} type",
                                               type,
                                               to_string(other),
                                               role_name);
                        }
                    }
                    if (hint.empty()) {
                        hint = fmt::format(
                                " ({} types: {})", role_name, join_names(registry.names(role)));
                    }
                }
                problems.add(
                        at(type_node),
                        "unknown-type",
                        fmt::format("{} '{}' has unknown type '{}'{}", role_name, id, type, hint));
                continue;
            }
            auto state = std::make_shared<options::impl>();
            state->node.reset(node);
            state->spec = &descriptor->spec;
            state->file = file;
            state->type = type;
            state->id = id;
            state->fallback = at(node);
            const std::set<std::string, std::less<>> reserved{"type", "inputs"};
            if (role != operator_role::source) {
                const YAML::Node inputs = lookup(node, "inputs");
                if (inputs.IsDefined() && !inputs.IsSequence() && !inputs.IsScalar()) {
                    problems.add(
                            at(inputs),
                            "wrong-type",
                            fmt::format("{} '{}': 'inputs' expects a list of ids, found a mapping",
                                        type,
                                        id));
                    continue;
                }
            }
            const auto before = problems.items().size();
            validate_options(*state, reserved, problems);
            if (problems.items().size() != before) {
                continue;
            }
            const options opts(state);
            try {
                auto declaration = declare(id, node, type, state, item.first);
                switch (role) {
                    case operator_role::source:
                        p.add_source(std::move(declaration), descriptor->make_source(opts, build));
                        break;
                    case operator_role::transform:
                        p.add_transform(std::move(declaration),
                                        descriptor->make_transform(opts, build));
                        break;
                    case operator_role::sink:
                        p.add_sink(std::move(declaration), descriptor->make_sink(opts, build));
                        break;
                }
            } catch (const config_error& e) {
                for (const auto& d : e.diagnostics()) {
                    problems.add(d);
                }
            }
        }
    }

    void load_dead_letter(const YAML::Node& root,
                          const std::string& pipeline_name,
                          pipeline& p,
                          build_context& build) {
        YAML::Node node = lookup(root, "dead_letter");
        if (!node.IsDefined() || node.IsNull()) {
            // The default keeps rejected records rather than dropping them: a local file.
            node.reset(YAML::Load(
                    fmt::format("{{type: file, path: 'dead-letter/{}.ndjson', format: ndjson}}",
                                pipeline_name)));
        }
        // A dead-letter file keeps what earlier runs rejected (a Kafka source has committed
        // past those records, so the file is their only copy): it appends unless told not to.
        if (node.IsMap() && lookup(node, "type").IsScalar() &&
            lookup(node, "type").Scalar() == "file" && !lookup(node, "append").IsDefined()) {
            node["append"] = true;
        }
        if (!node.IsMap() || !lookup(node, "type").IsScalar()) {
            problems.add(at(node),
                         "wrong-type",
                         "'dead_letter' expects a sink mapping with a 'type', e.g. {type: file, "
                         "path: out/dead.ndjson}");
            return;
        }
        const auto type = lookup(node, "type").Scalar();
        const auto* descriptor = operator_registry::global().find(operator_role::sink, type);
        if (descriptor == nullptr) {
            const auto guess =
                    closest_name(type, operator_registry::global().names(operator_role::sink));
            problems.add(
                    at(lookup(node, "type")),
                    "unknown-type",
                    fmt::format("dead_letter has unknown sink type '{}'{}",
                                type,
                                guess.empty() ? "" : fmt::format("; did you mean '{}'?", guess)));
            return;
        }
        auto state = std::make_shared<options::impl>();
        state->node.reset(node);
        state->spec = &descriptor->spec;
        state->file = file;
        state->type = type;
        state->id = "dead_letter";
        state->fallback = at(node);
        const auto before = problems.items().size();
        validate_options(*state, {"type"}, problems);
        if (problems.items().size() != before) {
            return;
        }
        try {
            auto target = descriptor->make_sink(options(state), build);
            bind_context ctx(
                    type,
                    "dead_letter",
                    [state](std::string_view key) { return options(state).location(key); },
                    &problems);
            target->bind(detail::sink_dead_letter_writer::record_schema(), ctx);
            p.set_dead_letter(std::make_unique<detail::sink_dead_letter_writer>(std::move(target),
                                                                                "dead_letter"));
        } catch (const config_error& e) {
            for (const auto& d : e.diagnostics()) {
                problems.add(d);
            }
        }
    }

    // `dashboard: {listen: HOST:PORT}`: the engine's HTTP server, which the CLI starts.
    void load_dashboard(const YAML::Node& root) {
        const YAML::Node node = lookup(root, "dashboard");
        if (!node.IsDefined()) {
            return;
        }
        if (!node.IsNull() && !node.IsMap()) {
            problems.add(
                    at(node),
                    "wrong-type",
                    fmt::format("'dashboard' expects a mapping such as {{listen: 127.0.0.1:8080}}, "
                                "found {}",
                                node.IsScalar() ? fmt::format("'{}'", node.Scalar()) : "a list"));
            return;
        }
        listen_address address;
        if (node.IsMap()) {
            for (const auto& item : node) {
                const auto& key = item.first.Scalar();
                if (key != "listen") {
                    const auto guess = closest_name(key, {"listen"});
                    problems.add(at(item.first),
                                 "unknown-field",
                                 fmt::format("dashboard has no field '{}'{} (fields: listen)",
                                             key,
                                             guess.empty()
                                                     ? ""
                                                     : fmt::format("; did you mean '{}'?", guess)));
                    continue;
                }
                std::string why;
                const auto parsed = item.second.IsScalar()
                                            ? parse_listen_address(item.second.Scalar(), &why)
                                            : std::nullopt;
                if (!parsed) {
                    problems.add(at(item.second),
                                 "invalid-value",
                                 fmt::format("dashboard 'listen' expects HOST:PORT such as "
                                             "127.0.0.1:8080, found {}{}",
                                             item.second.IsScalar()
                                                     ? fmt::format("'{}'", item.second.Scalar())
                                                     : "a collection",
                                             why.empty() ? "" : fmt::format(" ({})", why)));
                    continue;
                }
                address = *parsed;
            }
        }
        settings.dashboard = address;
    }

    std::unique_ptr<pipeline> load(const YAML::Node& root) {
        for (const auto& [path, value] : how.overrides) {
            apply_override(root, path, value);
        }
        problems.throw_if_any();
        if (!root.IsMap()) {
            problems.add(at(root),
                         "wrong-type",
                         "a pipeline file expects a mapping with sources, transforms and sinks");
            problems.throw_if_any();
        }
        expand_environment(root, file, how.environment, problems);
        // Operators built from unexpanded "${...}" text would only add confusing errors.
        problems.throw_if_any();

        static const std::vector<std::string> top_level{
                "name", "dead_letter", "sources", "transforms", "sinks", "runtime", "dashboard"};
        for (const auto& item : root) {
            const auto& key = item.first.Scalar();
            if (std::find(top_level.begin(), top_level.end(), key) == top_level.end()) {
                const auto guess = closest_name(key, top_level);
                problems.add(
                        at(item.first),
                        "unknown-field",
                        fmt::format("the pipeline has no top-level field '{}'{} (fields: {})",
                                    key,
                                    guess.empty() ? "" : fmt::format("; did you mean '{}'?", guess),
                                    join_names(top_level)));
            }
        }
        std::string name = "pipeline";
        if (lookup(root, "name").IsScalar()) {
            name = lookup(root, "name").Scalar();
        }
        runtime_config runtime;
        const YAML::Node runtime_node = lookup(root, "runtime");
        if (runtime_node.IsMap()) {
            for (const auto& item : runtime_node) {
                const auto& key = item.first.Scalar();
                std::size_t value = 0;
                try {
                    value = item.second.as<std::size_t>();
                } catch (const YAML::Exception&) {
                    problems.add(at(item.second),
                                 "wrong-type",
                                 fmt::format("runtime '{}' expects a whole number, found '{}'",
                                             key,
                                             item.second.IsScalar() ? item.second.Scalar()
                                                                    : "a collection"));
                    continue;
                }
                if (key == "max_batches_in_flight") {
                    if (value < 2) {
                        problems.add(at(item.second),
                                     "out-of-range",
                                     fmt::format("runtime 'max_batches_in_flight' must be at least "
                                                 "2, got {}",
                                                 value));
                    }
                    runtime.max_batches_in_flight = value;
                } else if (key == "threads") {
                    runtime.threads = value;
                } else {
                    const auto guess = closest_name(key, {"max_batches_in_flight", "threads"});
                    problems.add(at(item.first),
                                 "unknown-field",
                                 fmt::format("runtime has no field '{}'{} (fields: "
                                             "max_batches_in_flight, threads)",
                                             key,
                                             guess.empty()
                                                     ? ""
                                                     : fmt::format("; did you mean '{}'?", guess)));
                }
            }
        }
        if (!lookup(root, "sources").IsDefined() || lookup(root, "sources").IsNull()) {
            problems.add(at(root),
                         "missing-field",
                         "the pipeline requires 'sources' (at least one source)");
        }
        if (!lookup(root, "sinks").IsDefined() || lookup(root, "sinks").IsNull()) {
            problems.add(
                    at(root), "missing-field", "the pipeline requires 'sinks' (at least one sink)");
        }

        load_dashboard(root);

        auto p = std::make_unique<pipeline>(name, runtime);
        build_context build{name};
        load_section(root, "sources", operator_role::source, *p, build);
        load_section(root, "transforms", operator_role::transform, *p, build);
        load_section(root, "sinks", operator_role::sink, *p, build);
        load_dead_letter(root, name, *p, build);
        problems.throw_if_any();
        p->prepare();
        return p;
    }
};

YAML::Node parse_yaml(std::string_view text, const std::string& file) {
    try {
        return YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
        throw config_error({diagnostic{{file,
                                        static_cast<std::size_t>(e.mark.line) + 1,
                                        static_cast<std::size_t>(e.mark.column) + 1},
                                       "yaml-syntax",
                                       fmt::format("invalid YAML: {}", e.msg)}});
    }
}

}  // namespace

std::unique_ptr<pipeline> load_pipeline_from_string(std::string_view yaml,
                                                    const std::string& display_name,
                                                    const load_options& how,
                                                    pipeline_settings& settings) {
    loader l{display_name, how, {}, {}, {}};
    auto p = l.load(parse_yaml(yaml, display_name));
    settings = std::move(l.settings);
    return p;
}

std::unique_ptr<pipeline> load_pipeline_from_string(std::string_view yaml,
                                                    const std::string& display_name,
                                                    const load_options& how) {
    pipeline_settings ignored;
    return load_pipeline_from_string(yaml, display_name, how, ignored);
}

std::unique_ptr<pipeline> load_pipeline(const std::string& path,
                                        const load_options& how,
                                        pipeline_settings& settings) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw config_error(
                {diagnostic{{path, 0, 0}, "io-error", fmt::format("cannot read '{}'", path)}});
    }
    std::stringstream text;
    text << in.rdbuf();
    return load_pipeline_from_string(text.str(), path, how, settings);
}

std::unique_ptr<pipeline> load_pipeline(const std::string& path, const load_options& how) {
    pipeline_settings ignored;
    return load_pipeline(path, how, ignored);
}

std::optional<listen_address> parse_listen_address(std::string_view text, std::string* why) {
    const auto fail = [why](std::string reason) -> std::optional<listen_address> {
        if (why != nullptr) {
            *why = std::move(reason);
        }
        return std::nullopt;
    };
    listen_address address;
    std::string_view port_text = text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return fail("an IPv6 address is written [::1]:PORT");
        }
        address.host = std::string(text.substr(1, close - 1));
        port_text = text.substr(close + 2);
    } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
        if (text.substr(0, colon).find(':') != std::string_view::npos) {
            return fail("an IPv6 address is written [::1]:PORT");
        }
        if (colon != 0) {
            address.host = std::string(text.substr(0, colon));
        }
        port_text = text.substr(colon + 1);
    }
    for (const char c : address.host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':';
        if (!ok) {
            return fail(fmt::format("'{}' is not a host name or IP address", address.host));
        }
    }
    if (address.host.empty()) {
        return fail("the host is empty");
    }
    if (port_text.empty() || port_text.size() > 5 ||
        port_text.find_first_not_of("0123456789") != std::string_view::npos) {
        return fail("the port must be a number from 0 to 65535");
    }
    address.port = std::stoi(std::string(port_text));
    if (address.port > 65535) {
        return fail(fmt::format("port {} is above 65535", address.port));
    }
    return address;
}

std::optional<std::pair<std::string, std::string>> parse_override(std::string_view text) {
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) {
        return std::nullopt;
    }
    return std::make_pair(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
}

}  // namespace sluice
