// Option spec of the `window` transform (the YAML reference) and its registration.

#include "closest_name.hpp"

#include <sluice/core/duration.hpp>
#include <sluice/operator/options.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/window.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <set>

namespace sluice {

namespace {

constexpr double one_ms_ns = 1e6;

const std::vector<std::string>& function_fields() {
    static const std::vector<std::string> names = {
            "count", "sum", "mean", "min", "max", "stddev", "first", "last", "quantile"};
    return names;
}

std::chrono::milliseconds ms_of(const options& opts, std::string_view key) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(opts.get_duration(key));
}

void check_window_object(const options& opts, diagnostics_collector& out) {
    const options w = opts.child("window");
    const std::string kind = w.get_string("kind");
    const auto whole_ms = [&](std::string_view key) {
        if (w.is_set(key) && w.get_duration(key).count() % 1'000'000 != 0) {
            out.add(w.error(key,
                            "cross-field",
                            fmt::format("'{}' ({}) must be a whole number of milliseconds",
                                        key,
                                        format_duration(w.get_duration(key)))));
        }
    };
    for (const char* key : {"size", "slide", "gap", "allowed_lateness"}) {
        whole_ms(key);
    }
    const auto requires_field = [&](std::string_view key) {
        if (!w.is_set(key)) {
            out.add(w.error(
                    "", "missing-field", fmt::format("{} windows require 'window.{}'", kind, key)));
        }
    };
    const auto forbids_field = [&](std::string_view key, std::string_view hint) {
        if (w.is_set(key)) {
            out.add(w.error(
                    key,
                    "cross-field",
                    fmt::format("'{}' does not apply to {} windows ({})", key, kind, hint)));
        }
    };
    if (kind == "tumbling") {
        requires_field("size");
        forbids_field("slide", "use kind: hopping for overlapping windows");
        forbids_field("gap", "only session windows have a gap");
    } else if (kind == "hopping") {
        requires_field("size");
        requires_field("slide");
        forbids_field("gap", "only session windows have a gap");
        if (w.is_set("size") && w.is_set("slide") &&
            w.get_duration("slide") > w.get_duration("size")) {
            out.add(w.error("slide",
                            "cross-field",
                            fmt::format("'slide' ({}) must not exceed 'size' ({})",
                                        detail::window::describe_ms(ms_of(w, "slide").count()),
                                        detail::window::describe_ms(ms_of(w, "size").count()))));
        }
    } else {
        requires_field("gap");
        forbids_field("size", "a session lasts until a 'gap' without records");
        forbids_field("slide", "a session lasts until a 'gap' without records");
    }
}

void check_time_object(const options& opts, diagnostics_collector& out) {
    const options t = opts.child("time");
    const bool processing = t.get_bool("processing");
    if (processing && t.is_set("column")) {
        out.add(t.error("column",
                        "cross-field",
                        "time: give either 'column' (event time) or 'processing: true', not both"));
    } else if (!processing && !t.is_set("column")) {
        out.add(t.error(
                "", "missing-field", "time: requires 'column' (event time) or 'processing: true'"));
    }
    if (processing && t.is_set("max_out_of_orderness")) {
        out.add(t.error(
                "max_out_of_orderness",
                "cross-field",
                "time: 'max_out_of_orderness' applies to event time only (processing: true)"));
    }
    for (const char* key : {"max_out_of_orderness", "idle_timeout"}) {
        if (t.is_set(key) && t.get_duration(key).count() % 1'000'000 != 0) {
            out.add(t.error(key,
                            "cross-field",
                            fmt::format("'{}' ({}) must be a whole number of milliseconds",
                                        key,
                                        format_duration(t.get_duration(key)))));
        }
    }
}

void check_aggregates(const options& opts, diagnostics_collector& out) {
    std::set<std::string, std::less<>> names;
    if (opts.is_set("key")) {
        for (const auto& k : opts.get_string_list("key")) {
            names.insert(k);
        }
    }
    for (const char* reserved : {"window_start", "window_end", "window_id", "is_update"}) {
        if (names.count(reserved) != 0) {
            out.add(opts.error(
                    "key",
                    "cross-field",
                    fmt::format("key column '{}' has the name of an output column", reserved)));
        }
        names.insert(reserved);
    }
    for (const auto& [name, a] : opts.children("aggregates")) {
        std::vector<std::string> given;
        for (const auto& f : function_fields()) {
            if (a.is_set(f)) {
                given.push_back(f);
            }
        }
        if (given.size() != 1) {
            out.add(a.error(
                    given.empty() ? "" : given[1],
                    given.empty() ? "missing-field" : "cross-field",
                    given.empty()
                            ? fmt::format("aggregate '{}' needs one function ({})",
                                          name,
                                          fmt::join(function_fields(), ", "))
                            : fmt::format("aggregate '{}' has {} functions ({}); give exactly one",
                                          name,
                                          given.size(),
                                          fmt::join(given, ", "))));
            continue;
        }
        const std::string& function = given.front();
        if (function == "quantile" && !a.is_set("q")) {
            out.add(a.error("",
                            "missing-field",
                            fmt::format("aggregate '{}': quantile requires 'q'", name)));
        }
        if (function == "quantile" && a.is_set("q")) {
            const double q = a.get_number("q");
            if (!(q > 0 && q < 1)) {
                out.add(a.error(
                        "q",
                        "out-of-range",
                        fmt::format(
                                "aggregate '{}': 'q' must be between 0 and 1 (exclusive), got {}",
                                name,
                                q)));
            }
        }
        if (function != "quantile") {
            for (const char* key : {"q", "relative_error", "max_bins"}) {
                if (a.is_set(key)) {
                    out.add(a.error(
                            key,
                            "cross-field",
                            fmt::format(
                                    "aggregate '{}': '{}' applies to quantile only", name, key)));
                }
            }
        }
        if (function != "count" && a.get_string(function) == "*") {
            out.add(a.error(
                    function,
                    "cross-field",
                    fmt::format("aggregate '{}': \"*\" (every row) is only allowed with count",
                                name)));
        }
        if (!names.insert(name).second) {
            out.add(a.error(
                    "",
                    "cross-field",
                    fmt::format("aggregate '{}' has the name of another output column", name)));
        }
    }
}

}  // namespace

void window_transform::describe(option_spec& spec) {
    spec.field("key", option_kind::string_list)
            .describe(
                    "grouping columns (one window state per distinct combination); absent = one "
                    "global group");
    auto& time = spec.field("time", option_kind::object)
                         .require()
                         .describe(
                                 "event time {column, max_out_of_orderness, idle_timeout} or "
                                 "processing time {processing: true}");
    auto& t = time.fields();
    t.field("column", option_kind::string)
            .describe("event-time column: timestamp_ms or int64 milliseconds");
    t.field("processing", option_kind::boolean)
            .defaults("false")
            .describe("true: event time is the wall clock when a batch arrives");
    t.field("max_out_of_orderness", option_kind::duration)
            .defaults("0s")
            .describe("when a batch carries no watermark: watermark = max event time seen - this");
    t.field("idle_timeout", option_kind::duration)
            .defaults("0s")
            .describe(
                    "an input stream silent this long (processing time) stops holding the "
                    "watermark back; 0s = never");

    auto& window = spec.field("window", option_kind::object)
                           .require()
                           .describe("{kind, size, slide, gap, allowed_lateness}");
    auto& w = window.fields();
    w.field("kind", option_kind::string)
            .require()
            .one_of({"tumbling", "hopping", "session"})
            .describe(
                    "tumbling (size), hopping (size + slide) or session (gap); aligned to the Unix "
                    "epoch");
    w.field("size", option_kind::duration)
            .at_least(one_ms_ns)
            .describe("tumbling/hopping: window length");
    w.field("slide", option_kind::duration)
            .at_least(one_ms_ns)
            .describe("hopping: distance between window starts, <= size");
    w.field("gap", option_kind::duration)
            .at_least(one_ms_ns)
            .describe("session: a pause this long closes a session");
    w.field("allowed_lateness", option_kind::duration)
            .defaults("0s")
            .describe(
                    "records up to this far behind the watermark still update (and re-fire) their "
                    "window");

    auto& aggregates = spec.field("aggregates", option_kind::map_of_objects)
                               .require()
                               .describe(
                                       "output column -> {function: column}, e.g. {mean: "
                                       "temperature}, {count: \"*\"}, "
                                       "{quantile: temperature, q: 0.95}");
    auto& a = aggregates.fields();
    a.field("count", option_kind::string)
            .describe("non-missing values of a column, or \"*\" for rows (int64)");
    a.field("sum", option_kind::string).describe("sum of a numeric column (float64)");
    a.field("mean", option_kind::string).describe("arithmetic mean of a numeric column (float64)");
    a.field("min", option_kind::string).describe("smallest value of a numeric column");
    a.field("max", option_kind::string).describe("largest value of a numeric column");
    a.field("stddev", option_kind::string)
            .describe("sample standard deviation of a numeric column (float64)");
    a.field("first", option_kind::string).describe("value with the earliest event time");
    a.field("last", option_kind::string).describe("value with the latest event time");
    a.field("quantile", option_kind::string)
            .describe("q-quantile of a numeric column from a DDSketch (float64)");
    a.field("q", option_kind::number).describe("quantile: which one, 0 < q < 1 (0.95 = p95)");
    a.field("relative_error", option_kind::number)
            .defaults("0.01")
            .at_least(0.0001)
            .at_most(0.5)
            .describe("quantile: guaranteed relative error of the sketch");
    a.field("max_bins", option_kind::integer)
            .defaults("2048")
            .at_least(16)
            .at_most(1 << 20)
            .describe("quantile: bins per sign before the lowest are collapsed (8 bytes each)");

    spec.field("late", option_kind::string)
            .defaults("dead_letter")
            .one_of({"dead_letter", "side_output"})
            .describe(
                    "where records later than allowed_lateness go: the pipeline's dead-letter sink "
                    "(reason "
                    "'late'), or side_output: unchanged to this window's side output 'late', read "
                    "as "
                    "inputs: [<id>.late]");

    spec.check(check_time_object);
    spec.check(check_window_object);
    spec.check(check_aggregates);
}

window_config window_transform::config_from(const options& opts) {
    window_config c;
    if (opts.is_set("key")) {
        c.key = opts.get_string_list("key");
    }
    const options t = opts.child("time");
    c.processing_time = t.get_bool("processing");
    if (t.is_set("column")) {
        c.time_column = t.get_string("column");
    }
    c.max_out_of_orderness = ms_of(t, "max_out_of_orderness");
    c.idle_timeout = ms_of(t, "idle_timeout");
    const options w = opts.child("window");
    const std::string kind = w.get_string("kind");
    c.kind = kind == "tumbling"  ? window_kind::tumbling
             : kind == "hopping" ? window_kind::hopping
                                 : window_kind::session;
    if (w.is_set("size")) {
        c.size = ms_of(w, "size");
    }
    if (w.is_set("slide")) {
        c.slide = ms_of(w, "slide");
    }
    if (w.is_set("gap")) {
        c.gap = ms_of(w, "gap");
    }
    c.allowed_lateness = ms_of(w, "allowed_lateness");
    c.late = opts.get_string("late") == "side_output" ? late_policy::side_output
                                                      : late_policy::dead_letter;
    for (const auto& [name, a] : opts.children("aggregates")) {
        aggregate_spec s;
        s.name = name;
        for (const auto& f : function_fields()) {
            if (a.is_set(f)) {
                s.function = *parse_aggregate_function(f);
                s.column = a.get_string(f);
            }
        }
        if (a.is_set("q")) {
            s.q = a.get_number("q");
        }
        s.relative_error = a.get_number("relative_error");
        s.max_bins = static_cast<std::size_t>(a.get_int("max_bins"));
        c.aggregates.push_back(std::move(s));
    }
    return c;
}

void register_window_operators(operator_registry& registry) {
    registry.add_transform(
            std::string(window_transform::type_name),
            "groups records into tumbling, hopping or session windows on event time "
            "and aggregates them (count, sum, mean, min, max, stddev, first, last, quantile)",
            window_transform::describe,
            [](const options& opts, build_context&) -> std::unique_ptr<transform> {
                return std::make_unique<window_transform>(window_transform::config_from(opts));
            });
}

}  // namespace sluice
