#include "batch_decode.hpp"
#include "decode_plan.hpp"
#include "json_options.hpp"
#include "row_decoder.hpp"

#include <sluice/operator/registry.hpp>
#include <sluice/ops/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <utility>
#include <vector>

namespace sluice {

using detail::json::config_from_options;
using detail::json::decode_batch;
using detail::json::make_plan;
using detail::json::row_decoder;
using detail::json::slot_sink;
using detail::json::string_builder;
using detail::json::validate_config;

void json_decode_transform::describe(option_spec& spec) {
    spec.field("field", option_kind::string)
            .defaults("value")
            .describe("input string column holding one JSON object per row");
    spec.field("schema", option_kind::string_map)
            .require()
            .describe(
                    "output fields in order, name: type (float64, int64, bool, string, "
                    "timestamp_ms); "
                    "other keys of the JSON objects are ignored");
    spec.field("required", option_kind::string_list)
            .describe(
                    "schema fields a record must hold with a non-null value, else it is rejected; "
                    "default: every schema field. Other fields may be absent or null (a missing "
                    "value)");
    spec.field("keep", option_kind::string_list)
            .defaults("[]")
            .describe(
                    "input columns passed through after the decoded fields, e.g. [partition, "
                    "offset]");
    spec.field("event_time", option_kind::string)
            .describe(
                    "timestamp_ms column marked as the batch's event time; default: the first "
                    "timestamp_ms field of schema");
    spec.check([](const options& opts, diagnostics_collector& out) {
        (void)config_from_options(opts, out);
    });
}

json_decode_config json_decode_transform::read_config(const options& opts) {
    diagnostics_collector out;
    auto config = config_from_options(opts, out);
    out.throw_if_any();
    return config;
}

json_decode_transform::json_decode_transform(json_decode_config config)
    : config_(std::move(config)) {
    diagnostics_collector out;
    // Built in code, so there is no YAML position or id to name: the messages name the option.
    validate_config(config_, [&](std::string_view, std::string code, std::string message) {
        out.add(source_location{}, std::move(code), fmt::format("json_decode: {}", message));
    });
    out.throw_if_any();
    plan_ = make_plan(config_);
}

json_decode_transform::~json_decode_transform() = default;

operator_traits json_decode_transform::traits() const {
    return {concurrency::parallel, false};
}

schema_ptr json_decode_transform::bind(const schema_ptr& input, bind_context& ctx) {
    bool ok = true;
    const auto raw = input->index_of(config_.field);
    if (!raw || input->at(*raw).type != data_type::string) {
        ctx.error("field",
                  "schema-mismatch",
                  fmt::format("expected a string column '{}'; the input has {}",
                              config_.field,
                              input->to_string()));
        ok = false;
    }
    std::vector<field> fields = config_.schema;
    for (const auto& k : config_.keep) {
        const auto index = input->index_of(k);
        if (!index) {
            ctx.error("keep",
                      "schema-mismatch",
                      fmt::format("kept column '{}' is not in the input; the input has {}",
                                  k,
                                  input->to_string()));
            ok = false;
            continue;
        }
        fields.push_back(input->at(*index));
    }
    std::optional<std::size_t> event_time;
    if (!config_.event_time.empty()) {
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (fields[i].name == config_.event_time) {
                event_time = i;
            }
        }
        if (event_time && fields[*event_time].type != data_type::timestamp_ms) {
            ctx.error("event_time",
                      "schema-mismatch",
                      fmt::format("'event_time' names the kept column '{}', which is {}; expected "
                                  "timestamp_ms",
                                  config_.event_time,
                                  to_string(fields[*event_time].type)));
            ok = false;
        }
    } else {
        for (std::size_t i = 0; i < config_.schema.size(); ++i) {
            if (config_.schema[i].type == data_type::timestamp_ms) {
                event_time = i;
                break;
            }
        }
    }
    if (!ok) {
        return nullptr;
    }
    output_schema_ = make_schema(std::move(fields));
    event_time_index_ = event_time;
    return output_schema_;
}

batch json_decode_transform::process(const batch& input, operator_context& ctx) {
    if (!output_schema_) {
        throw operator_error(ctx.type(), ctx.id(), "process() called before a successful bind()");
    }
    const auto& in_schema = *input.schema();
    const auto raw_index = in_schema.index_of(config_.field);
    if (!raw_index || in_schema.at(*raw_index).type != data_type::string) {
        throw operator_error(ctx.type(),
                             ctx.id(),
                             fmt::format("input batch has no string column '{}' (it has {})",
                                         config_.field,
                                         in_schema.to_string()));
    }
    std::vector<std::size_t> keep_index;
    keep_index.reserve(config_.keep.size());
    for (const auto& k : config_.keep) {
        const auto index = in_schema.index_of(k);
        if (!index) {
            throw operator_error(ctx.type(),
                                 ctx.id(),
                                 fmt::format("input batch has no column '{}' to keep (it has {})",
                                             k,
                                             in_schema.to_string()));
        }
        keep_index.push_back(*index);
    }

    const column& raw = input.column_at(*raw_index);
    const std::size_t rows = input.num_rows();
    const auto bytes = raw.string_bytes();
    const auto offsets = raw.string_offsets();
    ctx.metrics().bytes_in.fetch_add(bytes.size(), std::memory_order_relaxed);

    const auto& slots = plan_->slots;
    std::vector<std::shared_ptr<column>> decoded;
    std::vector<slot_sink> sinks(slots.size());
    std::vector<string_builder> texts(plan_->string_slots.empty() ? 0 : slots.size());
    decoded.reserve(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i) {
        auto c = std::make_shared<column>(slots[i].type);
        auto& sink = sinks[i];
        sink.type = slots[i].type;
        sink.target = c.get();
        switch (slots[i].type) {
            case data_type::float64:
                c->resize(rows);
                sink.f64 = c->mutable_float64().data();
                break;
            case data_type::int64:
            case data_type::timestamp_ms:
                c->resize(rows);
                sink.i64 = c->mutable_int64().data();
                break;
            case data_type::boolean:
                c->resize(rows);
                sink.flag = c->mutable_bool().data();
                break;
            case data_type::string: {
                const auto per_row = plan_->string_bytes_per_row[i].load(std::memory_order_relaxed);
                texts[i].reserve(rows, rows * per_row + rows * per_row / 8 + 64);
                sink.text = &texts[i];
                break;
            }
        }
        decoded.push_back(std::move(c));
    }

    row_decoder decoder(*plan_, sinks);
    std::vector<std::uint8_t> selection(rows, 1);
    std::vector<source_position> positions;
    bool have_positions = false;
    std::size_t accepted = 0;
    const auto record = [&](std::size_t row) {
        return std::string_view(bytes.data() + offsets[row], offsets[row + 1] - offsets[row]);
    };
    // One record on its own: the reference path, and the one that words every rejection.
    const auto decode_alone = [&](std::size_t row) {
        const auto json = record(row);
        if (raw.is_valid(row) && decoder.decode(json, accepted)) {
            ++accepted;
            return;
        }
        selection[row] = 0;
        if (!have_positions) {
            positions = input.source_positions();
            have_positions = true;
        }
        if (raw.is_valid(row)) {
            ctx.reject(json, decoder.reason(), false, positions);
        } else {
            ctx.reject(json,
                       fmt::format("input column '{}' is null", config_.field),
                       false,
                       positions);
        }
    };
    decode_batch(raw, rows, decoder, accepted, decode_alone);

    std::vector<column_ptr> columns;
    columns.reserve(output_schema_->size());
    for (std::size_t i = 0; i < slots.size(); ++i) {
        if (slots[i].type != data_type::string) {
            decoded[i]->resize(accepted);  // drop the slots of rejected rows at the end
        } else {
            if (accepted != 0) {
                const auto per_row = (texts[i].bytes() + accepted - 1) / accepted;
                plan_->string_bytes_per_row[i].store(
                        static_cast<std::uint32_t>(std::min<std::size_t>(per_row, 1U << 20)),
                        std::memory_order_relaxed);
            }
            texts[i].finish(*decoded[i]);
        }
        columns.push_back(std::move(decoded[i]));
    }
    for (const auto index : keep_index) {
        if (accepted == rows) {
            columns.push_back(input.shared_column(index));  // nothing rejected: share, never copy
        } else {
            columns.push_back(
                    std::make_shared<const column>(input.column_at(index).filter(selection)));
        }
    }
    batch out(output_schema_, std::move(columns));
    out.inherit_lineage(input, selection);
    if (event_time_index_) {
        out.set_event_time_column(event_time_index_);
    }
    return out;
}

void register_json_operators(operator_registry& registry) {
    registry.add_transform(
            std::string(json_decode_transform::type_name),
            "decodes one JSON object per row of a string column into typed columns (simdjson)",
            &json_decode_transform::describe,
            [](const options& opts, build_context&) -> std::unique_ptr<transform> {
                return std::make_unique<json_decode_transform>(
                        json_decode_transform::read_config(opts));
            });
}

}  // namespace sluice
