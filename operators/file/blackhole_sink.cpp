#include "file_common.hpp"

#include <sluice/core/log.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/file.hpp>

#include <fmt/format.h>

namespace sluice {

void blackhole_sink::bind(const schema_ptr&, bind_context&) {}

void blackhole_sink::consume(const batch& input, operator_context&) {
    std::uint64_t bytes = 0;
    for (const column_ptr& values : input.columns()) {
        const auto valid = static_cast<std::uint64_t>(values->size() - values->null_count());
        switch (values->type()) {
            case data_type::float64:
            case data_type::int64:
            case data_type::timestamp_ms:
                bytes += 8 * valid;
                break;
            case data_type::boolean:
                bytes += valid;
                break;
            case data_type::string:
                bytes += values->string_bytes().size();
                break;
        }
    }
    records_.fetch_add(input.num_rows(), std::memory_order_relaxed);
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
}

void blackhole_sink::finish(operator_context& ctx) {
    log(log_level::debug,
        fmt::format("{} '{}': discarded {} records, {} bytes",
                    ctx.type(),
                    ctx.id(),
                    records(),
                    bytes()));
}

namespace file_detail {

void register_blackhole_sink(operator_registry& registry) {
    registry.add_sink(
            "blackhole",
            "discards records, counting them (for benchmarks and tests)",
            [](option_spec&) {},
            [](const options&, build_context&) -> std::unique_ptr<sink> {
                return std::make_unique<blackhole_sink>();
            });
}

}  // namespace file_detail

}  // namespace sluice
