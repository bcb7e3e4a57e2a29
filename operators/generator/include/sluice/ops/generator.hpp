#pragma once

#include <sluice/core/batch.hpp>
#include <sluice/core/schema.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace sluice {

class operator_registry;

/// Registers the `generator` source (a simulated sensor fleet).
void register_generator_operators(operator_registry& registry);

/// 2026-01-01T00:00:00Z in ms: the default start of simulated event time, so that output is
/// reproducible from run to run.
inline constexpr std::int64_t simulator_default_start_ms = 1'767'225'600'000;

/// Settings of a simulated sensor fleet. Same settings (seed included), same readings in the
/// same order, on every platform.
struct simulator_config {
    std::size_t sensors = 100;                                ///< number of sensors, 1..1,000,000
    std::uint64_t seed = 42;                                  ///< seeds every random choice
    std::int64_t start_time_ms = simulator_default_start_ms;  ///< event time of the first tick
    std::int64_t interval_ms = 1000;  ///< event-time spacing of one sensor's readings, >= 1
    double anomaly_rate = 0.01;       ///< fraction of readings that are spikes, 0..1
    double out_of_order = 0.0;        ///< fraction of readings that arrive late, 0..1
    std::int64_t max_delay_ms = 0;    ///< a late reading arrives at most this much late, >= 0
    std::size_t buildings = 0;        ///< buildings the sensors are spread over; 0 = sensors/25
    std::size_t floors = 5;           ///< floors per building, >= 1
};

/// One reading of one sensor. Temperatures are rounded to 0.01 °C and humidities to 0.1 %,
/// as real sensors report them, so their JSON text is short and reads back to the same double.
struct sensor_reading {
    std::uint32_t sensor = 0;       ///< sensor index, 0..sensors-1 (see sensor_id())
    std::int64_t timestamp_ms = 0;  ///< event time, ms since the Unix epoch
    double temperature = 0;         ///< °C
    double humidity = 0;            ///< relative humidity, %, 0..100
    std::int64_t hour_of_day = 0;   ///< 0..23, UTC, of timestamp_ms
    std::int64_t day_of_week = 0;   ///< 0 = Monday .. 6 = Sunday, UTC, of timestamp_ms
    std::int64_t status_flag = 0;   ///< 0 ok, 1 warning, 2 error
    bool is_anomaly = false;        ///< ground truth: the reading is a spike
};

/// A simulated fleet of temperature/humidity sensors spread over buildings and floors.
///
/// Every sensor reports once per `interval` of event time (sensors are staggered within the
/// interval, so in-order event time never decreases). Temperatures follow a daily cycle
/// (peak mid-afternoon, cooler weekends) around a per-sensor base with noise and a slow
/// per-sensor drift; humidity moves against temperature. Faults: stuck sensors repeat their
/// last reading for a while, dropouts silence a sensor for a while, spikes (`is_anomaly`,
/// a fraction `anomaly_rate` of readings, more on some sensors than others) jump far from the
/// normal range. `status_flag` is derived from the readings through thresholds, with a little
/// measurement and label noise, so a classifier can learn it but not perfectly.
///
/// Out-of-order arrival: a fraction `out_of_order` of readings is held back and delivered once
/// the in-order stream has advanced by a random delay of 1..`max_delay_ms`, so every reading's
/// event time is greater than (max event time delivered before it) − `max_delay_ms`.
///
/// Not thread-safe: one simulator per thread. Cost: tens of nanoseconds per reading.
class sensor_simulator {
public:
    /// Preconditions: sensors >= 1, interval_ms >= 1, floors >= 1, rates in 0..1, max_delay_ms
    /// >= 0 (the generator's option spec enforces them; out-of-range values are clamped).
    explicit sensor_simulator(simulator_config config);
    ~sensor_simulator();
    sensor_simulator(const sensor_simulator&) = delete;
    sensor_simulator& operator=(const sensor_simulator&) = delete;
    sensor_simulator(sensor_simulator&&) noexcept;
    sensor_simulator& operator=(sensor_simulator&&) noexcept;

    const simulator_config& config() const noexcept;

    /// The next reading in arrival order. The stream never ends.
    sensor_reading next();

    /// Readings returned so far; the sequence number of the next one.
    std::uint64_t produced() const noexcept;
    /// Largest event time returned so far (`no_watermark` before the first reading).
    std::int64_t max_event_time_ms() const noexcept;

    /// "sensor-0001" ... (1-based, at least 4 digits).
    std::string_view sensor_id(std::uint32_t sensor) const;
    /// "building-1/floor-1" ...
    std::string_view location(std::uint32_t sensor) const;

    /// Appends `reading` as one JSON object, fields in `columns_schema()` order, no newline:
    /// {"sensor_id":"sensor-0001","temperature":21.37,"humidity":45.2,"timestamp":1767225600000,
    ///  "hour_of_day":0,"day_of_week":3,"status_flag":0,"location":"building-1/floor-1",
    ///  "is_anomaly":false}
    void append_json(std::string& out, const sensor_reading& reading) const;

    /// sensor_id string, temperature float64, humidity float64, timestamp timestamp_ms,
    /// hour_of_day int64, day_of_week int64, status_flag int64, location string,
    /// is_anomaly bool. None nullable.
    static const schema_ptr& columns_schema();
    /// key string (the sensor id), value string (the JSON of `append_json`): a Kafka message.
    static const schema_ptr& json_schema();
    /// Index of `timestamp` in columns_schema().
    static constexpr std::size_t timestamp_column = 3;

    /// The next `count` readings as a batch of `columns_schema()` with the event-time column
    /// set (watermark and lineage are left to the caller).
    batch next_columns(std::size_t count);
    /// The next `count` readings as a batch of `json_schema()`.
    batch next_json(std::size_t count);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice
