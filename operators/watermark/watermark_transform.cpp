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

namespace {

// The watermark of a batch before anything is complete (no record yet, or a partition still
// awaited). Not `no_watermark`: a window reads that as "this batch carries none" and derives
// one from the records' event times itself, which is exactly what must not happen here.
constexpr std::int64_t earliest_watermark = no_watermark + 1;

}  // namespace

void watermark_transform::describe(option_spec& spec) {
    spec.field("column", option_kind::string)
            .describe(
                    "event-time column (timestamp_ms or int64 ms); default: the batch's event-time "
                    "column");
    spec.field("max_out_of_orderness", option_kind::duration)
            .defaults("0s")
            .describe("watermark = largest event time seen - this");
    spec.field("partition_column", option_kind::string)
            .describe(
                    "int64 column (e.g. Kafka's partition): one watermark per value, the smallest "
                    "counts");
    spec.field("partitions", option_kind::integer)
            .defaults("0")
            .at_least(0)
            .describe(
                    "with partition_column: partitions 0..N-1 are expected; the watermark waits "
                    "for each "
                    "(0 = only those seen)");
    spec.field("idle_timeout", option_kind::duration)
            .defaults("0s")
            .describe(
                    "with partition_column: a partition without records this long (wall clock) "
                    "stops "
                    "holding the watermark back; 0 = never");
    spec.check([](const options& opts, diagnostics_collector& out) {
        const bool partitioned = opts.is_set("partition_column");
        for (const char* key : {"partitions", "idle_timeout"}) {
            if (opts.is_set(key) && !partitioned) {
                out.add(opts.error(
                        key, "cross-field", fmt::format("'{}' needs 'partition_column'", key)));
            }
        }
    });
}

std::int64_t watermark_transform::now() const {
    if (config_.clock) {
        return config_.clock();
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
}

watermark_config watermark_transform::config_from(const options& opts) {
    watermark_config config;
    if (opts.is_set("column")) {
        config.column = opts.get_string("column");
    }
    config.max_out_of_orderness = std::chrono::duration_cast<std::chrono::milliseconds>(
            opts.get_duration("max_out_of_orderness"));
    if (opts.is_set("partition_column")) {
        config.partition_column = opts.get_string("partition_column");
    }
    config.partitions = opts.get_int("partitions");
    config.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
            opts.get_duration("idle_timeout"));
    return config;
}

watermark_transform::watermark_transform(watermark_config config)
    : config_(std::move(config)) {
    if (config_.max_out_of_orderness.count() < 0) {
        throw config_error({diagnostic{
                {}, "bad-value", "watermark: 'max_out_of_orderness' must not be negative"}});
    }
}

schema_ptr watermark_transform::bind(const schema_ptr& input, bind_context& ctx) {
    time_index_.reset();
    partition_index_.reset();
    auto resolve = [&](const std::string& name,
                       std::string_view key,
                       bool time) -> std::optional<std::size_t> {
        const auto found = input->index_of(name);
        if (!found) {
            ctx.error(key,
                      "unknown-column",
                      fmt::format("{}: unknown column '{}' (the input has {})",
                                  key,
                                  name,
                                  input->to_string()));
            return std::nullopt;
        }
        const auto type = input->at(*found).type;
        const bool fits = time ? type == data_type::timestamp_ms || type == data_type::int64
                               : type == data_type::int64;
        if (!fits) {
            ctx.error(key,
                      "wrong-type",
                      fmt::format("{} column '{}' must be {}, found {}",
                                  key,
                                  name,
                                  time ? "timestamp_ms or int64" : "int64",
                                  to_string(type)));
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
        throw operator_error(
                ctx.type(),
                ctx.id(),
                "the input batch has no event-time column; set 'column' to the event-time column");
    }
    const std::int64_t wall = now();
    auto [found, inserted] = streams_.try_emplace(input.origin().stream);
    stream_state& state = found->second;
    if (inserted) {
        // Expected partitions count as seen (without an event time) at the first batch, so
        // idle_timeout also applies to one that never delivers.
        for (std::int64_t p = 0; p < config_.partitions; ++p) {
            state.partitions[p] = partition_state{no_watermark, wall};
        }
    }
    const column& times = input.column_at(*time_index);
    const auto values = times.int64_values();
    const column* partitions = partition_index_ ? &input.column_at(*partition_index_) : nullptr;
    for (std::size_t row = 0; row < input.num_rows(); ++row) {
        if (!times.is_valid(row)) {
            continue;
        }
        const std::int64_t partition = partitions && partitions->is_valid(row)
                                               ? partitions->int64_values()[row]
                                               : std::int64_t{-1};
        auto& p = state.partitions[partition];
        p.newest = std::max(p.newest, values[row]);
        p.last_seen = wall;
    }
    // The smallest newest event time over the partitions still active; a partition with none
    // yet holds everything back. All idle: the largest.
    bool any_active = false;
    bool waiting = false;
    std::int64_t oldest = std::numeric_limits<std::int64_t>::max();
    std::int64_t largest = no_watermark;
    for (const auto& [partition, p] : state.partitions) {
        largest = std::max(largest, p.newest);
        if (config_.idle_timeout.count() > 0 &&
            wall - p.last_seen >= config_.idle_timeout.count()) {
            continue;
        }
        any_active = true;
        waiting = waiting || p.newest == no_watermark;
        oldest = std::min(oldest, p.newest);
    }
    const std::int64_t basis = !any_active ? largest : waiting ? no_watermark : oldest;
    if (basis != no_watermark) {
        const std::int64_t delay = config_.max_out_of_orderness.count();
        // Guard the subtraction: an event time near INT64_MIN must not wrap around.
        const std::int64_t candidate = basis < no_watermark + delay ? no_watermark : basis - delay;
        state.watermark = std::max(state.watermark, candidate);
    }
    batch out = input;
    out.set_event_time_column(time_index);
    out.set_watermark_ms(std::max(state.watermark, earliest_watermark));
    return out;
}

void register_watermark_operators(operator_registry& registry) {
    registry.add_transform(
            std::string(watermark_transform::type_name),
            "sets watermarks from the event time in the data (largest seen - max_out_of_orderness)",
            watermark_transform::describe,
            [](const options& opts, build_context&) -> std::unique_ptr<transform> {
                return std::make_unique<watermark_transform>(
                        watermark_transform::config_from(opts));
            });
}

}  // namespace sluice
