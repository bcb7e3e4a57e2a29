#pragma once

// Small batches of (sensor_id, timestamp, temperature) readings for window tests.

#include <sluice/sluice.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace sluice::testing {

/// sensor_id (string), timestamp (timestamp_ms, nullable), temperature (float64).
inline schema_ptr readings_schema() {
    static const schema_ptr s = make_schema({{"sensor_id", data_type::string, false},
                                             {"timestamp", data_type::timestamp_ms, true},
                                             {"temperature", data_type::float64, false}});
    return s;
}

/// One row per (sensor, time, temperature); a negative time is a null timestamp.
inline batch readings_batch(const std::vector<std::tuple<std::string, std::int64_t, double>>& rows,
                            std::int64_t watermark) {
    auto id = std::make_shared<column>(data_type::string);
    auto ts = std::make_shared<column>(data_type::timestamp_ms);
    auto t = std::make_shared<column>(data_type::float64);
    for (const auto& [k, time, v] : rows) {
        id->push_string(k);
        time < 0 ? ts->push_null() : ts->push_int64(time);
        t->push_float64(v);
    }
    batch b(readings_schema(), {id, ts, t});
    b.set_watermark_ms(watermark);
    return b;
}

}  // namespace sluice::testing
