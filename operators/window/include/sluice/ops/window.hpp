#pragma once

#include <sluice/operator/operator.hpp>
#include <sluice/operator/option_spec.hpp>
#include <sluice/ops/window/aggregate_state.hpp>
#include <sluice/ops/window/watermark_tracker.hpp>
#include <sluice/ops/window/window_assigner.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// \file
/// The `window` transform: event-time (or processing-time) windowed aggregation with
/// watermarks, allowed lateness and acknowledgement held until the windows are emitted.
///
/// ```yaml
///   per_sensor_minute:
///     type: window
///     inputs: [parsed]
///     key: [sensor_id]
///     time: {column: timestamp, max_out_of_orderness: 5s, idle_timeout: 30s}
///     window: {kind: hopping, size: 60s, slide: 10s, allowed_lateness: 30s}
///     aggregates:
///       temperature_mean: {mean: temperature}
///       temperature_p95: {quantile: temperature, q: 0.95}
///       readings: {count: "*"}
/// ```
/// Reference: operators/window/README.md.

namespace sluice {

class operator_registry;
class options;

/// Registers the `window` transform.
void register_window_operators(operator_registry& registry);

/// Where records later than the allowed lateness go.
enum class late_policy {
    dead_letter,  ///< the pipeline's dead-letter sink, reason "late: ..." (counted as rejected)
    side_output,  ///< the window's side output `late` (inputs: [<window id>.late]), unchanged
};

/// Settings of a window operator, usable from C++ without YAML.
struct window_config {
    std::vector<std::string> key;  ///< grouping columns; empty = one global group
    bool processing_time = false;  ///< true: event time = wall clock at arrival
    std::string time_column;       ///< event-time column (timestamp_ms or int64 ms)
    std::chrono::milliseconds max_out_of_orderness{0};  ///< lag of the data-derived watermark, >= 0
    std::chrono::milliseconds idle_timeout{
            0};  ///< silent input streams stop holding the watermark; 0 = never
    window_kind kind = window_kind::tumbling;  ///< tumbling, hopping or session
    std::chrono::milliseconds size{0};         ///< tumbling/hopping: window length, >= 1ms
    std::chrono::milliseconds slide{0};        ///< hopping: distance between starts, 1ms..size
    std::chrono::milliseconds gap{0};  ///< session: inactivity that closes a session, >= 1ms
    std::chrono::milliseconds allowed_lateness{
            0};                              ///< late records within this re-fire the window, >= 0
    std::vector<aggregate_spec> aggregates;  ///< at least one; output names unique
    late_policy late = late_policy::dead_letter;  ///< where records later than allowed_lateness go
    /// Processing time in ms since the Unix epoch (for processing-time windows and idle
    /// detection); empty = std::chrono::system_clock. Tests inject a manual clock here.
    std::function<std::int64_t()> clock;
};

/// Problems with `config` that do not need a schema (sizes, slide <= size, kind-specific
/// fields, q range, duplicate names); empty if it is valid.
std::vector<std::string> check_window_config(const window_config& config);

/// Groups records by key into tumbling, hopping or session windows over event time and emits
/// one row per (key, window) when the watermark passes the window's end.
///
/// Output columns: the key columns, `window_start` and `window_end` (timestamp_ms, end
/// exclusive; `window_end` is the output's event-time column), one column per aggregate,
/// `window_id` (string: escaped key values + "/" + start in ms — deterministic, for upserts)
/// and `is_update` (bool: true when a late record re-fired an emitted window).
///
/// Time: the watermark is the minimum over the input streams (`batch::origin().stream`) of the
/// watermark their batches carry, or of max event time − `max_out_of_orderness` where they
/// carry none (watermark_tracker). A batch's records are assigned with the watermark from
/// before the batch; then the batch's watermark applies and windows fire.
///
/// Lateness: a record whose windows all ended at or before watermark − `allowed_lateness` is
/// late and goes to the dead-letter sink (`ctx.reject`, reason "late: ..."), or with
/// `late_policy::side_output` unchanged to the side output `late` (the input's schema, the
/// input batch's acknowledgements: a late record is committed only once the side output's
/// readers accepted it; counted in the metric `late_records`). Otherwise it is
/// added to every window still open; a window already emitted is emitted again with
/// `is_update` = true. A window's state is freed when the watermark reaches end +
/// allowed_lateness.
///
/// Acknowledgement: the acks of each input batch are held (not its flight slot, so open
/// windows never stall a source) until every window holding its records has been emitted; each
/// output batch that emits such a window carries a reference, so a source position is
/// committed only after all windows covering it were accepted downstream. `finish()` emits
/// every open window with the remaining acks.
///
/// Concurrency: serial, needs ordered input. Not thread-safe otherwise.
class window_transform final : public transform {
public:
    static constexpr std::string_view type_name = "window";
    /// Declares the options (key, time, window, aggregates, late) and their cross-field checks.
    static void describe(option_spec& spec);
    /// Reads validated options.
    static window_config config_from(const options& opts);

    /// Throws config_error (without a file location) if `check_window_config` finds problems.
    explicit window_transform(window_config config);
    ~window_transform() override;
    window_transform(const window_transform&) = delete;
    window_transform& operator=(const window_transform&) = delete;
    window_transform(window_transform&&) = delete;
    window_transform& operator=(window_transform&&) = delete;

    operator_traits traits() const override { return {concurrency::serial, true}; }
    /// Resolves key, time and aggregate columns. Errors: "unknown-column" (with the closest
    /// name), "wrong-type" (non-numeric column for a numeric aggregate, time column not a
    /// timestamp), "duplicate-column" (an output name used twice).
    schema_ptr bind(const schema_ptr& input, bind_context& ctx) override;
    /// Adds the batch, advances the watermark and returns the windows it fired (possibly none).
    /// Throws operator_error if not bound or the batch has another schema. Called without
    /// side outputs, late records go to the dead-letter sink whatever the policy: never lost.
    batch process(const batch& input, operator_context& ctx) override;
    /// `late` (the input's schema) with `late_policy::side_output`, else none. After bind().
    std::vector<side_output> side_outputs() const override;
    /// process(), with late records in `sides[0]` under `late_policy::side_output`.
    batch process_with_side_outputs(const batch& input,
                                    operator_context& ctx,
                                    std::span<batch> sides) override;
    /// Emits every open window (and every window updated since its last emission).
    std::optional<batch> finish(operator_context& ctx) override;

    /// The combined watermark so far (ms; `no_watermark` before any).
    std::int64_t watermark_ms() const noexcept;
    /// (key, window) states currently held.
    std::size_t open_windows() const noexcept;
    /// Input batches whose acknowledgement is held.
    std::size_t held_batches() const noexcept;
    /// Input batches whose windows were all emitted, whose acknowledgement waits until the
    /// outputs up to the one closing their last window are accepted (README "Delivery").
    std::size_t parked_batches() const noexcept;
    /// Approximate heap bytes of all window state (windows, aggregates, keys, held acks).
    std::size_t state_bytes() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice
