#include <sluice/core/batch.hpp>
#include <sluice/operator/context.hpp>
#include <sluice/operator/options.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/generator.hpp>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace sluice;

namespace {

using option_values = std::vector<std::pair<std::string, std::string>>;

const operator_descriptor& generator_descriptor() {
    static operator_registry registry;
    static const bool registered = (register_generator_operators(registry), true);
    (void)registered;
    const operator_descriptor* found = registry.find(operator_role::source, "generator");
    REQUIRE(found != nullptr);
    return *found;
}

options generator_options(const option_values& values) {
    return options::from_values(generator_descriptor().spec, "generator", "gen", values);
}

std::unique_ptr<source> make_generator(const option_values& values) {
    build_context build;
    return generator_descriptor().make_source(generator_options(values), build);
}

/// Every reading of `count` from a simulator, in arrival order.
std::vector<sensor_reading> readings(const simulator_config& config, std::size_t count) {
    sensor_simulator simulator(config);
    std::vector<sensor_reading> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        out.push_back(simulator.next());
    }
    return out;
}

bool same_reading(const sensor_reading& a, const sensor_reading& b) {
    return a.sensor == b.sensor && a.timestamp_ms == b.timestamp_ms &&
           a.temperature == b.temperature && a.humidity == b.humidity &&
           a.hour_of_day == b.hour_of_day && a.day_of_week == b.day_of_week &&
           a.status_flag == b.status_flag && a.is_anomaly == b.is_anomaly;
}

std::string config_error_text(const std::function<void()>& action) {
    try {
        action();
    } catch (const config_error& error) {
        std::string text;
        for (const diagnostic& d : error.diagnostics()) {
            text += d.code + ": " + d.message + "\n";
        }
        return text;
    }
    return "no error";
}

}  // namespace

TEST_CASE("the simulator produces the same readings for the same seed", "[generator]") {
    simulator_config config;
    config.sensors = 37;
    config.out_of_order = 0.1;
    config.max_delay_ms = 3000;
    const auto first = readings(config, 20'000);
    const auto second = readings(config, 20'000);
    REQUIRE(first.size() == second.size());
    for (std::size_t i = 0; i < first.size(); ++i) {
        REQUIRE(same_reading(first[i], second[i]));
    }
    config.seed = 43;
    const auto other = readings(config, 20'000);
    std::size_t differing = 0;
    for (std::size_t i = 0; i < first.size(); ++i) {
        differing += same_reading(first[i], other[i]) ? 0 : 1;
    }
    CHECK(differing > 15'000);
}

TEST_CASE("the simulator names sensors and spreads them over buildings and floors", "[generator]") {
    simulator_config config;
    config.sensors = 100;
    sensor_simulator simulator(config);
    CHECK(simulator.sensor_id(0) == "sensor-0001");
    CHECK(simulator.sensor_id(99) == "sensor-0100");
    std::set<std::string> places;
    for (std::uint32_t i = 0; i < 100; ++i) {
        places.emplace(simulator.location(i));
    }
    CHECK(places.size() == 20);  // 4 buildings x 5 floors
    CHECK(places.count("building-1/floor-1") == 1);
    CHECK(places.count("building-4/floor-5") == 1);
}

TEST_CASE("the first readings start at 2026-01-01 00:00 UTC, a Thursday", "[generator]") {
    simulator_config config;
    config.sensors = 10;
    config.anomaly_rate = 0;
    const auto first = readings(config, 10);
    for (const sensor_reading& r : first) {
        CHECK(r.timestamp_ms >= simulator_default_start_ms);
        CHECK(r.timestamp_ms < simulator_default_start_ms + 1000);
        CHECK(r.hour_of_day == 0);
        CHECK(r.day_of_week == 3);
    }
}

TEST_CASE("readings look like a building's sensors", "[generator]") {
    simulator_config config;
    config.sensors = 50;
    config.interval_ms = 60'000;  // a week in 10080 ticks
    const auto all = readings(config, 300'000);
    std::map<std::int64_t, std::size_t> statuses;
    std::map<std::int64_t, std::size_t> hours;
    std::size_t in_range = 0;
    // Per sensor: previous reading, to find stuck runs and dropouts.
    std::vector<const sensor_reading*> previous(config.sensors, nullptr);
    std::vector<int> repeat_run(config.sensors, 0);
    int longest_repeat = 0;
    std::int64_t longest_gap = 0;
    for (const sensor_reading& r : all) {
        ++statuses[r.status_flag];
        ++hours[r.hour_of_day];
        CHECK(r.humidity >= 0);
        CHECK(r.humidity <= 100);
        CHECK(r.temperature == std::round(r.temperature * 100) / 100);
        if (!r.is_anomaly && r.temperature > 10 && r.temperature < 35) {
            ++in_range;
        }
        const sensor_reading* before = previous[r.sensor];
        if (before != nullptr) {
            longest_gap = std::max(longest_gap, r.timestamp_ms - before->timestamp_ms);
            if (before->temperature == r.temperature && before->humidity == r.humidity) {
                longest_repeat = std::max(longest_repeat, ++repeat_run[r.sensor]);
            } else {
                repeat_run[r.sensor] = 0;
            }
        }
        previous[r.sensor] = &r;
    }
    CHECK(in_range > all.size() * 95 / 100);
    CHECK(statuses[0] > all.size() / 2);     // mostly healthy...
    CHECK(statuses[1] > all.size() / 100);   // ...with warnings
    CHECK(statuses[2] > all.size() / 1000);  // ...and errors
    CHECK(hours.size() == 24);
    CHECK(longest_repeat >= 30);                    // a stuck sensor repeats itself
    CHECK(longest_gap >= 30 * config.interval_ms);  // a dropout silences a sensor
}

TEST_CASE("temperature follows a daily cycle and humidity moves against it", "[generator]") {
    simulator_config config;
    config.sensors = 20;
    config.interval_ms = 300'000;
    config.anomaly_rate = 0;
    const auto all = readings(config, 20 * 288 * 7);  // a week
    double afternoon = 0;
    double night = 0;
    std::size_t afternoon_n = 0;
    std::size_t night_n = 0;
    double sum_t = 0, sum_h = 0, sum_tt = 0, sum_hh = 0, sum_th = 0;
    for (const sensor_reading& r : all) {
        if (r.hour_of_day >= 14 && r.hour_of_day < 17) {
            afternoon += r.temperature;
            ++afternoon_n;
        } else if (r.hour_of_day >= 2 && r.hour_of_day < 5) {
            night += r.temperature;
            ++night_n;
        }
        if (r.sensor == 3) {
            sum_t += r.temperature;
            sum_h += r.humidity;
            sum_tt += r.temperature * r.temperature;
            sum_hh += r.humidity * r.humidity;
            sum_th += r.temperature * r.humidity;
        }
    }
    CHECK(afternoon / afternoon_n > night / night_n + 1.0);
    const double n = static_cast<double>(
            std::count_if(all.begin(), all.end(), [](const auto& r) { return r.sensor == 3; }));
    const double covariance = sum_th / n - (sum_t / n) * (sum_h / n);
    const double correlation = covariance / std::sqrt((sum_tt / n - (sum_t / n) * (sum_t / n)) *
                                                      (sum_hh / n - (sum_h / n) * (sum_h / n)));
    CHECK(correlation < -0.5);
}

TEST_CASE("the anomaly fraction is close to anomaly_rate", "[generator]") {
    for (const double rate : {0.01, 0.1}) {
        simulator_config config;
        config.anomaly_rate = rate;
        const auto all = readings(config, 100'000);
        const auto anomalies =
                std::count_if(all.begin(), all.end(), [](const auto& r) { return r.is_anomaly; });
        const double fraction = static_cast<double>(anomalies) / static_cast<double>(all.size());
        INFO("anomaly_rate " << rate << ", fraction " << fraction);
        CHECK(fraction > rate * 0.8);
        CHECK(fraction < rate * 1.2);
        // Spikes are far from their sensor's normal range: most are flagged by status.
        const auto flagged = std::count_if(all.begin(), all.end(), [](const auto& r) {
            return r.is_anomaly && r.status_flag != 0;
        });
        CHECK(flagged > anomalies * 3 / 4);
    }
    simulator_config none;
    none.anomaly_rate = 0;
    const auto clean = readings(none, 50'000);
    CHECK(std::none_of(clean.begin(), clean.end(), [](const auto& r) { return r.is_anomaly; }));
}

TEST_CASE("late readings are never more than max_delay behind the stream", "[generator]") {
    simulator_config config;
    config.sensors = 20;
    config.out_of_order = 0.2;
    config.max_delay_ms = 5000;
    const auto all = readings(config, 100'000);
    std::int64_t max_seen = no_watermark;
    std::size_t late = 0;
    std::set<std::pair<std::uint32_t, std::int64_t>> seen;
    for (const sensor_reading& r : all) {
        if (max_seen != no_watermark) {
            REQUIRE(r.timestamp_ms > max_seen - config.max_delay_ms);
            late += r.timestamp_ms < max_seen ? 1 : 0;
        }
        max_seen = std::max(max_seen, r.timestamp_ms);
        REQUIRE(seen.emplace(r.sensor, r.timestamp_ms).second);  // each reading once
    }
    CHECK(late > all.size() / 10);

    config.out_of_order = 0;
    const auto ordered = readings(config, 10'000);
    CHECK(std::is_sorted(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
        return a.timestamp_ms < b.timestamp_ms;
    }));
}

TEST_CASE("JSON messages hold the same readings as typed columns", "[generator]") {
    simulator_config config;
    config.sensors = 13;
    config.anomaly_rate = 0.05;
    sensor_simulator as_json(config);
    sensor_simulator as_columns(config);
    const batch messages = as_json.next_json(5000);
    const batch typed = as_columns.next_columns(5000);
    REQUIRE(messages.num_rows() == 5000);
    REQUIRE(typed.num_rows() == 5000);
    REQUIRE(*messages.schema() == *sensor_simulator::json_schema());
    REQUIRE(*typed.schema() == *sensor_simulator::columns_schema());
    CHECK(typed.event_time_column() == sensor_simulator::timestamp_column);

    const std::string_view first = messages.column_at(1).string_at(0);
    CHECK(first.rfind(R"({"sensor_id":"sensor-0001","temperature":)", 0) == 0);
    CHECK(first.find(
                  R"(,"timestamp":1767225600000,"hour_of_day":0,"day_of_week":3,"status_flag":)") !=
          std::string_view::npos);
    CHECK(first.find(R"(,"location":"building-1/floor-1","is_anomaly":)") !=
          std::string_view::npos);

    simdjson::dom::parser parser;
    for (std::size_t row = 0; row < 5000; ++row) {
        const std::string_view text = messages.column_at(1).string_at(row);
        INFO(text);
        simdjson::dom::element doc;
        REQUIRE(parser.parse(simdjson::padded_string(text)).get(doc) == simdjson::SUCCESS);
        std::string_view sensor_id;
        std::string_view location;
        double temperature = 0;
        double humidity = 0;
        std::int64_t timestamp = 0;
        std::int64_t hour = 0;
        std::int64_t weekday = 0;
        std::int64_t status = 0;
        bool anomaly = false;
        REQUIRE(doc["sensor_id"].get(sensor_id) == simdjson::SUCCESS);
        REQUIRE(doc["temperature"].get(temperature) == simdjson::SUCCESS);
        REQUIRE(doc["humidity"].get(humidity) == simdjson::SUCCESS);
        REQUIRE(doc["timestamp"].get(timestamp) == simdjson::SUCCESS);
        REQUIRE(doc["hour_of_day"].get(hour) == simdjson::SUCCESS);
        REQUIRE(doc["day_of_week"].get(weekday) == simdjson::SUCCESS);
        REQUIRE(doc["status_flag"].get(status) == simdjson::SUCCESS);
        REQUIRE(doc["location"].get(location) == simdjson::SUCCESS);
        REQUIRE(doc["is_anomaly"].get(anomaly) == simdjson::SUCCESS);
        CHECK(messages.column_at(0).string_at(row) == sensor_id);
        CHECK(typed.column_at(0).string_at(row) == sensor_id);
        CHECK(typed.column_at(1).float64_values()[row] == temperature);
        CHECK(typed.column_at(2).float64_values()[row] == humidity);
        CHECK(typed.column_at(3).int64_values()[row] == timestamp);
        CHECK(typed.column_at(4).int64_values()[row] == hour);
        CHECK(typed.column_at(5).int64_values()[row] == weekday);
        CHECK(typed.column_at(6).int64_values()[row] == status);
        CHECK(typed.column_at(7).string_at(row) == location);
        CHECK((typed.column_at(8).bool_values()[row] != 0) == anomaly);
    }
}

TEST_CASE("the generator source stops after count records with contiguous positions",
          "[generator]") {
    auto gen = make_generator(
            {{"count", "2500"}, {"sensors", "10"}, {"batch", "{max_records: 1000}"}});
    operator_context ctx("generator", "gen", nullptr, nullptr, nullptr);
    std::vector<std::size_t> sizes;
    std::int64_t next_position = 0;
    source_batch out;
    // Bounded, so that a source that ignores `count` fails instead of running forever.
    for (int polls = 0; polls < 10 && gen->poll(out, ctx) == poll_status::produced; ++polls) {
        sizes.push_back(out.data.num_rows());
        REQUIRE(out.positions.size() == 1);
        CHECK(out.positions[0].partition == 0);
        CHECK(out.positions[0].first == next_position);
        CHECK(out.positions[0].last ==
              next_position + static_cast<std::int64_t>(out.data.num_rows()) - 1);
        next_position = out.positions[0].last + 1;
        CHECK(*out.data.schema() == *sensor_simulator::json_schema());
        CHECK(out.data.watermark_ms() >= simulator_default_start_ms);
    }
    CHECK(sizes == std::vector<std::size_t>{1000, 1000, 500});
    CHECK(gen->poll(out, ctx) == poll_status::finished);
}

TEST_CASE("the generator source emits typed columns with a trailing watermark", "[generator]") {
    auto gen = make_generator({{"count", "3000"},
                               {"emit", "columns"},
                               {"out_of_order", "0.3"},
                               {"max_delay", "10s"},
                               {"seed", "9"}});
    operator_context ctx("generator", "gen", nullptr, nullptr, nullptr);
    REQUIRE(*gen->output_schema() == *sensor_simulator::columns_schema());
    source_batch out;
    std::int64_t max_time = no_watermark;
    std::size_t total = 0;
    for (int polls = 0; polls < 10 && gen->poll(out, ctx) == poll_status::produced; ++polls) {
        REQUIRE(out.data.event_time_column() == sensor_simulator::timestamp_column);
        for (const std::int64_t t : out.data.column_at(3).int64_values()) {
            CHECK(t > out.data.watermark_ms() - 10'000);  // bounded lateness behind the watermark
            max_time = std::max(max_time, t);
        }
        CHECK(out.data.watermark_ms() == max_time - 10'000);
        total += out.data.num_rows();
    }
    CHECK(total == 3000);
}

TEST_CASE("the generator source stops after its duration", "[generator]") {
    auto gen = make_generator({{"duration", "1ms"}, {"batch", "{max_records: 16}"}});
    operator_context ctx("generator", "gen", nullptr, nullptr, nullptr);
    source_batch out;
    poll_status status = poll_status::produced;
    for (int polls = 0; polls < 100'000 && status != poll_status::finished; ++polls) {
        status = gen->poll(out, ctx);
    }
    CHECK(status == poll_status::finished);
}

TEST_CASE("the generator source stops when the pipeline asks it to", "[generator]") {
    auto gen = make_generator({});
    std::atomic<bool> stop{false};
    operator_context ctx("generator", "gen", nullptr, nullptr, &stop);
    source_batch out;
    CHECK(gen->poll(out, ctx) == poll_status::produced);
    stop = true;
    CHECK(gen->poll(out, ctx) == poll_status::finished);
}

TEST_CASE("a paced generator is idle while no record is due", "[generator]") {
    // One record per 1000 s: the first is due at once, the second not within any test run.
    auto gen =
            make_generator({{"rate", "0.001"}, {"batch", "{max_records: 100, max_latency: 1ms}"}});
    operator_context ctx("generator", "gen", nullptr, nullptr, nullptr);
    source_batch out;
    REQUIRE(gen->poll(out, ctx) == poll_status::produced);
    CHECK(out.data.num_rows() == 1);
    CHECK(gen->poll(out, ctx) == poll_status::idle);
    CHECK(gen->poll(out, ctx) == poll_status::idle);
}

TEST_CASE("generator options are checked against each other", "[generator]") {
    CHECK(config_error_text([] {
              generator_options({{"out_of_order", "0.1"}});
          }) ==
          "cross-field: generator 'gen': 'out_of_order' (0.1) needs a positive 'max_delay' (the "
          "bound on "
          "how late a reading arrives)\n");
    CHECK(config_error_text([] {
              generator_options({{"start_time", "last tuesday"}});
          }) ==
          "invalid-value: generator 'gen': 'start_time' must be an ISO-8601 timestamp, ms since "
          "the "
          "epoch or \"now\", got 'last tuesday'\n");
    CHECK(config_error_text([] { generator_options({{"emit", "xml"}}); }) != "no error");
    CHECK(config_error_text([] { generator_options({{"sensors", "0"}}); }) != "no error");
    CHECK(config_error_text([] {
              generator_options({{"start_time", "1767225600000"}});
          }) == "no error");
    CHECK(config_error_text([] { generator_options({{"start_time", "now"}}); }) == "no error");
}

TEST_CASE("the generator's start_time option moves event time", "[generator]") {
    auto gen = make_generator(
            {{"start_time", "2026-03-02T12:00:00Z"}, {"emit", "columns"}, {"count", "5"}});
    operator_context ctx("generator", "gen", nullptr, nullptr, nullptr);
    source_batch out;
    REQUIRE(gen->poll(out, ctx) == poll_status::produced);
    CHECK(out.data.column_at(3).int64_values()[0] == 1'772'452'800'000);
    CHECK(out.data.column_at(4).int64_values()[0] == 12);
    CHECK(out.data.column_at(5).int64_values()[0] == 0);  // a Monday
}
