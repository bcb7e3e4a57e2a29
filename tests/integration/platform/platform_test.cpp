// The whole platform against the real broker and node: pipelines/sensor_analytics.yaml as
// shipped (only names changed with --set, so runs never share a topic or an index) reads
// 200,000 simulated readings with injected anomalies from Kafka, and the test checks what
// lands in Elasticsearch and in the alerts topic against a computation of its own:
//   - `sensors` holds every reading once, with all three models' predictions;
//   - `sensor-stats` holds exactly the per-sensor hopping windows the test computes;
//   - the alerts topic holds exactly the readings the anomaly model flags.
// The second case kills the pipeline (kill -9) halfway and restarts it: same final contents.
#include "es_test_support.hpp"
#include "kafka_test_support.hpp"

#include <sluice/ops/generator.hpp>
#include <sluice/ops/xgboost.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

using namespace sluice;
using namespace sluice::kafka_test;
using sluice::ml::load_predictor;
using sluice::ml::prediction_backend;

namespace {

constexpr std::uint64_t total_readings = 200'000;
constexpr int partitions = 6;
constexpr std::int64_t window_size_ms = 60'000;  // as in pipelines/sensor_analytics.yaml
constexpr std::int64_t window_slide_ms = 30'000;
constexpr std::int64_t out_of_orderness_ms = 10'000;

/// One produced reading, as the pipeline decodes it from the message's JSON.
struct reading {
    std::string sensor_id;
    std::int64_t timestamp_ms = 0;
    double temperature = 0;
    double humidity = 0;
    std::int64_t hour_of_day = 0;
    bool alert = false;  ///< what the anomaly model says (computed by the test)
};

/// Identity of a reading in Kafka.
using position = std::pair<std::int32_t, std::int64_t>;

/// What the test produced, and where each reading went.
struct produced_stream {
    std::map<position, reading> by_position;
};

/// Reads the fields the reference needs from a simulator message (the same JSON text the
/// pipeline decodes, so values match it exactly).
reading parse_reading(simdjson::dom::parser& parser, const std::string& json) {
    const simdjson::padded_string padded(json);
    const auto doc = parser.parse(padded);
    reading r;
    r.sensor_id = std::string(doc["sensor_id"].get_string().value());
    r.timestamp_ms = doc["timestamp"].get_int64().value();
    r.temperature = doc["temperature"].get_double().value();
    r.humidity = doc["humidity"].get_double().value();
    r.hour_of_day = doc["hour_of_day"].get_int64().value();
    return r;
}

/// The anomaly model's verdict for every reading, through the library's own predictor (the
/// pipeline runs the same model file with the same backend and threshold).
void flag_anomalies(produced_stream& stream) {
    const auto model =
            load_predictor(std::string(SLUICE_SOURCE_DIR) + "/models/anomaly_detector.json",
                           prediction_backend::native);
    REQUIRE(model->info().num_features == 3);  // temperature, humidity, hour_of_day
    std::vector<float> features;
    std::vector<reading*> rows;
    for (auto& [pos, r] : stream.by_position) {
        features.push_back(static_cast<float>(r.temperature));
        features.push_back(static_cast<float>(r.humidity));
        features.push_back(static_cast<float>(r.hour_of_day));
        rows.push_back(&r);
    }
    std::vector<float> probability(rows.size());
    model->predict(features, rows.size(), probability);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        rows[i]->alert = probability[i] >= 0.5F;
    }
}

/// Produces simulator readings (with spikes and out-of-order arrival inside the pipeline's
/// 10 s bound) keyed by sensor id, and reads the topic back to learn each one's position.
produced_stream produce_fleet(const std::string& topic, std::uint64_t seed) {
    simulator_config config;
    config.sensors = 200;
    config.seed = seed;
    config.anomaly_rate = 0.02;
    config.out_of_order = 0.02;
    config.max_delay_ms = 3'000;
    sensor_simulator simulator(config);
    {
        kafka_producer producer({brokers(), topic, {{"linger.ms", "20"}}});
        std::string value;
        for (std::uint64_t i = 0; i < total_readings; ++i) {
            const auto r = simulator.next();
            value.clear();
            simulator.append_json(value, r);
            producer.send(simulator.sensor_id(r.sensor), value);
        }
        REQUIRE(producer.flush(60s) == 0);
        REQUIRE(producer.delivered() == total_readings);
    }
    produced_stream stream;
    simdjson::dom::parser parser;
    for (const auto& m : read_topic(topic, partitions, total_readings)) {
        stream.by_position[{m.partition, m.offset}] = parse_reading(parser, m.value);
    }
    REQUIRE(stream.by_position.size() == total_readings);
    flag_anomalies(stream);
    return stream;
}

/// One window of the reference computation.
struct window_result {
    std::int64_t readings = 0;
    std::int64_t anomalies = 0;
    double temperature_sum = 0, temperature_min = INFINITY, temperature_max = -INFINITY;
    double humidity_sum = 0, humidity_min = INFINITY, humidity_max = -INFINITY;
    std::vector<double> temperatures, humidities;
};
using window_key = std::pair<std::string, std::int64_t>;  // sensor, window start

/// Every (sensor, hopping window) with its aggregates, by plain loops over all readings.
std::map<window_key, window_result> reference_windows(const produced_stream& stream) {
    std::map<window_key, window_result> windows;
    for (const auto& [pos, r] : stream.by_position) {
        const std::int64_t last_start = r.timestamp_ms - (r.timestamp_ms % window_slide_ms);
        for (std::int64_t start = last_start; start > r.timestamp_ms - window_size_ms;
             start -= window_slide_ms) {
            auto& w = windows[{r.sensor_id, start}];
            ++w.readings;
            w.anomalies += r.alert ? 1 : 0;
            w.temperature_sum += r.temperature;
            w.temperature_min = std::min(w.temperature_min, r.temperature);
            w.temperature_max = std::max(w.temperature_max, r.temperature);
            w.humidity_sum += r.humidity;
            w.humidity_min = std::min(w.humidity_min, r.humidity);
            w.humidity_max = std::max(w.humidity_max, r.humidity);
            w.temperatures.push_back(r.temperature);
            w.humidities.push_back(r.humidity);
        }
    }
    return windows;
}

/// The value at 0-based rank floor(q (n-1)): what the window operator's sketch approximates
/// within 1 % (operators/window/README.md).
double exact_quantile(std::vector<double> values, double q) {
    std::sort(values.begin(), values.end());
    return values[static_cast<std::size_t>(std::floor(q * static_cast<double>(values.size() - 1)))];
}

/// The final watermark the pipeline reaches for sure once everything is read: per partition
/// the newest event time minus the bound, the smallest over partitions. Every window ending
/// at or before it has been emitted.
std::int64_t final_watermark(const produced_stream& stream) {
    std::map<std::int32_t, std::int64_t> newest;
    for (const auto& [pos, r] : stream.by_position) {
        newest[pos.first] = std::max(newest[pos.first], r.timestamp_ms);
    }
    std::int64_t lowest = INT64_MAX;
    for (const auto& [p, t] : newest) {
        lowest = std::min(lowest, t - out_of_orderness_ms);
    }
    return lowest;
}

/// All `_source` documents of an index, page by page (search_after on `sort_fields`, which
/// must identify a document: equal sort values at a page boundary would be skipped).
std::vector<std::string> all_documents(const std::string& index,
                                       const std::vector<std::string>& sort_fields) {
    std::vector<std::string> docs;
    std::string after;
    simdjson::dom::parser parser;
    REQUIRE(es_test::request("POST", "/" + index + "/_refresh").status == 200);
    for (int page = 0; page < 1000; ++page) {
        std::string query = R"({"size":10000,"track_total_hits":false,"sort":[)";
        for (std::size_t i = 0; i < sort_fields.size(); ++i) {
            query += (i == 0 ? R"({")" : R"(,{")") + sort_fields[i] + R"(":"asc"})";
        }
        query += "]";
        if (!after.empty()) {
            query += R"(,"search_after":)" + after;
        }
        query += "}";
        const auto r = es_test::request("POST", "/" + index + "/_search", query);
        INFO(r.body.substr(0, 500));
        REQUIRE(r.status == 200);
        const simdjson::padded_string padded(r.body);
        const auto hits = parser.parse(padded)["hits"]["hits"].get_array().value();
        if (hits.size() == 0) {
            break;
        }
        for (auto hit : hits) {
            docs.push_back(simdjson::minify(hit["_source"]));
            after = simdjson::minify(hit["sort"]);
        }
    }
    return docs;
}

/// Names of one run: a topic, a group and indices of its own.
struct run_names {
    std::string topic = unique_name("sensor-data");
    std::string alerts_topic = unique_name("sensor-alerts");
    std::string group = unique_name("sensor-analytics");
    std::string sensors_index = es_test::unique_index("sensors");
    std::string stats_index = es_test::unique_index("sensor-stats");
};

/// `sluice run pipelines/sensor_analytics.yaml` with this run's names.
std::unique_ptr<sluice_process> start_pipeline(const run_names& names,
                                               const fs::path& dir,
                                               int attempt) {
    const std::vector<std::string> args{
            "run",
            std::string(SLUICE_SOURCE_DIR) + "/pipelines/sensor_analytics.yaml",
            "--quiet",
            "--set",
            "sources.readings.topics=[" + names.topic + "]",
            "--set",
            "sources.readings.group_id=" + names.group,
            "--set",
            "sinks.sensors.index=" + names.sensors_index,
            "--set",
            "sinks.sensors.id=" + names.topic + "-{partition}-{offset}",
            "--set",
            "sinks.sensor_stats.index=" + names.stats_index,
            "--set",
            "sinks.sensor_alerts.topic=" + names.alerts_topic,
            "--set",
            "dead_letter.path=" + (dir / "dead-letter.ndjson").string(),
    };
    return std::make_unique<sluice_process>(args,
                                            (dir / fmt::format("run-{}.log", attempt)).string());
}

/// Waits (bounded) until `index` holds `count` documents; returns what it holds.
std::int64_t wait_for_count(const std::string& index,
                            std::int64_t count,
                            sluice_process& run,
                            std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::int64_t now = 0;
    while (std::chrono::steady_clock::now() < deadline && run.running()) {
        if (es_test::request("HEAD", "/" + index).status == 200) {
            now = es_test::count_of(index);
            if (now >= count) {
                break;
            }
        }
        std::this_thread::sleep_for(500ms);
    }
    return now;
}

/// The checks both cases share, on the final contents of the indices and the alerts topic.
void check_final_contents(const run_names& names, const produced_stream& stream) {
    simdjson::dom::parser parser;

    // sensors: every reading exactly once (ids are topic-partition-offset), with predictions.
    const auto sensor_docs = all_documents(names.sensors_index, {"partition", "offset"});
    CHECK(sensor_docs.size() == total_readings);
    std::set<position> seen;
    std::size_t flagged_in_index = 0;
    std::size_t wrong_alert = 0;
    for (const auto& text : sensor_docs) {
        const simdjson::padded_string padded(text);
        const auto doc = parser.parse(padded);
        const position pos{static_cast<std::int32_t>(doc["partition"].get_int64().value()),
                           doc["offset"].get_int64().value()};
        REQUIRE(seen.insert(pos).second);
        const auto it = stream.by_position.find(pos);
        REQUIRE(it != stream.by_position.end());
        CHECK(doc["sensor_id"].get_string().value() == it->second.sensor_id);
        // All three models' outputs are there.
        CHECK(doc["status_class"].is_int64());
        CHECK(doc["anomaly_probability"].is_double());
        CHECK(doc["humidity_value"].is_double());
        CHECK(doc["severity"].is_number());
        const bool alert = doc["alert"].get_bool().value();
        wrong_alert += alert != it->second.alert ? 1 : 0;
        flagged_in_index += alert ? 1 : 0;
    }
    CHECK(wrong_alert == 0);

    // sensor-alerts: exactly the flagged readings (as a set: delivery is at least once).
    std::size_t expected_alerts = 0;
    for (const auto& [pos, r] : stream.by_position) {
        expected_alerts += r.alert ? 1 : 0;
    }
    REQUIRE(expected_alerts > 100);  // the injected spikes are there to be found
    CHECK(flagged_in_index == expected_alerts);
    const auto alert_messages = read_topic(names.alerts_topic, 1, expected_alerts, 2s);
    std::set<position> alerted;
    for (const auto& m : alert_messages) {
        const simdjson::padded_string padded(m.value);
        const auto doc = parser.parse(padded);
        const position pos{static_cast<std::int32_t>(doc["partition"].get_int64().value()),
                           doc["offset"].get_int64().value()};
        const auto it = stream.by_position.find(pos);
        REQUIRE(it != stream.by_position.end());
        CHECK(it->second.alert);
        CHECK(m.key == it->second.sensor_id);
        alerted.insert(pos);
    }
    CHECK(alerted.size() == expected_alerts);

    // sensor-stats: every emitted window is exactly the reference's, and every window that
    // ends at or before the final watermark was emitted.
    const auto reference = reference_windows(stream);
    const auto watermark = final_watermark(stream);
    std::size_t due = 0;
    for (const auto& [key, w] : reference) {
        due += key.second + window_size_ms <= watermark ? 1 : 0;
    }
    const auto stat_docs = all_documents(names.stats_index, {"window_id"});
    std::set<window_key> emitted;
    std::size_t mismatched = 0;
    for (const auto& text : stat_docs) {
        const simdjson::padded_string padded(text);
        const auto doc = parser.parse(padded);
        const window_key key{std::string(doc["sensor_id"].get_string().value()),
                             doc["window_start"].get_int64().value()};
        REQUIRE(emitted.insert(key).second);
        const auto it = reference.find(key);
        INFO("window " << key.first << " @ " << key.second << ": " << text);
        REQUIRE(it != reference.end());
        const auto& w = it->second;
        const auto n = static_cast<double>(w.readings);
        const bool same =
                doc["readings"].get_int64().value() == w.readings &&
                doc["anomalies"].get_int64().value() == w.anomalies &&
                std::abs(doc["temperature_mean"].get_double().value() - w.temperature_sum / n) <
                        1e-9 &&
                doc["temperature_min"].get_double().value() == w.temperature_min &&
                doc["temperature_max"].get_double().value() == w.temperature_max &&
                std::abs(doc["humidity_mean"].get_double().value() - w.humidity_sum / n) < 1e-9 &&
                doc["humidity_min"].get_double().value() == w.humidity_min &&
                doc["humidity_max"].get_double().value() == w.humidity_max;
        const double t95 = exact_quantile(w.temperatures, 0.95);
        const double h95 = exact_quantile(w.humidities, 0.95);
        const bool quantiles_within_1_percent =
                std::abs(doc["temperature_p95"].get_double().value() - t95) <=
                        0.01 * std::abs(t95) + 1e-12 &&
                std::abs(doc["humidity_p95"].get_double().value() - h95) <=
                        0.01 * std::abs(h95) + 1e-12;
        if (!same || !quantiles_within_1_percent) {
            ++mismatched;
            if (mismatched <= 5) {
                WARN("window differs from the reference: " << text << " expected readings "
                                                           << w.readings << " anomalies "
                                                           << w.anomalies);
            }
        }
    }
    // After a restart too: windows emitted before the crash are suppressed on replay (resume
    // state in the Kafka commit metadata, operators/window/README.md "Delivery").
    CHECK(mismatched == 0);
    std::size_t missing_due = 0;
    for (const auto& [key, w] : reference) {
        if (key.second + window_size_ms <= watermark && emitted.count(key) == 0) {
            ++missing_due;
        }
    }
    INFO(stat_docs.size() << " windows in the index, " << due << " due by the final watermark");
    CHECK(missing_due == 0);
}

/// Windows due by the final watermark (what the index must reach before the run is stopped).
std::int64_t due_windows(const produced_stream& stream) {
    const auto watermark = final_watermark(stream);
    std::int64_t due = 0;
    for (const auto& [key, w] : reference_windows(stream)) {
        due += key.second + window_size_ms <= watermark ? 1 : 0;
    }
    return due;
}

/// One test's world: fresh topics and indices, a scratch folder, and the readings produced.
struct platform_run {
    run_names names;
    fs::path dir;
    produced_stream stream;
};

platform_run prepare_run(const std::string& scratch_name, std::uint64_t seed) {
    require_broker();
    es_test::require_node();
    platform_run r{run_names{}, scratch(scratch_name), {}};
    create_topic(r.names.topic, partitions);
    create_topic(r.names.alerts_topic, 1);
    r.stream = produce_fleet(r.names.topic, seed);
    return r;
}

/// Waits (bounded) until every reading is indexed and every due window emitted, then stops
/// the pipeline cleanly.
void run_until_caught_up(sluice_process& run, const platform_run& r) {
    const auto indexed = wait_for_count(r.names.sensors_index, total_readings, run, 300s);
    INFO(run.log());
    REQUIRE(indexed == static_cast<std::int64_t>(total_readings));
    const auto due = due_windows(r.stream);
    CHECK(wait_for_count(r.names.stats_index, due, run, 120s) >= due);
    stop_cleanly(run);
}

}  // namespace

TEST_CASE("the sensor analytics platform turns Kafka readings into exact indices and alerts",
          "[platform][fullstack]") {
    const auto r = prepare_run("platform", 21);
    const auto& names = r.names;
    const auto& stream = r.stream;
    const auto& dir = r.dir;

    auto run = start_pipeline(names, dir, 1);
    run_until_caught_up(*run, r);

    check_final_contents(names, stream);
    remove_scratch(dir);
}

TEST_CASE("a kill -9 and a restart of the platform leave the same final contents",
          "[platform][restart]") {
    const auto r = prepare_run("platform-kill", 22);
    const auto& names = r.names;
    const auto& stream = r.stream;
    const auto& dir = r.dir;

    {
        auto first = start_pipeline(names, dir, 1);
        const auto indexed = wait_for_count(names.sensors_index, total_readings / 3, *first, 300s);
        INFO(first->log());
        REQUIRE(first->running());
        REQUIRE(indexed >= static_cast<std::int64_t>(total_readings / 3));
        // Kill only once some offsets are committed: the restart must then replay from inside
        // windows that were already emitted (the case the resume state is for), not from zero.
        bool committed = false;
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        for (int attempt = 0; attempt < 600 && !committed && first->running() &&
                              std::chrono::steady_clock::now() < deadline;
             ++attempt) {
            const auto offsets = committed_offsets(names.group, names.topic, partitions);
            committed = std::any_of(
                    offsets.begin(), offsets.end(), [](std::int64_t o) { return o > 0; });
            if (!committed) {
                std::this_thread::sleep_for(100ms);
            }
        }
        REQUIRE(committed);
        first->signal(SIGKILL);
        REQUIRE(first->wait(30s) == 128 + SIGKILL);
    }
    auto second = start_pipeline(names, dir, 2);
    run_until_caught_up(*second, r);

    check_final_contents(names, stream);
    remove_scratch(dir);
}
