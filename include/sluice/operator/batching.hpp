#pragma once

#include <sluice/operator/option_spec.hpp>
#include <sluice/operator/options.hpp>

#include <chrono>
#include <cstddef>

namespace sluice {

/// How a source cuts micro-batches: at `max_records` or after `max_latency`, whichever comes
/// first. The first knob a user tunes: bigger batches, more throughput, more latency.
struct batching_config {
    std::size_t max_records = 1024;  ///< rows per batch, 1..1,048,576
    std::chrono::nanoseconds max_latency = std::chrono::milliseconds(50);  ///< oldest row's wait
};

/// Declares the `batch: {max_records, max_latency}` option on a source's spec.
void describe_batching(option_spec& spec);
/// Reads it back (defaults if absent).
batching_config read_batching(const options& opts);

}  // namespace sluice
