#include <sluice/operator/batching.hpp>

namespace sluice {

void describe_batching(option_spec& spec) {
    auto& nested = spec.field("batch", option_kind::object)
                           .describe("how records are cut into micro-batches")
                           .fields();
    nested.field("max_records", option_kind::integer)
            .defaults("1024")
            .at_least(1)
            .at_most(1 << 20)
            .describe("a batch is cut at this many records");
    nested.field("max_latency", option_kind::duration)
            .defaults("50ms")
            .at_least(1e6)
            .describe("...or when its first record has waited this long");
}

batching_config read_batching(const options& opts) {
    const auto nested = opts.child("batch");
    batching_config config;
    config.max_records = static_cast<std::size_t>(nested.get_int("max_records"));
    config.max_latency = nested.get_duration("max_latency");
    return config;
}

}  // namespace sluice
