#include "dashboard_hub.hpp"

#include <sluice/operator/registry.hpp>
#include <sluice/ops/dashboard.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <optional>

namespace sluice {
namespace dashboard_detail {
namespace {

void describe_dashboard_sink(option_spec& spec) {
    spec.field("sensor_column", option_kind::string)
            .defaults("sensor_id")
            .describe("string column naming the sensor");
    spec.field("location_column", option_kind::string)
            .defaults("location")
            .describe(
                    "string column such as 'building-2/floor-3' (the heat map's rows/columns); "
                    "optional");
    spec.field("time_column", option_kind::string)
            .defaults("timestamp")
            .describe("event time (timestamp_ms or int64 ms); without it, the arrival time");
    spec.field("temperature_column", option_kind::string)
            .defaults("temperature")
            .describe("numeric column, degrees C");
    spec.field("humidity_column", option_kind::string)
            .defaults("humidity")
            .describe("numeric column, percent");
    spec.field("anomaly_column", option_kind::string)
            .defaults("is_anomaly")
            .describe(
                    "anomaly flag: bool, int64 (non-zero) or float64 (>= 0.5), e.g. anomaly_label");
    spec.field("severity_column", option_kind::string)
            .describe(
                    "optional: a string level (low/medium/high/critical) or a 0..1 score such as "
                    "anomaly_probability; default: the deviation from the sensor's baseline");
    spec.field("severity_medium", option_kind::number)
            .defaults("0.25")
            .at_least(0)
            .at_most(1)
            .describe("scores from here up are 'medium' (below: 'low')");
    spec.field("severity_high", option_kind::number)
            .defaults("0.5")
            .at_least(0)
            .at_most(1)
            .describe("scores from here up are 'high'");
    spec.field("severity_critical", option_kind::number)
            .defaults("0.75")
            .at_least(0)
            .at_most(1)
            .describe("scores from here up are 'critical'");
    spec.field("deviation_scale", option_kind::number)
            .defaults("20")
            .at_least(0.001)
            .describe(
                    "without severity_column: degrees C of deviation from the sensor's baseline "
                    "that score 1");
    spec.field("history", option_kind::integer)
            .defaults("300")
            .at_least(10)
            .at_most(100000)
            .describe("readings kept per sensor (16 bytes each)");
    spec.field("max_sensors", option_kind::integer)
            .defaults("10000")
            .at_least(1)
            .at_most(1000000)
            .describe("sensors tracked; readings of further sensors are counted but not kept");
    spec.field("max_alerts", option_kind::integer)
            .defaults("2000")
            .at_least(10)
            .at_most(1000000)
            .describe("alerts kept in the alert history (newest)");
    spec.field("temperature_low", option_kind::number)
            .defaults("17.5")
            .describe("lower edge of the normal temperature band, degrees C");
    spec.field("temperature_high", option_kind::number)
            .defaults("25.5")
            .describe("upper edge of the normal temperature band, degrees C");
    spec.field("humidity_low", option_kind::number)
            .defaults("30")
            .describe("lower edge of the normal humidity band, percent");
    spec.field("humidity_high", option_kind::number)
            .defaults("62")
            .describe("upper edge of the normal humidity band, percent");
    spec.check([](const options& opts, diagnostics_collector& out) {
        const auto medium = opts.get_number("severity_medium");
        const auto high = opts.get_number("severity_high");
        const auto critical = opts.get_number("severity_critical");
        if (!(medium <= high && high <= critical)) {
            out.add(opts.error("severity_high",
                               "cross-field",
                               fmt::format("severity thresholds must not decrease: medium {} <= "
                                           "high {} <= critical {}",
                                           medium,
                                           high,
                                           critical)));
        }
        for (const auto* band : {"temperature", "humidity"}) {
            const auto low = opts.get_number(fmt::format("{}_low", band));
            const auto top = opts.get_number(fmt::format("{}_high", band));
            if (!(low < top)) {
                out.add(opts.error(fmt::format("{}_high", band),
                                   "cross-field",
                                   fmt::format("'{}_high' ({}) must be above '{}_low' ({})",
                                               band,
                                               top,
                                               band,
                                               low)));
            }
        }
    });
}

std::string describe_columns(const schema& s) {
    std::string out;
    for (const auto& f : s.fields()) {
        fmt::format_to(std::back_inserter(out),
                       "{}{}: {}",
                       out.empty() ? "" : ", ",
                       f.name,
                       to_string(f.type));
    }
    return out;
}

/// The `dashboard` sink: reads the configured columns of each batch into observations and adds
/// them to its channel under one lock. It never waits for a browser: readers copy out what
/// changed and format it on their own threads.
class dashboard_sink final : public sink {
public:
    dashboard_sink(const options& opts, const std::string& pipeline)
        : opts_(opts)
        , channel_(std::make_shared<dashboard_channel>(
                  pipeline, opts.operator_id(), limits_from(opts))) {
        dashboard_hub::global().add(channel_);
    }

    operator_traits traits() const override { return {concurrency::serial, false}; }

    void bind(const schema_ptr& input, bind_context& ctx) override {
        const auto& s = *input;
        dashboard_view view;
        // A column named by default may be absent (the page leaves it out); one named in the
        // configuration must exist with a usable type.
        const auto pick = [&](const char* key,
                              std::initializer_list<data_type> types,
                              const char* wanted,
                              std::string& name) -> std::optional<std::size_t> {
            const auto column = opts_.get_string(key);
            const auto index = s.index_of(column);
            if (!index) {
                if (opts_.is_set(key) && !column.empty()) {
                    ctx.error(key,
                              "unknown-column",
                              fmt::format("'{}' names unknown column '{}' (columns: {{{}}})",
                                          key,
                                          column,
                                          describe_columns(s)));
                }
                return std::nullopt;
            }
            const auto type = s.at(*index).type;
            if (std::find(types.begin(), types.end(), type) == types.end()) {
                ctx.error(key,
                          "wrong-type",
                          fmt::format("'{}' column '{}' must be {}, found {}",
                                      key,
                                      column,
                                      wanted,
                                      to_string(type)));
                return std::nullopt;
            }
            name = column;
            return index;
        };
        sensor_ = pick("sensor_column", {data_type::string}, "string", view.sensor_column);
        if (!sensor_ && !opts_.is_set("sensor_column") &&
            !s.index_of(opts_.get_string("sensor_column"))) {
            ctx.error("sensor_column",
                      "unknown-column",
                      fmt::format("needs a sensor id column: no column 'sensor_id' (columns: "
                                  "{{{}}}); set 'sensor_column'",
                                  describe_columns(s)));
        }
        location_ = pick("location_column", {data_type::string}, "string", view.location_column);
        time_ = pick("time_column",
                     {data_type::timestamp_ms, data_type::int64},
                     "timestamp_ms or int64",
                     view.time_column);
        const std::initializer_list<data_type> numeric{data_type::float64, data_type::int64};
        temperature_ =
                pick("temperature_column", numeric, "float64 or int64", view.temperature_column);
        humidity_ = pick("humidity_column", numeric, "float64 or int64", view.humidity_column);
        if (!temperature_ && !humidity_ && !opts_.is_set("temperature_column") &&
            !opts_.is_set("humidity_column")) {
            ctx.error("temperature_column",
                      "unknown-column",
                      fmt::format("needs a temperature or humidity column; found neither "
                                  "'temperature' nor "
                                  "'humidity' (columns: {{{}}})",
                                  describe_columns(s)));
        }
        anomaly_ = pick("anomaly_column",
                        {data_type::boolean, data_type::int64, data_type::float64},
                        "bool, int64 or float64",
                        view.anomaly_column);
        if (opts_.is_set("severity_column")) {
            severity_ = pick("severity_column",
                             {data_type::string, data_type::float64, data_type::int64},
                             "string, float64 or int64",
                             view.severity_column);
        }
        view.temperature_low = opts_.get_number("temperature_low");
        view.temperature_high = opts_.get_number("temperature_high");
        view.humidity_low = opts_.get_number("humidity_low");
        view.humidity_high = opts_.get_number("humidity_high");
        channel_->set_view(std::move(view));
    }

    void consume(const batch& input, operator_context& ctx) override {
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
        const auto n = input.num_rows();
        rows_.assign(n, observation{});
        const auto* sensor = &input.column_at(*sensor_);
        for (std::size_t r = 0; r < n; ++r) {
            if (sensor->is_valid(r)) {
                rows_[r].sensor = sensor->string_at(r);
            }
            rows_[r].time_ms = now_ms;
        }
        if (location_) {
            const auto& c = input.column_at(*location_);
            for (std::size_t r = 0; r < n; ++r) {
                if (c.is_valid(r)) {
                    rows_[r].location = c.string_at(r);
                }
            }
        }
        if (time_) {
            const auto& c = input.column_at(*time_);
            const auto values = c.int64_values();
            for (std::size_t r = 0; r < n; ++r) {
                if (c.is_valid(r)) {
                    rows_[r].time_ms = values[r];
                }
            }
        }
        read_numbers(input, temperature_, &observation::temperature);
        read_numbers(input, humidity_, &observation::humidity);
        if (anomaly_) {
            const auto& c = input.column_at(*anomaly_);
            const auto type = input.schema()->at(*anomaly_).type;
            for (std::size_t r = 0; r < n; ++r) {
                if (!c.is_valid(r)) {
                    continue;
                }
                rows_[r].anomaly = type == data_type::boolean ? c.bool_values()[r] != 0
                                   : type == data_type::int64 ? c.int64_values()[r] != 0
                                                              : c.float64_values()[r] >= 0.5;
            }
        }
        if (severity_) {
            const auto& c = input.column_at(*severity_);
            const auto type = input.schema()->at(*severity_).type;
            for (std::size_t r = 0; r < n; ++r) {
                if (!c.is_valid(r)) {
                    continue;
                }
                if (type == data_type::string) {
                    rows_[r].severity_label = c.string_at(r);
                } else {
                    const double v = type == data_type::float64
                                             ? c.float64_values()[r]
                                             : static_cast<double>(c.int64_values()[r]);
                    rows_[r].score = std::isnan(v) ? -1.0 : std::clamp(v, 0.0, 1.0);
                }
            }
        }
        channel_->state().add(rows_, now_ms);

        const auto totals = channel_->state().totals();
        auto& extra = ctx.metrics().extra;
        extra.set("sensors", static_cast<std::int64_t>(totals.sensors));
        extra.add("alerts", static_cast<std::int64_t>(totals.anomalies - published_.anomalies));
        extra.add("untracked_events",
                  static_cast<std::int64_t>(totals.untracked_events - published_.untracked_events));
        extra.add("skipped_rows",
                  static_cast<std::int64_t>(totals.skipped_rows - published_.skipped_rows));
        published_ = totals;
    }

private:
    static state_limits limits_from(const options& opts) {
        state_limits limits;
        limits.history = static_cast<std::size_t>(opts.get_int("history"));
        limits.max_sensors = static_cast<std::size_t>(opts.get_int("max_sensors"));
        limits.max_alerts = static_cast<std::size_t>(opts.get_int("max_alerts"));
        limits.severity_thresholds = {opts.get_number("severity_medium"),
                                      opts.get_number("severity_high"),
                                      opts.get_number("severity_critical")};
        limits.deviation_scale = opts.get_number("deviation_scale");
        return limits;
    }

    void read_numbers(const batch& input,
                      const std::optional<std::size_t>& index,
                      double observation::*field) {
        const auto n = input.num_rows();
        if (!index) {
            for (auto& row : rows_) {
                row.*field = std::nan("");
            }
            return;
        }
        const auto& c = input.column_at(*index);
        const bool is_float = input.schema()->at(*index).type == data_type::float64;
        for (std::size_t r = 0; r < n; ++r) {
            rows_[r].*field = !c.is_valid(r) ? std::nan("")
                              : is_float     ? c.float64_values()[r]
                                             : static_cast<double>(c.int64_values()[r]);
        }
    }

    options opts_;
    std::shared_ptr<dashboard_channel> channel_;
    std::optional<std::size_t> sensor_, location_, time_, temperature_, humidity_, anomaly_,
            severity_;
    std::vector<observation> rows_;  // reused: no allocation per batch once grown
    struct totals published_;        // what the metrics already counted
};

}  // namespace

dashboard_hub& dashboard_hub::global() {
    static dashboard_hub hub;
    return hub;
}

void dashboard_hub::add(const std::shared_ptr<dashboard_channel>& channel) {
    const std::lock_guard lock(mutex_);
    std::erase_if(channels_, [](const auto& weak) { return weak.expired(); });
    channels_.push_back(channel);
}

std::vector<std::shared_ptr<dashboard_channel>> dashboard_hub::find(
        std::string_view pipeline) const {
    const std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<dashboard_channel>> out;
    for (const auto& weak : channels_) {
        if (auto channel = weak.lock(); channel && channel->pipeline() == pipeline) {
            out.push_back(std::move(channel));
        }
    }
    return out;
}

}  // namespace dashboard_detail

void register_dashboard_operators(operator_registry& registry) {
    registry.add_sink("dashboard",
                      "keeps recent readings per sensor for the live web dashboard",
                      dashboard_detail::describe_dashboard_sink,
                      [](const options& opts, build_context& build) -> std::unique_ptr<sink> {
                          return std::make_unique<dashboard_detail::dashboard_sink>(
                                  opts, build.pipeline_name);
                      });
}

}  // namespace sluice
