#pragma once

// The dashboard sink's memory: a bounded recent history per sensor, fleet-wide one-second
// buckets, histograms of the readings held, and the alert history. The sink writes a whole
// batch under one lock; browsers read through a cursor that yields only what changed since
// their previous frame, so a slow browser gets fewer, larger frames and never a queue.

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice::dashboard_detail {

enum class severity : std::uint8_t {
    none,
    low,
    medium,
    high,
    critical
};
std::string_view to_string(severity level) noexcept;
/// "critical"/"severe"/"fatal" -> critical, "high"/"major"/"error" -> high,
/// "medium"/"moderate"/"warning" -> medium, "low"/"minor"/"info" -> low (any case); any
/// other non-empty label -> medium; empty -> none.
severity severity_from_label(std::string_view label) noexcept;

/// Every bound on the state's memory, and how severities are derived.
struct state_limits {
    std::size_t history = 300;  ///< readings kept per sensor
    std::size_t max_sensors =
            10000;  ///< sensors tracked; readings of further ones are counted, not kept
    std::size_t max_alerts = 2000;    ///< alerts kept (newest)
    std::size_t fleet_buckets = 600;  ///< one-second fleet buckets kept (10 minutes)
    std::int64_t bucket_ms = 1000;    ///< width of a fleet bucket, wall-clock ms
    /// Score thresholds of low | medium | high | critical (scores are 0..1).
    std::array<double, 3> severity_thresholds{0.25, 0.5, 0.75};
    /// Without a severity column, an anomaly's score is |temperature - the sensor's baseline|
    /// divided by this many degrees (capped at 1).
    double deviation_scale = 20.0;
};

/// One input row as the sink read it from its columns.
struct observation {
    std::string_view sensor;
    std::string_view location;  ///< "" = unknown
    std::int64_t time_ms = 0;   ///< event time (the arrival time when there is none)
    double temperature = 0;     ///< NaN = missing
    double humidity = 0;        ///< NaN = missing
    bool anomaly = false;
    double score = -1;                ///< 0..1 from a numeric severity column; < 0 = none
    std::string_view severity_label;  ///< from a string severity column; "" = none
};

/// A reading as kept in a sensor's history (floats: 16 bytes a reading).
struct point {
    std::int64_t time_ms = 0;
    float temperature = 0;            ///< NaN = missing
    float humidity = 0;               ///< NaN = missing
    severity level = severity::none;  ///< none = not anomalous
};

struct alert {
    std::uint64_t id = 0;  ///< 1, 2, 3, ... in arrival order
    std::int64_t wall_ms = 0;
    std::int64_t time_ms = 0;
    std::uint32_t sensor = 0;  ///< index into the sensor list
    float temperature = 0;
    float humidity = 0;
    float score = 0;  ///< 0..1
    severity level = severity::medium;
};

struct fleet_bucket {
    std::int64_t start_ms = 0;
    std::uint32_t count = 0;
    std::uint32_t anomalies = 0;
    float temperature_min = 0, temperature_max = 0;
    double temperature_sum = 0;
    std::uint32_t temperature_n = 0;
    float humidity_min = 0, humidity_max = 0;
    double humidity_sum = 0;
    std::uint32_t humidity_n = 0;
};

/// Fixed-bin histogram of the readings currently held in the sensors' histories, normal and
/// anomalous counted apart. Out-of-range values land in the end bins.
struct histogram {
    double low = 0;
    double step = 1;
    std::vector<std::uint32_t> normal;
    std::vector<std::uint32_t> anomalous;
};

/// The latest of one sensor, as a frame carries it.
struct sensor_summary {
    std::uint32_t index = 0;
    point last;
    std::uint64_t count = 0;
    std::uint64_t anomalies = 0;
    std::int64_t last_anomaly_wall_ms = 0;  ///< 0 = never
    severity last_level = severity::none;   ///< of the last anomaly
};

struct totals {
    std::uint64_t events = 0;
    std::uint64_t anomalies = 0;
    std::uint64_t sensors = 0;
    std::uint64_t untracked_events = 0;  ///< readings of sensors past max_sensors
    std::uint64_t skipped_rows = 0;      ///< rows with no sensor id
    std::uint64_t alerts_evicted = 0;
};

/// What one browser has already been sent.
struct cursor {
    std::uint64_t version = 0;         ///< state version of the last frame
    std::size_t sensors_known = 0;     ///< sensor names sent so far
    std::uint64_t alert_id = 0;        ///< newest alert sent
    std::int64_t bucket_start = -1;    ///< newest closed fleet bucket sent
    std::string watch;                 ///< sensor whose readings are streamed ("" = none)
    std::uint64_t watch_appended = 0;  ///< that sensor's readings sent so far
    bool started = false;
};

/// Everything that changed since a cursor, copied out under the lock.
struct delta {
    std::int64_t now_ms = 0;
    struct totals totals;
    std::vector<std::pair<std::string, std::string>>
            new_sensors;  ///< id, location; index = known + i
    std::vector<sensor_summary> sensors;
    std::vector<fleet_bucket> buckets;
    std::vector<alert> alerts;
    bool alerts_gap = false;  ///< some alerts the browser never saw were already evicted
    bool histograms = false;  ///< temperature/humidity below are filled
    histogram temperature;
    histogram humidity;
    bool watch_found = false;
    bool watch_reset = false;  ///< the points are the sensor's whole history, not an append
    std::vector<point> watch_points;
};

/// Thread-safe: `add` from the sink, `read` from any number of browser threads.
class dashboard_state {
public:
    explicit dashboard_state(state_limits limits);

    const state_limits& limits() const noexcept { return limits_; }

    /// Adds one batch's rows, all at wall time `now_ms`.
    void add(std::span<const observation> rows, std::int64_t now_ms);

    /// Fills `out` with what changed since `c` and advances `c`. Returns false (and leaves `c`)
    /// when nothing changed. The first read of a cursor returns everything held.
    bool read(cursor& c, std::int64_t now_ms, delta& out);

    /// A sensor's whole history (oldest first) and summary; false if unknown.
    bool sensor_history(std::string_view id,
                        std::vector<point>& points,
                        sensor_summary& summary,
                        std::string& location) const;

    struct totals totals() const;
    /// Bytes held by histories, alerts and buckets (for the memory bound tests and /metrics).
    std::size_t memory_bytes() const;

private:
    struct sensor {
        std::string id;
        std::string location;
        std::vector<point> ring;  // capacity limits_.history, index appended % capacity
        std::uint64_t appended = 0;
        std::uint64_t version = 0;
        std::uint64_t count = 0;
        std::uint64_t anomalies = 0;
        double baseline = 0;  // EWMA of the normal temperatures
        bool has_baseline = false;
        std::int64_t last_anomaly_wall_ms = 0;
        severity last_level = severity::none;
    };
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    static constexpr std::uint32_t untracked = ~std::uint32_t{0};
    /// The sensor's index, added if new; `untracked` past max_sensors.
    std::uint32_t find_or_add(std::string_view id, std::string_view location);
    severity classify(const sensor& s, const observation& row, float& score) const;
    void count_in_histograms(const point& p, int delta);
    void roll_buckets(std::int64_t now_ms);
    sensor_summary summarize(std::uint32_t index) const;
    void copy_history(const sensor& s, std::uint64_t from, std::vector<point>& out) const;

    state_limits limits_;
    mutable std::mutex mutex_;
    std::deque<sensor> sensors_;  // deque: sensor addresses stay put as it grows
    std::unordered_map<std::string, std::uint32_t, string_hash, std::equal_to<>> index_;
    std::deque<alert> alerts_;
    std::uint64_t next_alert_id_ = 1;
    std::deque<fleet_bucket> buckets_;  // closed buckets, oldest first
    fleet_bucket open_;                 // the bucket being filled (count 0 = none)
    histogram temperature_;
    histogram humidity_;
    std::uint64_t version_ = 0;
    struct totals totals_;
};

}  // namespace sluice::dashboard_detail
