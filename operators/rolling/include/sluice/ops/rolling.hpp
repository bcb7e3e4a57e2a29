#pragma once

#include <sluice/operator/operator.hpp>
#include <sluice/operator/option_spec.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

/// \file
/// The `rolling` transform: per-key statistics of each reading's recent history.
///
/// ```yaml
///   recent:
///     type: rolling
///     inputs: [scored]
///     key: sensor_id
///     columns: [temperature, humidity]
///     size: 60            # the key's last 60 readings before the current one
///     min_stddev: 0.05    # z-score denominator floor
///     max_keys: 100000    # least recently seen keys are forgotten beyond this
///     key_ttl: 10m        # keys silent this long (event time) are forgotten
/// ```
/// Reference: operators/rolling/README.md.

namespace sluice {

class operator_registry;
class options;

/// Registers the `rolling` transform.
void register_rolling_operators(operator_registry& registry);

/// Settings of a rolling operator, usable from C++ without YAML.
struct rolling_config {
    std::string key;  ///< grouping column (string or int64); empty = one global group
    std::vector<std::string>
            columns;          ///< numeric columns (float64 or int64) to describe, at least one
    std::size_t size = 60;    ///< history length per key and column, in readings, 2..100000
    double min_stddev = 0.0;  ///< z-score denominator floor, >= 0 (0 = none)
    std::size_t max_keys = 100000;  ///< keys held at most; the least recently seen goes first, >= 1
    std::chrono::milliseconds key_ttl{
            0};               ///< forget keys silent this long of event time; 0 = never
    std::string time_column;  ///< event time (timestamp_ms or int64 ms) for key_ttl; empty = the
                              ///< batch's
};

/// Problems with `config` that do not need a schema; empty if it is valid.
std::vector<std::string> check_rolling_config(const rolling_config& config);

/// For each record and each configured column `c`, describes the value against the last
/// `size` values of `c` that the record's key had *before* it (so a spike does not hide
/// itself), then adds the value to that history. Appends, per column:
/// - `c_recent_mean`   float64: mean of the history; null if it is empty;
/// - `c_recent_stddev` float64: sample standard deviation (n - 1); null below 2 values;
/// - `c_zscore`        float64: (value - mean) / max(stddev, min_stddev); null if the value is
///   missing, the history has fewer than 2 values, or the denominator is 0.
/// Missing values are described (mean and stddev) but do not enter the history.
///
/// "Last" is arrival order, which the graph keeps per source stream (serial, ordered input).
/// State is bounded: at most `max_keys` keys (the least recently seen is forgotten first),
/// and with `key_ttl`, a key whose newest event time is that far behind the newest event time
/// of any key is forgotten (checked after each batch, in order of last arrival). A forgotten
/// key starts over with an empty history. State is not checkpointed: after a restart, each
/// key's history starts empty too.
///
/// Concurrency: serial, needs ordered input. Not thread-safe otherwise.
class rolling_transform final : public transform {
public:
    static constexpr std::string_view type_name = "rolling";
    /// Declares the options and their checks.
    static void describe(option_spec& spec);
    static rolling_config config_from(const options& opts);

    /// Throws config_error (without a file location) if `check_rolling_config` finds problems.
    explicit rolling_transform(rolling_config config);
    ~rolling_transform() override;
    rolling_transform(const rolling_transform&) = delete;
    rolling_transform& operator=(const rolling_transform&) = delete;
    rolling_transform(rolling_transform&&) = delete;
    rolling_transform& operator=(rolling_transform&&) = delete;

    operator_traits traits() const override { return {concurrency::serial, true}; }
    /// Errors: "unknown-column" (key or column not in the input), "wrong-type" (key not string
    /// or int64, column not numeric), "duplicate-column" (an output name already in the
    /// input), "cross-field" (`key_ttl` without an event-time column in the input).
    schema_ptr bind(const schema_ptr& input, bind_context& ctx) override;
    /// Throws operator_error if not bound or the batch has another schema.
    batch process(const batch& input, operator_context& ctx) override;

    /// Keys currently held.
    std::size_t keys() const noexcept;
    /// Keys forgotten so far because of `max_keys` and because of `key_ttl`.
    std::uint64_t evicted_for_capacity() const noexcept;
    std::uint64_t evicted_for_ttl() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice
