#include "dashboard_state.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

namespace sluice::dashboard_detail {
namespace {

constexpr double baseline_weight = 0.05;  // EWMA: the baseline follows ~20 readings
constexpr float no_value = std::numeric_limits<float>::quiet_NaN();

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

histogram make_histogram(double low, double step, std::size_t bins) {
    return {low, step, std::vector<std::uint32_t>(bins, 0), std::vector<std::uint32_t>(bins, 0)};
}

void count_value(histogram& h, float value, bool anomalous, int delta) {
    if (std::isnan(value)) {
        return;
    }
    const auto last = static_cast<double>(h.normal.size() - 1);
    const auto bin =
            static_cast<std::size_t>(std::clamp(std::floor((value - h.low) / h.step), 0.0, last));
    auto& counts = anomalous ? h.anomalous : h.normal;
    counts[bin] = static_cast<std::uint32_t>(static_cast<std::int64_t>(counts[bin]) + delta);
}

void widen(float& low, float& high, std::uint32_t& n, double& sum, double value) {
    if (std::isnan(value)) {
        return;
    }
    const auto v = static_cast<float>(value);
    low = n == 0 ? v : std::min(low, v);
    high = n == 0 ? v : std::max(high, v);
    sum += value;
    ++n;
}

}  // namespace

std::string_view to_string(severity level) noexcept {
    switch (level) {
        case severity::none:
            return "none";
        case severity::low:
            return "low";
        case severity::medium:
            return "medium";
        case severity::high:
            return "high";
        case severity::critical:
            return "critical";
    }
    return "none";
}

severity severity_from_label(std::string_view label) noexcept {
    if (label.empty()) {
        return severity::none;
    }
    for (const std::string_view name : {"critical", "severe", "fatal"}) {
        if (iequals(label, name)) {
            return severity::critical;
        }
    }
    for (const std::string_view name : {"high", "major", "error"}) {
        if (iequals(label, name)) {
            return severity::high;
        }
    }
    for (const std::string_view name : {"low", "minor", "info"}) {
        if (iequals(label, name)) {
            return severity::low;
        }
    }
    return severity::medium;
}

dashboard_state::dashboard_state(state_limits limits)
    : limits_(limits)
    , temperature_(make_histogram(-20.0, 0.5, 200))  // -20..80 degrees C
    , humidity_(make_histogram(0.0, 1.0, 101)) {}    // 0..100 %

std::uint32_t dashboard_state::find_or_add(std::string_view id, std::string_view location) {
    if (const auto it = index_.find(id); it != index_.end()) {
        return it->second;
    }
    if (sensors_.size() >= limits_.max_sensors) {
        return untracked;
    }
    auto& s = sensors_.emplace_back();
    s.id = std::string(id);
    s.location = std::string(location);  // the first location seen stays: names are sent once
    s.ring.reserve(limits_.history);
    const auto index = static_cast<std::uint32_t>(sensors_.size() - 1);
    index_.emplace(s.id, index);
    return index;
}

severity dashboard_state::classify(const sensor& s, const observation& row, float& score) const {
    const auto by_score = [this](double value) {
        const auto& t = limits_.severity_thresholds;
        return value < t[0]   ? severity::low
               : value < t[1] ? severity::medium
               : value < t[2] ? severity::high
                              : severity::critical;
    };
    score = no_value;
    if (!row.severity_label.empty()) {
        if (row.score >= 0) {
            score = static_cast<float>(row.score);
        }
        return severity_from_label(row.severity_label);
    }
    if (row.score >= 0) {
        score = static_cast<float>(row.score);
        return by_score(row.score);
    }
    if (s.has_baseline && !std::isnan(row.temperature)) {
        const double deviation =
                std::min(std::abs(row.temperature - s.baseline) / limits_.deviation_scale, 1.0);
        score = static_cast<float>(deviation);
        return by_score(deviation);
    }
    return severity::medium;  // nothing to judge by yet
}

void dashboard_state::count_in_histograms(const point& p, int delta) {
    const bool anomalous = p.level != severity::none;
    count_value(temperature_, p.temperature, anomalous, delta);
    count_value(humidity_, p.humidity, anomalous, delta);
}

void dashboard_state::roll_buckets(std::int64_t now_ms) {
    if (open_.count != 0 && now_ms >= open_.start_ms + limits_.bucket_ms) {
        buckets_.push_back(open_);
        while (buckets_.size() > limits_.fleet_buckets) {
            buckets_.pop_front();
        }
        open_ = {};
    }
}

void dashboard_state::add(std::span<const observation> rows, std::int64_t now_ms) {
    const std::lock_guard lock(mutex_);
    roll_buckets(now_ms);
    if (open_.count == 0) {
        open_.start_ms = now_ms - now_ms % limits_.bucket_ms;
    }
    ++version_;
    for (const auto& row : rows) {
        if (row.sensor.empty()) {
            ++totals_.skipped_rows;
            continue;
        }
        ++totals_.events;
        ++open_.count;
        if (row.anomaly) {
            ++totals_.anomalies;
            ++open_.anomalies;
        }
        widen(open_.temperature_min,
              open_.temperature_max,
              open_.temperature_n,
              open_.temperature_sum,
              row.temperature);
        widen(open_.humidity_min,
              open_.humidity_max,
              open_.humidity_n,
              open_.humidity_sum,
              row.humidity);

        const std::uint32_t index = find_or_add(row.sensor, row.location);
        if (index == untracked) {
            ++totals_.untracked_events;
            continue;
        }
        sensor* s = &sensors_[index];
        point p{row.time_ms,
                static_cast<float>(row.temperature),
                static_cast<float>(row.humidity),
                severity::none};
        if (row.anomaly) {
            float score = no_value;
            p.level = classify(*s, row, score);
            ++s->anomalies;
            s->last_anomaly_wall_ms = now_ms;
            s->last_level = p.level;
            alerts_.push_back({next_alert_id_++,
                               now_ms,
                               row.time_ms,
                               index,
                               p.temperature,
                               p.humidity,
                               score,
                               p.level});
            if (alerts_.size() > limits_.max_alerts) {
                alerts_.pop_front();
                ++totals_.alerts_evicted;
            }
        } else if (!std::isnan(row.temperature)) {
            s->baseline = s->has_baseline
                                  ? s->baseline + baseline_weight * (row.temperature - s->baseline)
                                  : row.temperature;
            s->has_baseline = true;
        }
        if (s->ring.size() < limits_.history) {
            s->ring.push_back(p);
        } else {
            auto& slot = s->ring[s->appended % limits_.history];
            count_in_histograms(slot, -1);
            slot = p;
        }
        count_in_histograms(p, +1);
        ++s->appended;
        ++s->count;
        s->version = version_;
    }
    totals_.sensors = sensors_.size();
}

sensor_summary dashboard_state::summarize(std::uint32_t index) const {
    const auto& s = sensors_[index];
    sensor_summary out;
    out.index = index;
    if (s.appended != 0) {
        out.last = s.ring[(s.appended - 1) % limits_.history];
    }
    out.count = s.count;
    out.anomalies = s.anomalies;
    out.last_anomaly_wall_ms = s.last_anomaly_wall_ms;
    out.last_level = s.last_level;
    return out;
}

void dashboard_state::copy_history(const sensor& s,
                                   std::uint64_t from,
                                   std::vector<point>& out) const {
    const std::uint64_t oldest = s.appended - s.ring.size();
    for (std::uint64_t i = std::max(from, oldest); i < s.appended; ++i) {
        out.push_back(s.ring[i % limits_.history]);
    }
}

bool dashboard_state::read(cursor& c, std::int64_t now_ms, delta& out) {
    const std::lock_guard lock(mutex_);
    roll_buckets(now_ms);
    const bool new_buckets = !buckets_.empty() && buckets_.back().start_ms > c.bucket_start;
    if (c.started && c.version == version_ && !new_buckets) {
        return false;
    }
    out = {};
    out.now_ms = now_ms;
    out.totals = totals_;
    for (std::size_t i = c.sensors_known; i < sensors_.size(); ++i) {
        out.new_sensors.emplace_back(sensors_[i].id, sensors_[i].location);
    }
    c.sensors_known = sensors_.size();
    for (std::uint32_t i = 0; i < sensors_.size(); ++i) {
        if (sensors_[i].version > c.version || !c.started) {
            out.sensors.push_back(summarize(i));
        }
    }
    for (const auto& b : buckets_) {
        if (b.start_ms > c.bucket_start) {
            out.buckets.push_back(b);
        }
    }
    if (!buckets_.empty()) {
        c.bucket_start = buckets_.back().start_ms;
    }
    const auto first_new = std::find_if(
            alerts_.begin(), alerts_.end(), [&](const alert& a) { return a.id > c.alert_id; });
    out.alerts.assign(first_new, alerts_.end());
    out.alerts_gap = c.started && !out.alerts.empty() && out.alerts.front().id > c.alert_id + 1;
    if (!alerts_.empty()) {
        c.alert_id = std::max(c.alert_id, alerts_.back().id);
    }
    if (c.version != version_ || !c.started) {
        out.histograms = true;
        out.temperature = temperature_;
        out.humidity = humidity_;
    }
    if (!c.watch.empty()) {
        if (const auto it = index_.find(c.watch); it != index_.end()) {
            const auto& s = sensors_[it->second];
            out.watch_found = true;
            const std::uint64_t oldest = s.appended - s.ring.size();
            out.watch_reset = c.watch_appended == 0 || c.watch_appended < oldest;
            copy_history(s, out.watch_reset ? 0 : c.watch_appended, out.watch_points);
            c.watch_appended = s.appended;
        }
    }
    c.version = version_;
    c.started = true;
    return true;
}

bool dashboard_state::sensor_history(std::string_view id,
                                     std::vector<point>& points,
                                     sensor_summary& summary,
                                     std::string& location) const {
    const std::lock_guard lock(mutex_);
    const auto it = index_.find(id);
    if (it == index_.end()) {
        return false;
    }
    points.clear();
    copy_history(sensors_[it->second], 0, points);
    summary = summarize(it->second);
    location = sensors_[it->second].location;
    return true;
}

struct totals dashboard_state::totals() const {
    const std::lock_guard lock(mutex_);
    return totals_;
}

std::size_t dashboard_state::memory_bytes() const {
    const std::lock_guard lock(mutex_);
    std::size_t bytes = sizeof(*this);
    for (const auto& s : sensors_) {
        bytes += sizeof(s) + s.ring.capacity() * sizeof(point) + s.id.capacity() +
                 s.location.capacity();
        bytes += sizeof(std::uint32_t) + s.id.capacity() + 2 * sizeof(void*);  // index entry
    }
    bytes += alerts_.size() * sizeof(alert) + buckets_.size() * sizeof(fleet_bucket);
    bytes += (temperature_.normal.size() + humidity_.normal.size()) * 2 * sizeof(std::uint32_t);
    return bytes;
}

}  // namespace sluice::dashboard_detail
