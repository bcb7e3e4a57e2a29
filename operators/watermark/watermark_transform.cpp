// The `watermark` transform: watermarks from event times in the data.

#include <sluice/core/error.hpp>
#include <sluice/operator/options.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/watermark.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <memory>

namespace sluice {

void watermark_transform::describe(option_spec& spec) {
    spec.field("column", option_kind::string)
            .describe("event-time column (timestamp_ms or int64 ms); default: the batch's event-time column");
    spec.field("max_out_of_orderness", option_kind::duration)
            .defaults("0s")
            .describe("watermark = largest event time seen - this");
    spec.field("partition_column", option_kind::string)
            .describe("int64 column (e.g. Kafka's partition): one watermark per value, the smallest counts");
}

watermark_config watermark_transform::config_from(const options& opts) {
    watermark_config config;
    if (opts.is_set("column")) {
        config.column = opts.get_string("column");
    }
    config.max_out_of_orderness =
            std::chrono::duration_cast<std::chrono::milliseconds>(opts.get_duration("max_out_of_orderness"));
    if (opts.is_set("partition_column")) {
        config.partition_column = opts.get_string("partition_column");
    }
    return config;
}

watermark_transform::watermark_transform(watermark_config config) : config_(std::move(config)) {
    if (config_.max_out_of_orderness.count() < 0) {
        throw config_error({diagnostic{{}, "bad-value", "watermark: 'max_out_of_orderness' must not be negative"}});
    }
}

schema_ptr watermark_transform::bind(const schema_ptr& input, bind_context& ctx) {
    time_index_.reset();
    partition_index_.reset();
    auto resolve = [&](const std::string& name, std::string_view key, bool time) -> std::optional<std::size_t> {
        const auto found = input->index_of(name);
        if (!found) {
            ctx.error(key, "unknown-column",
                      fmt::format("{}: unknown column '{}' (the input has {})", key, name, input->to_string()));
            return std::nullopt;
        }
        const auto type = input->at(*found).type;
        const bool fits = time ? type == data_type::timestamp_ms || type == data_type::int64 : type == data_type::int64;
        if (!fits) {
            ctx.error(key, "wrong-type",
                      fmt::format("{} column '{}' must be {}, found {}", key, name,
                                  time ? "timestamp_ms or int64" : "int64", to_string(type)));
            return std::nullopt;
        }
        return found;
    };
    if (!config_.column.empty()) {
        time_index_ = resolve(config_.column, "column", true);
    }
    if (!config_.partition_column.empty()) {
        partition_index_ = resolve(config_.partition_column, "partition_column", false);
    }
    if (ctx.failed()) {
        return nullptr;
    }
    schema_ = input;
    return input;
}

batch watermark_transform::process(const batch& input, operator_context& ctx) {
    if (!schema_) {
        throw operator_error(ctx.type(), ctx.id(), "process() called before a successful bind()");
    }
    const auto time_index = time_index_ ? time_index_ : input.event_time_column();
    if (!time_index) {
        throw operator_error(ctx.type(), ctx.id(),
                             "the input batch has no event-time column; set 'column' to the event-time column");
    }
    auto [found, inserted] = streams_.try_emplace(input.origin().stream, stream_state{{}, no_watermark});
    stream_state& state = found->second;
    const column& times = input.column_at(*time_index);
    const auto values = times.int64_values();
    const column* partitions = partition_index_ ? &input.column_at(*partition_index_) : nullptr;
    for (std::size_t row = 0; row < input.num_rows(); ++row) {
        if (!times.is_valid(row)) {
            continue;
        }
        const std::int64_t partition =
                partitions && partitions->is_valid(row) ? partitions->int64_values()[row] : std::int64_t{-1};
        auto [slot, fresh] = state.newest.try_emplace(partition, values[row]);
        if (!fresh) {
            slot->second = std::max(slot->second, values[row]);
        }
    }
    if (!state.newest.empty()) {
        std::int64_t oldest = std::numeric_limits<std::int64_t>::max();
        for (const auto& [partition, newest] : state.newest) {
            oldest = std::min(oldest, newest);
        }
        const std::int64_t delay = config_.max_out_of_orderness.count();
        // Guard the subtraction: an event time near INT64_MIN must not wrap around.
        const std::int64_t candidate = oldest < no_watermark + delay ? no_watermark : oldest - delay;
        state.watermark = std::max(state.watermark, candidate);
    }
    batch out = input;
    out.set_event_time_column(time_index);
    out.set_watermark_ms(state.watermark);
    return out;
}

void register_watermark_operators(operator_registry& registry) {
    registry.add_transform(std::string(watermark_transform::type_name),
                           "sets watermarks from the event time in the data (largest seen - max_out_of_orderness)",
                           watermark_transform::describe,
                           [](const options& opts, build_context&) -> std::unique_ptr<transform> {
                               return std::make_unique<watermark_transform>(watermark_transform::config_from(opts));
                           });
}

}  // namespace sluice
