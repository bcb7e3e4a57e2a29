#include "graph/topology.hpp"

#include "operator/options_impl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace sluice::detail {
namespace {

source_location locate(const node_declaration& d, std::string_view key) {
    return d.locate ? d.locate(key) : source_location{};
}

std::string describe(const node_declaration& d, operator_role role) {
    return fmt::format("{} '{}'", d.type.empty() ? std::string(to_string(role)) : d.type, d.id);
}

}  // namespace

topology resolve_topology(
        const std::vector<std::pair<const node_declaration*, operator_role>>& declared,
        diagnostics_collector& out) {
    topology result;
    std::map<std::string, std::size_t, std::less<>> index_of;
    std::vector<std::string> ids;
    for (const auto& [declaration, role] : declared) {
        topology::node n;
        n.declaration = declaration;
        n.role = role;
        if (index_of.count(declaration->id) != 0) {
            out.add(locate(*declaration, ""),
                    "duplicate-id",
                    fmt::format("{} '{}': the id '{}' is already used by another {}",
                                declaration->type,
                                declaration->id,
                                declaration->id,
                                to_string(result.nodes[index_of[declaration->id]].role)));
            continue;
        }
        index_of[declaration->id] = result.nodes.size();
        ids.push_back(declaration->id);
        result.nodes.push_back(n);
    }

    for (std::size_t i = 0; i < result.nodes.size(); ++i) {
        auto& n = result.nodes[i];
        const auto& d = *n.declaration;
        if (n.role == operator_role::source) {
            if (!d.inputs.empty()) {
                out.add(locate(d, "inputs"),
                        "unexpected-inputs",
                        fmt::format("{}: a source takes no 'inputs'", describe(d, n.role)));
            }
            continue;
        }
        if (d.inputs.empty()) {
            out.add(locate(d, "inputs"),
                    "missing-field",
                    fmt::format("{} requires 'inputs' (the ids it reads from)",
                                describe(d, n.role)));
            continue;
        }
        for (std::size_t k = 0; k < d.inputs.size(); ++k) {
            const auto& input = d.inputs[k];
            auto found = index_of.find(input);
            std::string port;
            if (const auto dot = input.rfind('.');
                found == index_of.end() && dot != std::string::npos) {
                const auto owner = index_of.find(std::string_view(input).substr(0, dot));
                if (owner != index_of.end()) {
                    found = owner;
                    port = input.substr(dot + 1);
                }
            }
            if (found != index_of.end() && !port.empty() &&
                result.nodes[found->second].role != operator_role::transform) {
                out.add(locate(d, fmt::format("inputs.{}", k)),
                        "invalid-input",
                        fmt::format("{} reads from '{}', but '{}' is a {}; only transforms have "
                                    "side outputs",
                                    describe(d, n.role),
                                    input,
                                    found->first,
                                    to_string(result.nodes[found->second].role)));
                continue;
            }
            if (found == index_of.end()) {
                const auto guess = closest_name(input, ids);
                out.add(locate(d, fmt::format("inputs.{}", k)),
                        "unknown-input",
                        fmt::format("{} reads from '{}', which is not defined{}",
                                    describe(d, n.role),
                                    input,
                                    guess.empty() ? fmt::format(" (ids: {})", join_names(ids))
                                                  : fmt::format("; did you mean '{}'?", guess)));
                continue;
            }
            if (result.nodes[found->second].role == operator_role::sink) {
                out.add(locate(d, fmt::format("inputs.{}", k)),
                        "invalid-input",
                        fmt::format("{} reads from '{}', which is a sink; only sources and "
                                    "transforms can be inputs",
                                    describe(d, n.role),
                                    input));
                continue;
            }
            if (found->second == i) {
                out.add(locate(d, fmt::format("inputs.{}", k)),
                        "cycle",
                        fmt::format("{} reads from itself", describe(d, n.role)));
                continue;
            }
            n.upstream.push_back(found->second);
            n.upstream_ports.push_back(std::move(port));
            result.nodes[found->second].downstream.push_back(i);
        }
    }

    // Kahn's algorithm; whatever is left over sits on a cycle.
    std::vector<std::size_t> waiting(result.nodes.size());
    std::vector<std::size_t> ready;
    for (std::size_t i = 0; i < result.nodes.size(); ++i) {
        waiting[i] = result.nodes[i].upstream.size();
        if (waiting[i] == 0) {
            ready.push_back(i);
        }
    }
    while (!ready.empty()) {
        const auto i = ready.front();
        ready.erase(ready.begin());
        result.order.push_back(i);
        for (const auto next : result.nodes[i].downstream) {
            if (--waiting[next] == 0) {
                ready.push_back(next);
            }
        }
    }
    if (result.order.size() != result.nodes.size()) {
        // Walk upstream from a stuck node until a node repeats: that loop is the cycle.
        std::size_t start = 0;
        while (waiting[start] == 0) {
            ++start;
        }
        std::vector<std::size_t> path{start};
        while (true) {
            const auto& ups = result.nodes[path.back()].upstream;
            const auto next = *std::find_if(
                    ups.begin(), ups.end(), [&](std::size_t u) { return waiting[u] != 0; });
            const auto seen = std::find(path.begin(), path.end(), next);
            if (seen != path.end()) {
                path.erase(path.begin(), seen);
                break;
            }
            path.push_back(next);
        }
        std::reverse(path.begin(), path.end());
        std::string loop;
        for (const auto i : path) {
            loop += result.nodes[i].declaration->id + " -> ";
        }
        loop += result.nodes[path.front()].declaration->id;
        const auto& first = *result.nodes[path.front()].declaration;
        out.add(locate(first, "inputs"),
                "cycle",
                fmt::format("{} is part of a cycle: {}",
                            describe(first, result.nodes[path.front()].role),
                            loop));
    }
    return result;
}

}  // namespace sluice::detail
