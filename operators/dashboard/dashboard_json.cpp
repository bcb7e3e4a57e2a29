#include "dashboard_json.hpp"

#include <sluice/core/row_json.hpp>

#include <fmt/format.h>

#include <cmath>

namespace sluice::dashboard_detail {
namespace {

void append_key(std::string& out, std::string_view key, bool first = false) {
    if (!first) {
        out += ',';
    }
    append_json_string(out, key);
    out += ':';
}

void append_point(std::string& out, const point& p) {
    out += '[';
    append_json_int(out, p.time_ms);
    out += ',';
    append_fixed(out, p.temperature, 2);
    out += ',';
    append_fixed(out, p.humidity, 1);
    out += ',';
    append_json_int(out, static_cast<int>(p.level));
    out += ']';
}

// [index, time_ms, temperature, humidity, level of the last reading, count, anomalies,
//  last anomaly wall ms, level of the last anomaly]
void append_summary(std::string& out, const sensor_summary& s) {
    fmt::format_to(std::back_inserter(out), "[{},{},", s.index, s.last.time_ms);
    append_fixed(out, s.last.temperature, 2);
    out += ',';
    append_fixed(out, s.last.humidity, 1);
    fmt::format_to(std::back_inserter(out),
                   ",{},{},{},{},{}]",
                   static_cast<int>(s.last.level),
                   s.count,
                   s.anomalies,
                   s.last_anomaly_wall_ms,
                   static_cast<int>(s.last_level));
}

void append_counts(std::string& out, const std::vector<std::uint32_t>& counts) {
    out += '[';
    for (std::size_t i = 0; i < counts.size(); ++i) {
        fmt::format_to(std::back_inserter(out), "{}{}", i == 0 ? "" : ",", counts[i]);
    }
    out += ']';
}

void append_histogram(std::string& out, const histogram& h) {
    out += "{\"low\":";
    append_json_double(out, h.low);
    out += ",\"step\":";
    append_json_double(out, h.step);
    out += ",\"normal\":";
    append_counts(out, h.normal);
    out += ",\"anomalous\":";
    append_counts(out, h.anomalous);
    out += '}';
}

void append_optional_string(std::string& out, const std::string& value) {
    if (value.empty()) {
        out += "null";
    } else {
        append_json_string(out, value);
    }
}

}  // namespace

void append_fixed(std::string& out, double value, int decimals) {
    if (std::isnan(value) || std::isinf(value)) {
        out += "null";
        return;
    }
    const auto start = out.size();
    fmt::format_to(std::back_inserter(out), "{:.{}f}", value, decimals);
    // "21.50" -> "21.5", "21.00" -> "21": shorter frames, same numbers.
    if (out.find('.', start) != std::string::npos) {
        while (out.back() == '0') {
            out.pop_back();
        }
        if (out.back() == '.') {
            out.pop_back();
        }
    }
    if (out.compare(start, std::string::npos, "-0") == 0) {
        out.replace(start, 2, "0");
    }
}

void append_view_json(std::string& out, const dashboard_channel& channel) {
    const auto view = channel.view();
    const auto& limits = channel.state().limits();
    out += '{';
    append_key(out, "id", true);
    append_json_string(out, channel.id());
    append_key(out, "columns");
    out += '{';
    append_key(out, "sensor", true);
    append_optional_string(out, view.sensor_column);
    append_key(out, "location");
    append_optional_string(out, view.location_column);
    append_key(out, "time");
    append_optional_string(out, view.time_column);
    append_key(out, "temperature");
    append_optional_string(out, view.temperature_column);
    append_key(out, "humidity");
    append_optional_string(out, view.humidity_column);
    append_key(out, "anomaly");
    append_optional_string(out, view.anomaly_column);
    append_key(out, "severity");
    append_optional_string(out, view.severity_column);
    out += '}';
    append_key(out, "bands");
    fmt::format_to(std::back_inserter(out),
                   R"({{"temperature":[{},{}],"humidity":[{},{}]}})",
                   view.temperature_low,
                   view.temperature_high,
                   view.humidity_low,
                   view.humidity_high);
    append_key(out, "limits");
    fmt::format_to(std::back_inserter(out),
                   "{{\"history\":{},\"max_sensors\":{},\"max_alerts\":{},\"fleet_buckets\":{},"
                   "\"bucket_ms\":{},"
                   "\"severity_thresholds\":[{},{},{}],\"deviation_scale\":{}}}",
                   limits.history,
                   limits.max_sensors,
                   limits.max_alerts,
                   limits.fleet_buckets,
                   limits.bucket_ms,
                   limits.severity_thresholds[0],
                   limits.severity_thresholds[1],
                   limits.severity_thresholds[2],
                   limits.deviation_scale);
    out += '}';
}

void append_delta_json(std::string& out, const delta& d) {
    const auto& t = d.totals;
    fmt::format_to(std::back_inserter(out),
                   "{{\"now\":{},\"totals\":{{\"events\":{},\"anomalies\":{},\"sensors\":{},"
                   "\"untracked_events\":{},"
                   "\"skipped_rows\":{},\"alerts_evicted\":{}}}",
                   d.now_ms,
                   t.events,
                   t.anomalies,
                   t.sensors,
                   t.untracked_events,
                   t.skipped_rows,
                   t.alerts_evicted);
    if (!d.new_sensors.empty()) {
        append_key(out, "new_sensors");
        out += '[';
        for (std::size_t i = 0; i < d.new_sensors.size(); ++i) {
            out += i == 0 ? "[" : ",[";
            append_json_string(out, d.new_sensors[i].first);
            out += ',';
            append_json_string(out, d.new_sensors[i].second);
            out += ']';
        }
        out += ']';
    }
    append_key(out, "sensors");
    out += '[';
    for (std::size_t i = 0; i < d.sensors.size(); ++i) {
        if (i != 0) {
            out += ',';
        }
        append_summary(out, d.sensors[i]);
    }
    out += ']';
    // [start ms, count, anomalies, t min, t mean, t max, h min, h mean, h max]
    append_key(out, "buckets");
    out += '[';
    for (std::size_t i = 0; i < d.buckets.size(); ++i) {
        const auto& b = d.buckets[i];
        fmt::format_to(std::back_inserter(out),
                       "{}[{},{},{}",
                       i == 0 ? "" : ",",
                       b.start_ms,
                       b.count,
                       b.anomalies);
        const auto nan = std::nan("");
        const double t_mean = b.temperature_n ? b.temperature_sum / b.temperature_n : nan;
        const double h_mean = b.humidity_n ? b.humidity_sum / b.humidity_n : nan;
        for (const auto& [value, decimals] :
             {std::pair{b.temperature_n ? b.temperature_min : nan, 2},
              {t_mean, 2},
              {b.temperature_n ? b.temperature_max : nan, 2},
              {b.humidity_n ? b.humidity_min : nan, 1},
              {h_mean, 1},
              {b.humidity_n ? b.humidity_max : nan, 1}}) {
            out += ',';
            append_fixed(out, value, decimals);
        }
        out += ']';
    }
    out += ']';
    // [id, wall ms, time ms, sensor index, temperature, humidity, score, level]
    append_key(out, "alerts");
    out += '[';
    for (std::size_t i = 0; i < d.alerts.size(); ++i) {
        const auto& a = d.alerts[i];
        fmt::format_to(std::back_inserter(out),
                       "{}[{},{},{},{},",
                       i == 0 ? "" : ",",
                       a.id,
                       a.wall_ms,
                       a.time_ms,
                       a.sensor);
        append_fixed(out, a.temperature, 2);
        out += ',';
        append_fixed(out, a.humidity, 1);
        out += ',';
        append_fixed(out, a.score, 3);
        fmt::format_to(std::back_inserter(out), ",{}]", static_cast<int>(a.level));
    }
    out += ']';
    if (d.alerts_gap) {
        out += ",\"alerts_gap\":true";
    }
    if (d.histograms) {
        append_key(out, "histograms");
        out += "{\"temperature\":";
        append_histogram(out, d.temperature);
        out += ",\"humidity\":";
        append_histogram(out, d.humidity);
        out += '}';
    }
    if (d.watch_found) {
        append_key(out, "watch");
        fmt::format_to(std::back_inserter(out), R"({{"reset":{},"points":[)", d.watch_reset);
        for (std::size_t i = 0; i < d.watch_points.size(); ++i) {
            if (i != 0) {
                out += ',';
            }
            append_point(out, d.watch_points[i]);
        }
        out += "]}";
    }
    out += '}';
}

void append_sensor_json(std::string& out,
                        std::string_view id,
                        std::string_view location,
                        const sensor_summary& summary,
                        const std::vector<point>& points) {
    out += "{\"id\":";
    append_json_string(out, id);
    out += ",\"location\":";
    append_json_string(out, location);
    out += ",\"summary\":";
    append_summary(out, summary);
    out += ",\"points\":[";
    for (std::size_t i = 0; i < points.size(); ++i) {
        if (i != 0) {
            out += ',';
        }
        append_point(out, points[i]);
    }
    out += "]}";
}

}  // namespace sluice::dashboard_detail
