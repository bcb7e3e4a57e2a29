#pragma once

// JSON the pages read: compact arrays rather than objects per reading, since a fleet frame
// can carry a thousand sensors. The field order of each array is documented in
// operators/dashboard/README.md ("Frames") and read by web/app.js.

#include "dashboard_hub.hpp"

#include <string>
#include <vector>

namespace sluice::dashboard_detail {

/// {"id":..., "columns":{...}, "bands":{...}, "limits":{...}}
void append_view_json(std::string& out, const dashboard_channel& channel);

/// One fleet frame: totals, new sensor names, changed sensors, closed fleet buckets, new
/// alerts, histograms and the watched sensor's new readings.
void append_delta_json(std::string& out, const delta& d);

/// A sensor's detail: {"id","location","summary":[...],"points":[[t,temp,hum,level],...]}.
void append_sensor_json(std::string& out,
                        std::string_view id,
                        std::string_view location,
                        const sensor_summary& summary,
                        const std::vector<point>& points);

/// `value` with at most `decimals` decimals, or null for NaN.
void append_fixed(std::string& out, double value, int decimals);

}  // namespace sluice::dashboard_detail
