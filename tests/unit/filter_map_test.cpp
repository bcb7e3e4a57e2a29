// Prints std::optional values in failed checks.
#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER

#include <sluice/core/batch.hpp>
#include <sluice/core/column.hpp>
#include <sluice/core/error.hpp>
#include <sluice/graph/acknowledgement.hpp>
#include <sluice/operator/operator.hpp>
#include <sluice/operator/option_spec.hpp>
#include <sluice/operator/options.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/expr.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using sluice::batch;
using sluice::column;
using sluice::column_ptr;
using sluice::data_type;

// Collects bind diagnostics and the option keys they were located at.
struct bind_probe {
    sluice::diagnostics_collector diagnostics;
    std::vector<std::string> keys;
    sluice::bind_context context(const std::string& type, const std::string& id) {
        return sluice::bind_context(
                type,
                id,
                [this](std::string_view key) {
                    keys.emplace_back(key);
                    return sluice::source_location{"test.yaml", 1, 1};
                },
                &diagnostics);
    }
    std::vector<std::string> messages() const {
        std::vector<std::string> out;
        for (const auto& d : diagnostics.items()) {
            out.push_back(d.message);
        }
        return out;
    }
};

struct sensor_rows {
    std::vector<std::optional<double>> temperature;
    std::vector<std::optional<std::int64_t>> humidity;
    std::vector<std::optional<std::string>> sensor_id;
    std::vector<std::int64_t> time;
};

batch make_sensor_batch(const sensor_rows& r) {
    auto temperature = std::make_shared<column>(data_type::float64);
    auto humidity = std::make_shared<column>(data_type::int64);
    auto sensor = std::make_shared<column>(data_type::string);
    auto time = std::make_shared<column>(data_type::timestamp_ms);
    for (std::size_t i = 0; i < r.sensor_id.size(); ++i) {
        r.temperature[i] ? temperature->push_float64(*r.temperature[i]) : temperature->push_null();
        r.humidity[i] ? humidity->push_int64(*r.humidity[i]) : humidity->push_null();
        r.sensor_id[i] ? sensor->push_string(*r.sensor_id[i]) : sensor->push_null();
        time->push_int64(r.time[i]);
    }
    auto schema = sluice::make_schema({{"sensor_id", data_type::string},
                                       {"time", data_type::timestamp_ms},
                                       {"temperature", data_type::float64},
                                       {"humidity", data_type::int64}});
    batch out(schema, {sensor, time, temperature, humidity});
    out.set_event_time_column(1);
    return out;
}

sensor_rows random_rows(std::mt19937_64& rng, std::size_t rows) {
    sensor_rows r;
    std::uniform_real_distribution<double> temp(10, 45);
    std::uniform_int_distribution<std::int64_t> hum(0, 100);
    std::uniform_int_distribution<int> sensor(0, 5);
    std::bernoulli_distribution missing(0.1);
    for (std::size_t i = 0; i < rows; ++i) {
        r.temperature.push_back(missing(rng) ? std::nullopt : std::optional<double>(temp(rng)));
        r.humidity.push_back(missing(rng) ? std::nullopt : std::optional<std::int64_t>(hum(rng)));
        r.sensor_id.push_back(
                missing(rng) ? std::nullopt
                             : std::optional<std::string>("s" + std::to_string(sensor(rng))));
        r.time.push_back(1'700'000'000'000 + static_cast<std::int64_t>(i) * 10);
    }
    return r;
}

// SQL three-valued logic, by hand: nullopt is null.
std::optional<bool> tv_and(std::optional<bool> a, std::optional<bool> b) {
    if ((a && !*a) || (b && !*b)) {
        return false;
    }
    if (a && b) {
        return true;
    }
    return std::nullopt;
}

std::optional<bool> tv_or(std::optional<bool> a, std::optional<bool> b) {
    if ((a && *a) || (b && *b)) {
        return true;
    }
    if (a && b) {
        return false;
    }
    return std::nullopt;
}

std::unique_ptr<sluice::filter_transform> bound_filter(const std::string& condition,
                                                       const sluice::schema_ptr& schema) {
    auto filter = std::make_unique<sluice::filter_transform>(sluice::filter_config{condition});
    bind_probe probe;
    auto ctx = probe.context("filter", "hot");
    REQUIRE(filter->bind(schema, ctx) == schema);
    REQUIRE(probe.diagnostics.empty());
    return filter;
}

std::optional<double> f64_at(const column& c, std::size_t i) {
    return c.is_valid(i) ? std::optional<double>(c.float64_values()[i]) : std::nullopt;
}

}  // namespace

TEST_CASE("filter keeps exactly the rows a plain loop keeps on random batches", "[expr]") {
    const auto seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : std::random_device{}();
    INFO("seed " << seed << " (rerun with --rng-seed " << seed << ")");
    std::mt19937_64 rng(seed);
    const std::string condition = "temperature > 30 and humidity < 40 or sensor_id == 's3'";
    const batch probe_batch = make_sensor_batch(random_rows(rng, 1));
    auto filter = bound_filter(condition, probe_batch.schema());
    sluice::operator_context ctx("filter", "hot", nullptr, nullptr, nullptr);

    for (int round = 0; round < 40; ++round) {
        const std::size_t rows = std::uniform_int_distribution<std::size_t>(0, 1500)(rng);
        const sensor_rows r = random_rows(rng, rows);
        const batch in = make_sensor_batch(r);
        const batch out = filter->process(in, ctx);

        std::vector<std::size_t> expected;
        for (std::size_t i = 0; i < rows; ++i) {
            const std::optional<bool> hot =
                    r.temperature[i] ? std::optional<bool>(*r.temperature[i] > 30) : std::nullopt;
            const std::optional<bool> dry =
                    r.humidity[i] ? std::optional<bool>(*r.humidity[i] < 40) : std::nullopt;
            const std::optional<bool> s3 =
                    r.sensor_id[i] ? std::optional<bool>(*r.sensor_id[i] == "s3") : std::nullopt;
            const std::optional<bool> keep = tv_or(tv_and(hot, dry), s3);
            if (keep.value_or(false)) {
                expected.push_back(i);
            }
        }
        INFO("round " << round << ", " << rows << " rows");
        REQUIRE(out.num_rows() == expected.size());
        REQUIRE(out.schema() == in.schema());
        for (std::size_t k = 0; k < expected.size(); ++k) {
            const std::size_t i = expected[k];
            const column& sensor = out.column_at(0);
            CHECK((sensor.is_valid(k) ? std::optional<std::string>(sensor.string_at(k))
                                      : std::nullopt) == r.sensor_id[i]);
            CHECK(out.column_at(1).int64_values()[k] == r.time[i]);
            CHECK(f64_at(out.column_at(2), k) == r.temperature[i]);
            const bool valid = out.column_at(3).is_valid(k);
            CHECK(valid == r.humidity[i].has_value());
            if (valid) {
                CHECK(out.column_at(3).int64_values()[k] == *r.humidity[i]);
            }
        }
    }
}

TEST_CASE("filter forwards a batch unchanged when every row passes", "[expr]") {
    std::mt19937_64 rng(7);
    const batch in = make_sensor_batch(random_rows(rng, 100));
    auto filter = bound_filter("time > 0", in.schema());
    sluice::operator_context ctx("filter", "hot", nullptr, nullptr, nullptr);
    const batch out = filter->process(in, ctx);
    REQUIRE(out.num_rows() == 100);
    for (std::size_t c = 0; c < in.num_columns(); ++c) {
        CHECK(out.shared_column(c) == in.shared_column(c));
    }
}

TEST_CASE("filter drops rows whose condition is null, as SQL WHERE does", "[expr]") {
    sensor_rows r;
    r.temperature = {35.0, std::nullopt, 20.0};
    r.humidity = {1, 2, 3};
    r.sensor_id = {"a", "b", "c"};
    r.time = {1, 2, 3};
    const batch in = make_sensor_batch(r);
    sluice::operator_context ctx("filter", "hot", nullptr, nullptr, nullptr);
    CHECK(bound_filter("temperature > 30", in.schema())->process(in, ctx).num_rows() == 1);
    CHECK(bound_filter("not (temperature > 30)", in.schema())->process(in, ctx).num_rows() == 1);
    CHECK(bound_filter("is_null(temperature)", in.schema())->process(in, ctx).num_rows() == 1);
    CHECK(bound_filter("false", in.schema())->process(in, ctx).num_rows() == 0);
}

TEST_CASE("filter output keeps the input's lineage", "[expr]") {
    std::mt19937_64 rng(11);
    batch in = make_sensor_batch(random_rows(rng, 50));
    in.set_origin({3, 42});
    in.set_watermark_ms(123456);
    auto ack = std::make_shared<sluice::ack_token>(
            std::vector<sluice::source_position>{{0, 100, 149}},
            [](const std::vector<sluice::source_position>&, bool) {});
    in.add_ack(ack);
    auto filter = bound_filter("humidity < 50", in.schema());
    sluice::operator_context ctx("filter", "hot", nullptr, nullptr, nullptr);
    const batch out = filter->process(in, ctx);
    CHECK(out.num_rows() < 50);
    CHECK(out.origin().stream == 3);
    CHECK(out.origin().sequence == 42);
    CHECK(out.watermark_ms() == 123456);
    CHECK(out.event_time_column() == std::optional<std::size_t>(1));
    REQUIRE(out.acks().size() == 1);
    CHECK(out.acks()[0] == ack);
    CHECK(out.source_positions() == in.source_positions());
}

TEST_CASE("filter reports bad conditions at bind time against the 'condition' key", "[expr]") {
    std::mt19937_64 rng(1);
    const batch in = make_sensor_batch(random_rows(rng, 1));
    auto bind_errors = [&](const std::string& condition) {
        sluice::filter_transform filter(sluice::filter_config{condition});
        bind_probe probe;
        auto ctx = probe.context("filter", "hot");
        CHECK(filter.bind(in.schema(), ctx) == nullptr);
        CHECK(ctx.failed());
        CHECK(probe.keys == std::vector<std::string>{"condition"});
        for (const auto& d : probe.diagnostics.items()) {
            CHECK(d.code == "expression-error");
        }
        return probe.messages();
    };
    CHECK(bind_errors("temprature > 30") ==
          std::vector<std::string>{"filter 'hot': condition \"temprature > 30\", col 1: unknown "
                                   "column 'temprature'; did you mean 'temperature'?"});
    CHECK(bind_errors("temperature * 2") ==
          std::vector<std::string>{
                  "filter 'hot': condition must be bool, found float64: \"temperature * 2\""});
    CHECK(bind_errors("sensor_id > 30.5") ==
          std::vector<std::string>{"filter 'hot': condition \"sensor_id > 30.5\", col 11: "
                                   "operator '>' cannot compare string with float64"});
}

TEST_CASE("map computes columns in order, replaces in place and drops", "[expr]") {
    sensor_rows r;
    r.temperature = {35.0, std::nullopt, 20.0};
    r.humidity = {10, 20, std::nullopt};
    r.sensor_id = {"a", "b", "c"};
    r.time = {1000, 2000, 3000};
    batch in = make_sensor_batch(r);
    in.set_watermark_ms(999);
    in.set_origin({1, 5});

    sluice::map_transform map(sluice::map_config{{{"temperature_f", "temperature * 9 / 5 + 32"},
                                                  {"hot", "temperature_f > 90"},
                                                  {"humidity", "humidity * 2"},
                                                  {"label", "if(hot, sensor_id, 'cool')"},
                                                  {"sensor", "sensor_id"}},
                                                 {"sensor_id"}});
    bind_probe probe;
    auto bctx = probe.context("map", "enriched");
    const auto out_schema = map.bind(in.schema(), bctx);
    REQUIRE(probe.diagnostics.empty());
    REQUIRE(out_schema);
    CHECK(out_schema->to_string() == sluice::schema({{"time", data_type::timestamp_ms},
                                                     {"temperature", data_type::float64},
                                                     {"humidity", data_type::int64},
                                                     {"temperature_f", data_type::float64},
                                                     {"hot", data_type::boolean},
                                                     {"label", data_type::string},
                                                     {"sensor", data_type::string}})
                                             .to_string());

    sluice::operator_context ctx("map", "enriched", nullptr, nullptr, nullptr);
    const batch out = map.process(in, ctx);
    REQUIRE(out.num_rows() == 3);
    CHECK(out.schema() == out_schema);
    // Untouched columns and bare references are shared, not copied.
    CHECK(out.shared_column(0) == in.shared_column(1));
    CHECK(out.shared_column(1) == in.shared_column(2));
    CHECK(out.shared_column(6) == in.shared_column(0));
    // Values as a plain loop computes them.
    const column& f = out.column_at(3);
    CHECK(f64_at(f, 0) == Approx(95.0));
    CHECK_FALSE(f.is_valid(1));
    CHECK(f64_at(f, 2) == Approx(68.0));
    const column& hot = out.column_at(4);
    CHECK((hot.is_valid(0) && hot.bool_values()[0] == 1));
    CHECK_FALSE(hot.is_valid(1));
    CHECK((hot.is_valid(2) && hot.bool_values()[2] == 0));
    const column& humidity = out.column_at(2);
    CHECK(humidity.int64_values()[0] == 20);
    CHECK(humidity.int64_values()[1] == 40);
    CHECK_FALSE(humidity.is_valid(2));
    const column& label = out.column_at(5);
    CHECK(label.string_at(0) == "a");
    CHECK(label.string_at(1) == "cool");
    CHECK(label.string_at(2) == "cool");
    // Lineage, and the event-time column found again by name.
    CHECK(out.watermark_ms() == 999);
    CHECK(out.origin().sequence == 5);
    CHECK(out.event_time_column() == std::optional<std::size_t>(0));
}

TEST_CASE(
        "map forgets the event-time column when an expression replaces it with a "
        "non-timestamp",
        "[expr]") {
    std::mt19937_64 rng(3);
    const batch in = make_sensor_batch(random_rows(rng, 4));
    sluice::map_transform shift(sluice::map_config{{{"time", "time + 1000"}}, {}});
    sluice::map_transform wreck(sluice::map_config{{{"time", "time - time"}}, {}});
    bind_probe probe;
    auto bctx = probe.context("map", "m");
    REQUIRE(shift.bind(in.schema(), bctx));
    REQUIRE(wreck.bind(in.schema(), bctx));
    sluice::operator_context ctx("map", "m", nullptr, nullptr, nullptr);
    const batch shifted = shift.process(in, ctx);
    CHECK(shifted.event_time_column() == std::optional<std::size_t>(1));
    CHECK(shifted.column_at(1).int64_values()[0] == in.column_at(1).int64_values()[0] + 1000);
    CHECK(wreck.process(in, ctx).event_time_column() == std::nullopt);
}

TEST_CASE("map reports each bad expression at its columns.<name> key, without cascades", "[expr]") {
    std::mt19937_64 rng(1);
    const batch in = make_sensor_batch(random_rows(rng, 1));
    sluice::map_transform map(sluice::map_config{{{"temperature_f", "temprature * 9 / 5 + 32"},
                                                  {"ok", "humidity + 1"},
                                                  {"hot", "temperature_f > 90"},
                                                  {"bad", "sensor_id * 2"}},
                                                 {"locaton", "hot"}});
    bind_probe probe;
    auto ctx = probe.context("map", "enriched");
    CHECK(map.bind(in.schema(), ctx) == nullptr);
    CHECK(probe.messages() ==
          std::vector<std::string>{
                  "map 'enriched': columns.temperature_f \"temprature * 9 / 5 + 32\", col 1: "
                  "unknown column 'temprature'; did you mean 'temperature'?",
                  "map 'enriched': columns.bad \"sensor_id * 2\", col 11: operator '*' cannot "
                  "combine string with int64",
                  "map 'enriched': drop: unknown column 'locaton' (columns: sensor_id, time, "
                  "temperature, humidity, ok)"});
    CHECK(probe.keys == std::vector<std::string>{"columns.temperature_f", "columns.bad", "drop"});
}

TEST_CASE("map rejects dropping an unknown column with a suggestion, or every column", "[expr]") {
    std::mt19937_64 rng(1);
    const batch in = make_sensor_batch(random_rows(rng, 1));
    {
        sluice::map_transform map(sluice::map_config{{}, {"humidty"}});
        bind_probe probe;
        auto ctx = probe.context("map", "m");
        CHECK(map.bind(in.schema(), ctx) == nullptr);
        CHECK(probe.messages() ==
              std::vector<std::string>{
                      "map 'm': drop: unknown column 'humidty'; did you mean 'humidity'?"});
        CHECK(probe.diagnostics.items()[0].code == "unknown-column");
    }
    {
        sluice::map_transform map(
                sluice::map_config{{}, {"sensor_id", "time", "temperature", "humidity"}});
        bind_probe probe;
        auto ctx = probe.context("map", "m");
        CHECK(map.bind(in.schema(), ctx) == nullptr);
        CHECK(probe.messages() == std::vector<std::string>{"map 'm': drop removes every column"});
    }
}

TEST_CASE("filter and map register with a documented spec and build from options", "[expr]") {
    sluice::operator_registry registry;
    sluice::register_expr_operators(registry);
    const auto* filter = registry.find(sluice::operator_role::transform, "filter");
    const auto* map = registry.find(sluice::operator_role::transform, "map");
    REQUIRE(filter != nullptr);
    REQUIRE(map != nullptr);
    CHECK_FALSE(filter->summary.empty());
    CHECK_FALSE(map->summary.empty());
    const auto* condition = filter->spec.find("condition");
    REQUIRE(condition != nullptr);
    CHECK(condition->kind == sluice::option_kind::string);
    CHECK(condition->required);
    REQUIRE(map->spec.find("columns") != nullptr);
    CHECK(map->spec.find("columns")->kind == sluice::option_kind::string_map);
    REQUIRE(map->spec.find("drop") != nullptr);
    CHECK(map->spec.find("drop")->kind == sluice::option_kind::string_list);
    for (const auto* d : {filter, map}) {
        for (const auto& field : d->spec.all_fields()) {
            CHECK_FALSE(field.doc.empty());
        }
    }

    std::mt19937_64 rng(5);
    const batch in = make_sensor_batch(random_rows(rng, 200));
    sluice::build_context build;
    sluice::operator_context ctx("filter", "hot", nullptr, nullptr, nullptr);

    const auto filter_opts =
            sluice::options::from_values(filter->spec,
                                         "filter",
                                         "hot",
                                         {{"condition", "\"temperature > 30 and humidity < 40\""}});
    auto f = filter->make_transform(filter_opts, build);
    CHECK(f->traits().calls == sluice::concurrency::parallel);
    bind_probe probe;
    auto bctx = probe.context("filter", "hot");
    REQUIRE(f->bind(in.schema(), bctx));
    const batch kept = f->process(in, ctx);
    CHECK(kept.num_rows() < in.num_rows());

    const auto map_opts = sluice::options::from_values(
            map->spec,
            "map",
            "enriched",
            {{"columns",
              "{temperature_f: \"temperature * 9 / 5 + 32\", hot: \"temperature > 30\"}"},
             {"drop", "[sensor_id]"}});
    auto m = map->make_transform(map_opts, build);
    CHECK(m->traits().calls == sluice::concurrency::parallel);
    const auto out_schema = m->bind(in.schema(), bctx);
    REQUIRE(out_schema);
    CHECK(out_schema->to_string() ==
          "{time: timestamp_ms, temperature: float64, humidity: int64, temperature_f: float64, "
          "hot: bool}");
    CHECK(m->process(kept, ctx).num_rows() == kept.num_rows());

    CHECK_THROWS_AS(sluice::options::from_values(map->spec, "map", "m", {}), sluice::config_error);
}

TEST_CASE("filter and map give the same results when called from many threads at once", "[expr]") {
    std::mt19937_64 rng(17);
    std::vector<batch> inputs;
    for (int i = 0; i < 16; ++i) {
        inputs.push_back(make_sensor_batch(random_rows(rng, 1024)));
    }
    auto filter = bound_filter("temperature > 30 and humidity < 40", inputs[0].schema());
    sluice::map_transform map(sluice::map_config{{{"f", "temperature * 9 / 5 + 32"}}, {}});
    bind_probe probe;
    auto bctx = probe.context("map", "m");
    REQUIRE(map.bind(inputs[0].schema(), bctx));

    sluice::operator_context ctx("filter", "hot", nullptr, nullptr, nullptr);
    std::vector<std::size_t> serial_rows;
    std::vector<double> serial_sums;
    auto checksum = [](const batch& b) {
        double sum = 0;
        const column& c = b.column_at(4);
        for (std::size_t i = 0; i < c.size(); ++i) {
            sum += c.is_valid(i) ? c.float64_values()[i] : 0.0;
        }
        return sum;
    };
    for (const auto& in : inputs) {
        const batch out = map.process(filter->process(in, ctx), ctx);
        serial_rows.push_back(out.num_rows());
        serial_sums.push_back(checksum(out));
    }
    std::vector<std::size_t> rows(inputs.size());
    std::vector<double> sums(inputs.size());
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (std::size_t i = next++; i < inputs.size(); i = next++) {
                const batch out = map.process(filter->process(inputs[i], ctx), ctx);
                rows[i] = out.num_rows();
                sums[i] = checksum(out);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(rows == serial_rows);
    CHECK(sums == serial_sums);
}
