#include "config/environment.hpp"

#include "operator/options_impl.hpp"

#include <fmt/format.h>

#include <cstdlib>

namespace sluice {

std::optional<std::string> expand_variables(std::string_view text,
                                            const environment_lookup& lookup,
                                            std::string& missing) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '$' || i + 1 >= text.size()) {
            out += text[i];
            continue;
        }
        if (text[i + 1] == '$') {
            out += '$';
            ++i;
            continue;
        }
        if (text[i + 1] != '{') {
            out += text[i];
            continue;
        }
        const auto close = text.find('}', i + 2);
        if (close == std::string_view::npos) {
            out += text.substr(i);
            break;
        }
        const auto inner = text.substr(i + 2, close - i - 2);
        const auto dash = inner.find(":-");
        const auto name = inner.substr(0, dash);
        auto value = lookup(name);
        if (!value || (value->empty() && dash != std::string_view::npos)) {
            if (dash == std::string_view::npos) {
                missing = std::string(name);
                return std::nullopt;
            }
            value = std::string(inner.substr(dash + 2));
        }
        out += *value;
        i = close;
    }
    return out;
}

namespace {

void expand_node(YAML::Node node,
                 const std::string& file,
                 const environment_lookup& lookup,
                 diagnostics_collector& out) {
    switch (node.Type()) {
        case YAML::NodeType::Scalar: {
            const auto& text = node.Scalar();
            if (text.find('$') == std::string::npos) {
                return;
            }
            std::string missing;
            auto expanded = expand_variables(text, lookup, missing);
            if (!expanded) {
                out.add(location_of(node, file, {file, 0, 0}),
                        "undefined-variable",
                        fmt::format("environment variable '{}' is not set (write ${{{}:-default}} "
                                    "to give a default)",
                                    missing,
                                    missing));
                return;
            }
            // Keep the node (and its position) and change only its text.
            const auto mark = node.Mark();
            node = *expanded;
            (void)mark;
            return;
        }
        case YAML::NodeType::Sequence:
            for (auto item : node) {
                expand_node(item, file, lookup, out);
            }
            return;
        case YAML::NodeType::Map:
            for (auto item : node) {
                expand_node(item.second, file, lookup, out);
            }
            return;
        default:
            return;
    }
}

}  // namespace

void expand_environment(const YAML::Node& root,
                        const std::string& file,
                        const environment_lookup& lookup,
                        diagnostics_collector& out) {
    environment_lookup effective = lookup;
    if (!effective) {
        effective = [](std::string_view name) -> std::optional<std::string> {
            // NOLINTNEXTLINE(concurrency-mt-unsafe): races only with setenv; sluice has none
            const char* value = std::getenv(std::string(name).c_str());
            if (value == nullptr) {
                return std::nullopt;
            }
            return std::string(value);
        };
    }
    expand_node(root, file, effective, out);
}

}  // namespace sluice
