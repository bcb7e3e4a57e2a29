#include <sluice/config/loader.hpp>
#include <sluice/ops/rolling.hpp>
#include <sluice/sluice.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>

using namespace sluice;

namespace {

schema_ptr readings_schema() {
    return make_schema({{"sensor_id", data_type::string, false},
                        {"temperature", data_type::float64, true},
                        {"humidity", data_type::int64, true},
                        {"timestamp", data_type::timestamp_ms, false}});
}

struct reading {
    std::string sensor;
    std::optional<double> temperature;
    std::optional<std::int64_t> humidity;
    std::int64_t time = 0;
};

batch make_batch(const std::vector<reading>& rows) {
    auto ids = std::make_shared<column>(data_type::string);
    auto t = std::make_shared<column>(data_type::float64);
    auto h = std::make_shared<column>(data_type::int64);
    auto ts = std::make_shared<column>(data_type::timestamp_ms);
    for (const auto& r : rows) {
        ids->push_string(r.sensor);
        r.temperature ? t->push_float64(*r.temperature) : t->push_null();
        r.humidity ? h->push_int64(*r.humidity) : h->push_null();
        ts->push_int64(r.time);
    }
    batch b(readings_schema(), {ids, t, h, ts});
    b.set_event_time_column(3);
    return b;
}

struct expected_stats {
    std::optional<double> mean, stddev, z;
};

/// The definition, computed the plain way: two passes over a copy of the key's last `size`
/// present values before the record; a history of one repeated value has that mean and no
/// spread.
expected_stats reference(const std::deque<double>& history,
                         std::optional<double> x,
                         double min_stddev) {
    expected_stats e;
    if (history.empty()) {
        return e;
    }
    double sum = 0;
    for (const auto v : history) {
        sum += v;
    }
    const bool flat = std::all_of(
            history.begin(), history.end(), [&](double v) { return v == history.back(); });
    const double mean = flat ? history.back() : sum / static_cast<double>(history.size());
    e.mean = mean;
    if (history.size() < 2) {
        return e;
    }
    double squares = 0;
    for (const auto v : history) {
        squares += (v - mean) * (v - mean);
    }
    const double stddev = std::sqrt(squares / static_cast<double>(history.size() - 1));
    e.stddev = stddev;
    const double denominator = std::max(stddev, min_stddev);
    if (x && denominator > 0) {
        e.z = (*x - mean) / denominator;
    }
    return e;
}

void check_value(const column& c,
                 std::size_t row,
                 std::optional<double> expected,
                 const char* what) {
    INFO(what << " row " << row);
    REQUIRE(c.is_valid(row) == expected.has_value());
    if (expected) {
        // Values near 1e6 carry about 1e-10 of rounding each: 1e-6 is far below any real error.
        CHECK(c.float64_values()[row] == Approx(*expected).margin(1e-6).epsilon(1e-9));
    }
}

std::unique_ptr<rolling_transform> bound(rolling_config config) {
    auto op = std::make_unique<rolling_transform>(std::move(config));
    diagnostics_collector out;
    bind_context ctx("rolling", "recent", {}, &out);
    REQUIRE(op->bind(readings_schema(), ctx));
    REQUIRE(out.items().empty());
    return op;
}

}  // namespace

TEST_CASE("rolling statistics match a plain recomputation over each key's last readings",
          "[rolling]") {
    // Reproduce a failure with --rng-seed <seed>.
    const auto seed = Catch::rngSeed();
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    for (int round = 0; round < 4; ++round) {
        rolling_config config;
        config.key = "sensor_id";
        config.columns = {"temperature", "humidity"};
        config.size = 2 + rng() % 40;
        config.min_stddev = round % 2 == 0 ? 0.0 : 0.5;
        INFO("round " << round << " size " << config.size << " min_stddev " << config.min_stddev);
        rolling_transform op(config);
        diagnostics_collector problems;
        bind_context bctx("rolling", "recent", {}, &problems);
        REQUIRE(op.bind(readings_schema(), bctx));
        operator_context ctx("rolling", "recent", nullptr, nullptr, nullptr);

        std::map<std::string, std::deque<double>> temperatures, humidities;
        std::normal_distribution<double> noise(0.0, 2.0);
        std::int64_t time = 1'767'225'600'000;
        for (int b = 0; b < 60; ++b) {
            std::vector<reading> rows(rng() % 200);
            for (auto& r : rows) {
                r.sensor = "sensor-" + std::to_string(rng() % 7);
                // Large offsets, flat stretches and spikes: the cases that break naive sums.
                const double base = 1e6 + static_cast<double>(r.sensor.back() - '0');
                if (rng() % 10 != 0) {
                    r.temperature = rng() % 5 == 0
                                            ? base
                                            : base + noise(rng) + (rng() % 50 == 0 ? 40.0 : 0.0);
                }
                if (rng() % 8 != 0) {
                    r.humidity = static_cast<std::int64_t>(rng() % 100);
                }
                r.time = time += 1000;
            }
            const batch out = op.process(make_batch(rows), ctx);
            REQUIRE(out.num_rows() == rows.size());
            REQUIRE(out.num_columns() == 10);
            for (std::size_t i = 0; i < rows.size(); ++i) {
                const auto& r = rows[i];
                const std::optional<double> h =
                        r.humidity ? std::optional<double>(static_cast<double>(*r.humidity))
                                   : std::nullopt;
                const auto et = reference(temperatures[r.sensor], r.temperature, config.min_stddev);
                const auto eh = reference(humidities[r.sensor], h, config.min_stddev);
                check_value(*out.find_column("temperature_recent_mean"),
                            i,
                            et.mean,
                            "temperature mean");
                check_value(*out.find_column("temperature_recent_stddev"),
                            i,
                            et.stddev,
                            "temperature stddev");
                check_value(*out.find_column("temperature_zscore"), i, et.z, "temperature z");
                check_value(*out.find_column("humidity_recent_mean"), i, eh.mean, "humidity mean");
                check_value(*out.find_column("humidity_recent_stddev"),
                            i,
                            eh.stddev,
                            "humidity stddev");
                check_value(*out.find_column("humidity_zscore"), i, eh.z, "humidity z");
                auto remember = [&](std::deque<double>& history, std::optional<double> v) {
                    if (v) {
                        history.push_back(*v);
                        if (history.size() > config.size) {
                            history.pop_front();
                        }
                    }
                };
                remember(temperatures[r.sensor], r.temperature);
                remember(humidities[r.sensor], h);
            }
        }
        CHECK(op.keys() == temperatures.size());
        CHECK(op.evicted_for_capacity() == 0);
    }
}

TEST_CASE("rolling forgets the least recently seen key beyond max_keys", "[rolling]") {
    rolling_config config;
    config.key = "sensor_id";
    config.columns = {"temperature"};
    config.size = 5;
    config.max_keys = 2;
    auto bound_op = bound(config);
    auto& op = *bound_op;
    operator_context ctx("rolling", "recent", nullptr, nullptr, nullptr);
    const batch out =
            op.process(make_batch({{"a", 1.0, 1, 1},
                                   {"b", 2.0, 1, 2},
                                   {"a", 3.0, 1, 3},
                                   {"c", 4.0, 1, 4},    // b is the least recently seen: forgotten
                                   {"a", 5.0, 1, 5},    // a kept its history {1, 3}
                                   {"b", 6.0, 1, 6}}),  // b starts over
                       ctx);
    const auto& mean = *out.find_column("temperature_recent_mean");
    CHECK(mean.float64_values()[4] == 2.0);
    CHECK_FALSE(mean.is_valid(5));
    CHECK(op.keys() == 2);
    CHECK(op.evicted_for_capacity() == 2);  // b for c, then c for b
    CHECK(ctx.metrics().extra.value("keys") == 2);
    CHECK(ctx.metrics().extra.value("keys_evicted") == 2);
}

TEST_CASE("rolling forgets keys silent for longer than key_ttl of event time", "[rolling]") {
    rolling_config config;
    config.key = "sensor_id";
    config.columns = {"temperature"};
    config.size = 5;
    config.key_ttl = std::chrono::seconds(60);
    auto bound_op = bound(config);
    auto& op = *bound_op;
    operator_context ctx("rolling", "recent", nullptr, nullptr, nullptr);
    op.process(make_batch({{"quiet", 10.0, 1, 0}, {"busy", 1.0, 1, 1000}}), ctx);
    op.process(make_batch({{"busy", 1.0, 1, 60'000}}), ctx);  // quiet is 60 s behind: still kept
    CHECK(op.keys() == 2);
    op.process(make_batch({{"busy", 1.0, 1, 60'001}}), ctx);
    CHECK(op.keys() == 1);
    CHECK(op.evicted_for_ttl() == 1);
    const batch out = op.process(make_batch({{"quiet", 12.0, 1, 60'002}}), ctx);
    CHECK_FALSE(out.find_column("temperature_recent_mean")->is_valid(0));
}

TEST_CASE("rolling reports unknown and unsuitable columns at their keys", "[rolling]") {
    rolling_config config;
    config.key = "temperature";
    config.columns = {"sensor_id", "temprature"};
    config.time_column = "sensor_id";
    rolling_transform op(config);
    diagnostics_collector out;
    bind_context ctx(
            "rolling",
            "recent",
            [](std::string_view key) {
                return source_location{std::string(key), 1, 1};
            },
            &out);
    CHECK(op.bind(readings_schema(), ctx) == nullptr);
    REQUIRE(out.items().size() == 4);
    CHECK(out.items()[0].where.file == "key");
    CHECK(out.items()[0].message ==
          "rolling 'recent': key column 'temperature' must be string or int64, found float64");
    CHECK(out.items()[1].where.file == "columns.0");
    CHECK(out.items()[1].message ==
          "rolling 'recent': column 'sensor_id' must be float64 or int64, found string");
    CHECK(out.items()[2].where.file == "columns.1");
    CHECK(out.items()[2].message ==
          "rolling 'recent': columns: unknown column 'temprature' (columns: sensor_id, "
          "temperature, humidity, timestamp)");
    CHECK(out.items()[3].message ==
          "rolling 'recent': time column 'sensor_id' must be timestamp_ms or int64, found string");
    CHECK_THROWS_WITH(rolling_transform(rolling_config{"", {}, 1}),
                      Catch::Contains("'columns' must name at least one column") &&
                              Catch::Contains("'size' must be 2..100000, got 1"));
}

TEST_CASE("rolling after a parallel stage gives what a serial run gives", "[rolling][pipeline]") {
    register_builtin_operators();
    const auto seed = Catch::rngSeed();
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    const std::string dir = std::string(SLUICE_BINARY_DIR) + "/rolling_test_out";
    auto run = [&](std::size_t threads,
                   std::size_t in_flight,
                   std::size_t batch_records,
                   const std::string& file) {
        const std::string yaml = fmt::format(R"(name: rolling
runtime: {{threads: {}, max_batches_in_flight: {}}}
sources:
  fleet: {{type: generator, count: 20000, sensors: 40, rate: 0, emit: json, out_of_order: 0.05, max_delay: 3s,
          anomaly_rate: 0.02, batch: {{max_records: {}}}}}
transforms:
  parsed: {{type: json_decode, inputs: [fleet], schema: {{sensor_id: string, temperature: float64, humidity: float64, timestamp: timestamp_ms}}}}
  recent: {{type: rolling, inputs: [parsed], key: sensor_id, columns: [temperature, humidity], size: 30,
           min_stddev: 0.05, max_keys: 25, key_ttl: 2m}}
sinks:
  out: {{type: file, inputs: [recent], path: {}/{}, format: csv}}
)",
                                             threads,
                                             in_flight,
                                             batch_records,
                                             dir,
                                             file);
        load_pipeline_from_string(yaml, "rolling.yaml")->run();
        std::ifstream in(dir + "/" + file);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    // Batches are cut the same way (the generator is not paced), so the record order is too.
    const std::size_t batch_records = 16 + rng() % 500;
    const std::size_t threads = 2 + rng() % 3;
    const std::size_t in_flight = 2 + rng() % 14;
    INFO("batch " << batch_records << " threads " << threads << " in flight " << in_flight);
    const auto serial = run(1, 2, batch_records, "serial.csv");
    const auto parallel = run(threads, in_flight, batch_records, "parallel.csv");
    CHECK(std::count(serial.begin(), serial.end(), '\n') == 20001);
    CHECK(parallel == serial);
}
