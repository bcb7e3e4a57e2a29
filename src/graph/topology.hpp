#pragma once

#include <sluice/core/error.hpp>
#include <sluice/graph/pipeline.hpp>
#include <sluice/operator/registry.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace sluice::detail {

/// The wiring of a pipeline: ids, roles, inputs resolved to indices, and a topological order.
struct topology {
    struct node {
        const node_declaration* declaration = nullptr;
        operator_role role = operator_role::transform;
        std::vector<std::size_t> upstream;  // indices into nodes
        // Per upstream entry: the side output read ("late" for `inputs: [w.late]`), or "" for
        // the main output. Whether the upstream transform has it is checked once it is bound.
        std::vector<std::string> upstream_ports;
        std::vector<std::size_t> downstream;  // indices into nodes
    };
    std::vector<node> nodes;
    std::vector<std::size_t> order;  // every node after all of its upstream nodes
};

/// Resolves inputs and orders the nodes. Reports duplicate ids, unknown or invalid inputs
/// (with the closest id), sources with inputs, sinks or transforms without, and cycles.
/// An input may name a transform's side output as `<id>.<output>` (ids may contain dots: an
/// exact id wins).
topology resolve_topology(
        const std::vector<std::pair<const node_declaration*, operator_role>>& declared,
        diagnostics_collector& out);

}  // namespace sluice::detail
