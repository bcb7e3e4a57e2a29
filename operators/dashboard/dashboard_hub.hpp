#pragma once

// How the dashboard server finds the `dashboard` sinks of its pipeline. Sinks are made by the
// operator registry inside the YAML loader, which hands the CLI a pipeline and nothing else,
// so each sink announces its channel here under (pipeline name, sink id); the server asks
// for its pipeline's name. The hub holds weak references: a channel lives as long as its sink.

#include "dashboard_state.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::dashboard_detail {

/// What the pages need to know about a dashboard sink beyond its data: which columns it has,
/// and the threshold bands to draw. Fixed once the sink is bound.
struct dashboard_view {
    std::string sensor_column;
    std::string location_column;     ///< "" = none
    std::string time_column;         ///< "" = arrival time
    std::string temperature_column;  ///< "" = none
    std::string humidity_column;     ///< "" = none
    std::string anomaly_column;      ///< "" = none
    std::string severity_column;     ///< "" = derived from the deviation from the baseline
    double temperature_low = 17.5, temperature_high = 25.5;
    double humidity_low = 30, humidity_high = 62;
};

/// One dashboard sink's data, shared by the sink (writer) and the server (readers).
class dashboard_channel {
public:
    dashboard_channel(std::string pipeline, std::string id, state_limits limits)
        : pipeline_(std::move(pipeline))
        , id_(std::move(id))
        , state_(limits) {}

    const std::string& pipeline() const noexcept { return pipeline_; }
    const std::string& id() const noexcept { return id_; }
    dashboard_state& state() noexcept { return state_; }
    const dashboard_state& state() const noexcept { return state_; }

    void set_view(dashboard_view view) {
        const std::lock_guard lock(mutex_);
        view_ = std::move(view);
    }
    dashboard_view view() const {
        const std::lock_guard lock(mutex_);
        return view_;
    }

private:
    std::string pipeline_;
    std::string id_;
    dashboard_state state_;
    mutable std::mutex mutex_;
    dashboard_view view_;
};

/// Process-wide directory of live channels. Thread-safe.
class dashboard_hub {
public:
    static dashboard_hub& global();

    void add(const std::shared_ptr<dashboard_channel>& channel);
    /// The live channels of pipeline `name`, in the order their sinks were made.
    std::vector<std::shared_ptr<dashboard_channel>> find(std::string_view pipeline) const;

private:
    mutable std::mutex mutex_;
    mutable std::vector<std::weak_ptr<dashboard_channel>> channels_;
};

}  // namespace sluice::dashboard_detail
