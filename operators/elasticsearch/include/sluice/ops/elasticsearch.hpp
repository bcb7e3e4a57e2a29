#pragma once

namespace sluice {

class operator_registry;

/// Registers the `elasticsearch` sink: documents indexed through the `_bulk` API of an
/// Elasticsearch (or OpenSearch) node, with per-item retries and dead letters. See
/// operators/elasticsearch/README.md for the options and the delivery guarantees.
void register_elasticsearch_operators(operator_registry& registry);

}  // namespace sluice
