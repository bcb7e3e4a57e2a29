#pragma once

#include <sluice/core/schema.hpp>
#include <sluice/operator/operator.hpp>
#include <sluice/operator/option_spec.hpp>
#include <sluice/operator/options.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

class operator_registry;

/// Options of the `json_decode` transform (what its YAML mapping holds, already validated).
struct json_decode_config {
    std::string field = "value";        ///< input string column holding one JSON object per row
    std::vector<sluice::field> schema;  ///< output fields in order; `nullable == false` = required
    std::vector<std::string> keep;      ///< input columns passed through after the decoded ones
    std::string event_time;             ///< timestamp_ms output column to mark as event time;
                                        ///< "" = the first timestamp_ms field of `schema`, if any
};

/// Decodes one JSON object per row of a string column into typed columns (simdjson on-demand).
///
/// Per row: the object's keys are matched against `schema` (unknown keys are skipped; for a
/// duplicated key the last occurrence wins) and converted strictly:
/// - float64: any JSON number;
/// - int64: an integer, or a number with a zero fraction up to 2^53 (`3.0`, `1e3`);
/// - bool: `true` / `false`;
/// - string: a JSON string, unescaped;
/// - timestamp_ms: an integer (ms since the Unix epoch) or an ISO-8601 / RFC 3339 string
///   (`2024-05-01T12:00:00Z`, fractional seconds truncated to ms, `Z` or `+hh:mm` offsets;
///   no offset means UTC; see `parse_iso8601_ms` in sluice/core/row_json.hpp).
/// JSON `null` or an absent key gives a missing value when the field is not required. A
/// record that is not one JSON object, has trailing content, lacks a required field, holds
/// `null` in one, or holds a value of the wrong type or out of range is sent to
/// `ctx.reject` with the original bytes and a precise reason; the other rows form the output.
/// Values of skipped keys are only checked for structure (on-demand parsing).
///
/// Thread-safety: `process` may run concurrently (one simdjson parser per thread); `bind`
/// must run once before any `process`.
class json_decode_transform final : public transform {
public:
    static constexpr std::string_view type_name = "json_decode";

    /// Declares the options (`field`, `schema`, `required`, `keep`, `event_time`) and the
    /// cross-field checks that report `bad-type`, `bad-value` and `cross-field` diagnostics.
    static void describe(option_spec& spec);
    /// Reads validated options. Throws config_error for problems the spec checks report.
    static json_decode_config read_config(const options& opts);

    /// Throws config_error (without a file location) if `config` is inconsistent: an empty
    /// schema, duplicated names, an event-time field that is not timestamp_ms.
    explicit json_decode_transform(json_decode_config config);
    ~json_decode_transform() override;
    json_decode_transform(const json_decode_transform&) = delete;
    json_decode_transform& operator=(const json_decode_transform&) = delete;
    json_decode_transform(json_decode_transform&&) = delete;
    json_decode_transform& operator=(json_decode_transform&&) = delete;

    const json_decode_config& config() const noexcept { return config_; }

    /// Parallel, no order needed: the transform keeps no state between batches (beyond a
    /// relaxed hint of string sizes for reserving columns).
    operator_traits traits() const override;
    /// Requires `field` to be a string column and every `keep` column to exist
    /// (`schema-mismatch` otherwise). Output: the schema fields in order, then kept columns.
    schema_ptr bind(const schema_ptr& input, bind_context& ctx) override;
    /// Decodes every row; rejected rows go to `ctx.reject`. Throws operator_error only if
    /// called before a successful `bind` or with a batch lacking the bound columns.
    batch process(const batch& input, operator_context& ctx) override;

    /// Lookup tables built from the config (defined in the .cpp).
    struct plan;

private:
    json_decode_config config_;
    std::unique_ptr<const plan> plan_;
    schema_ptr output_schema_;
    std::optional<std::size_t> event_time_index_;  // in the output schema
};

/// Registers `json_decode`.
void register_json_operators(operator_registry& registry);

}  // namespace sluice
