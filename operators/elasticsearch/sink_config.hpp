#pragma once

// Options of the `elasticsearch` sink: the spec (which is also its documentation) and the
// config struct read from it.

#include "bulk_body.hpp"
#include "http_client.hpp"
#include "index_template.hpp"
#include "retry_policy.hpp"

#include <sluice/operator/option_spec.hpp>
#include <sluice/operator/options.hpp>

#include <chrono>
#include <cstddef>

namespace sluice::es_detail {

/// Everything the sink is configured with.
struct sink_config {
    http_settings http;  ///< node URL, auth, TLS, timeouts, gzip
    body_settings body;  ///< index (pattern), id template, time field, timestamp spelling
    template_settings index_template;  ///< template name, pattern, mapping overrides
    retry_settings retry;              ///< backoff of 429/5xx items and failed requests
    std::size_t max_docs = 5000;       ///< documents per bulk request, 1..1,000,000
    std::size_t max_bytes = 5 << 20;   ///< body bytes per bulk request, 1 KiB..100 MiB
    std::chrono::nanoseconds max_latency =
            std::chrono::seconds(1);           ///< oldest doc's wait before a flush
    std::size_t concurrency = 2;               ///< bulk requests in flight, 1..64
    std::size_t max_pending_bytes = 64 << 20;  ///< buffered body bytes before consume() blocks
    std::chrono::nanoseconds flush_timeout = std::chrono::seconds(120);  ///< finish()'s wait
};

/// Declares the sink's options.
void describe_sink(option_spec& spec);

/// Reads the options back; throws config_error for problems the spec cannot see (an invalid
/// index pattern or id template).
sink_config read_sink_config(const options& opts);

}  // namespace sluice::es_detail
