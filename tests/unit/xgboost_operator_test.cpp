// The `xgboost` transform: feature mapping checked at build time, outputs per objective,
// nulls as missing values, clear errors for bad model files, and whole pipelines.

#include "xgboost_python_support.hpp"

#include <sluice/ops/xgboost.hpp>
#include <sluice/sluice.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <thread>

using namespace sluice;
using namespace sluice::ml;
namespace fs = std::filesystem;

namespace {

std::string shipped(const std::string& name) {
    return (fs::path(SLUICE_SOURCE_DIR) / "models" / (name + ".json")).string();
}

fs::path scratch_dir() {
    const auto dir = fs::temp_directory_path() / ("sluice_xgb_op_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir;
}

/// Builds the registered `xgboost` transform from YAML texts, as a pipeline would.
std::unique_ptr<transform> make(const std::vector<std::pair<std::string, std::string>>& values,
                                const std::string& id = "model") {
    register_builtin_operators();
    const auto* d = operator_registry::global().find(operator_role::transform, "xgboost");
    REQUIRE(d != nullptr);
    const auto opts = options::from_values(d->spec, "xgboost", id, values);
    build_context ctx;
    return d->make_transform(opts, ctx);
}

/// The messages of the config_error `values` produce (empty if none).
std::string build_error(const std::vector<std::pair<std::string, std::string>>& values) {
    try {
        make(values);
    } catch (const config_error& e) {
        return e.what();
    }
    return {};
}

schema_ptr reading_schema() {
    return make_schema({{"temperature", data_type::float64, true},
                        {"humidity", data_type::float64, true},
                        {"hour_of_day", data_type::int64, true},
                        {"day_of_week", data_type::int64, true},
                        {"sensor_id", data_type::string, true}});
}

struct reading {
    std::optional<double> temperature;
    std::optional<double> humidity;
    std::optional<std::int64_t> hour;
    std::optional<std::int64_t> day;
};

batch readings(const std::vector<reading>& rows) {
    auto t = std::make_shared<column>(data_type::float64);
    auto h = std::make_shared<column>(data_type::float64);
    auto hour = std::make_shared<column>(data_type::int64);
    auto day = std::make_shared<column>(data_type::int64);
    auto id = std::make_shared<column>(data_type::string);
    for (const auto& r : rows) {
        r.temperature ? t->push_float64(*r.temperature) : t->push_null();
        r.humidity ? h->push_float64(*r.humidity) : h->push_null();
        r.hour ? hour->push_int64(*r.hour) : hour->push_null();
        r.day ? day->push_int64(*r.day) : day->push_null();
        id->push_string("sensor-0001");
    }
    return batch(reading_schema(), {t, h, hour, day, id});
}

schema_ptr bind_ok(transform& op, const schema_ptr& input) {
    diagnostics_collector out;
    bind_context ctx(
            "xgboost", "model", [](std::string_view) { return source_location{}; }, &out);
    auto s = op.bind(input, ctx);
    INFO((out.empty() ? std::string() : out.items().front().message));
    REQUIRE(s != nullptr);
    return s;
}

std::string bind_error(transform& op, const schema_ptr& input) {
    diagnostics_collector out;
    bind_context ctx(
            "xgboost", "model", [](std::string_view) { return source_location{}; }, &out);
    CHECK(op.bind(input, ctx) == nullptr);
    return out.empty() ? std::string() : out.items().front().message;
}

std::vector<float> predict_rows(const std::string& model,
                                const std::vector<std::vector<float>>& rows) {
    const auto p = load_predictor(model, prediction_backend::xgboost);
    std::vector<float> flat;
    for (const auto& r : rows) {
        flat.insert(flat.end(), r.begin(), r.end());
    }
    std::vector<float> out(rows.size() * outputs_per_row(p->info()));
    p->predict(flat, rows.size(), out);
    return out;
}

constexpr float missing_value = std::numeric_limits<float>::quiet_NaN();

}  // namespace

TEST_CASE("the shipped models carry their feature names and objectives", "[xgboost]") {
    const auto status = read_model_info(shipped("status_predictor"));
    CHECK(status.objective == "multi:softprob");
    CHECK(status.task == model_task::multiclass);
    CHECK(status.num_classes == 3);
    CHECK(status.num_parallel_tree == 20);
    CHECK(status.num_trees == 60);
    CHECK(status.feature_names ==
          std::vector<std::string>{"temperature", "humidity", "hour_of_day", "day_of_week"});
    const auto anomaly = read_model_info(shipped("anomaly_detector"));
    CHECK(anomaly.booster == "gblinear");
    CHECK(anomaly.task == model_task::binary);
    const auto humidity = read_model_info(shipped("humidity_regressor"));
    CHECK(humidity.task == model_task::regression);
    CHECK(humidity.num_trees == 10);
}

TEST_CASE("a multiclass model appends the class and one probability per class", "[xgboost]") {
    for (const auto* backend : {"xgboost", "native"}) {
        auto op = make({{"model", shipped("status_predictor")},
                        {"features", "[temperature, humidity, hour_of_day, day_of_week]"},
                        {"backend", backend}},
                       "status");
        const auto out_schema = bind_ok(*op, reading_schema());
        REQUIRE(out_schema->size() == 5 + 4);
        CHECK(out_schema->at(5).name == "status_class");
        CHECK(out_schema->at(5).type == data_type::int64);
        CHECK(out_schema->at(8).name == "status_probability_2");
        operator_context ctx("xgboost", "status", nullptr, nullptr, nullptr);
        const auto out = op->process(
                readings({{21.0, 45.0, 14, 2}, {34.0, 15.0, 3, 6}, {16.0, 66.0, 9, 0}}), ctx);
        REQUIRE(out.num_rows() == 3);
        const auto expected = predict_rows(shipped("status_predictor"),
                                           {{21, 45, 14, 2}, {34, 15, 3, 6}, {16, 66, 9, 0}});
        for (std::size_t r = 0; r < 3; ++r) {
            double sum = 0;
            std::size_t best = 0;
            for (std::size_t k = 0; k < 3; ++k) {
                const double p = out.column_at(6 + k).float64_values()[r];
                CHECK(p == Approx(expected[r * 3 + k]).margin(1e-5));
                sum += p;
                best = p > out.column_at(6 + best).float64_values()[r] ? k : best;
            }
            CHECK(sum == Approx(1.0).margin(1e-5));
            CHECK(out.column_at(5).int64_values()[r] == static_cast<std::int64_t>(best));
        }
        // The clear cases: a comfortable reading is ok (0), a hot dry one an error (2).
        CHECK(out.column_at(5).int64_values()[0] == 0);
        CHECK(out.column_at(5).int64_values()[1] == 2);
        CHECK(out.column_at(4).string_at(0) == "sensor-0001");  // input columns pass through
    }
}

TEST_CASE("a binary model appends probability and a thresholded label", "[xgboost]") {
    auto op = make({{"model", shipped("anomaly_detector")},
                    {"features", "[temperature, humidity, hour_of_day]"},
                    {"threshold", "0.3"},
                    {"outputs", "[spike_p, spike]"}});
    const auto s = bind_ok(*op, reading_schema());
    CHECK(s->at(5).name == "spike_p");
    CHECK(s->at(6).name == "spike");
    operator_context ctx("xgboost", "model", nullptr, nullptr, nullptr);
    const auto out = op->process(readings({{21.0, 45.0, 14, 2}, {45.0, 20.0, 14, 2}}), ctx);
    const auto expected = predict_rows(shipped("anomaly_detector"), {{21, 45, 14}, {45, 20, 14}});
    for (std::size_t r = 0; r < 2; ++r) {
        const double p = out.column_at(5).float64_values()[r];
        CHECK(p == Approx(expected[r]).margin(1e-6));
        CHECK(out.column_at(6).int64_values()[r] == (p >= 0.3 ? 1 : 0));
    }
    CHECK(out.column_at(6).int64_values()[0] == 0);  // a normal reading
    CHECK(out.column_at(6).int64_values()[1] == 1);  // 45 °C indoors is a spike
}

TEST_CASE("a regression model appends its value; feature_map renames columns", "[xgboost]") {
    auto op =
            make({{"model", shipped("humidity_regressor")},
                  {"feature_map", "{temp_c: temperature, hour: hour_of_day, weekday: day_of_week}"},
                  {"output_prefix", "predicted_"}});
    const auto input = make_schema({{"hour", data_type::int64, true},
                                    {"temp_c", data_type::float64, true},
                                    {"weekday", data_type::int64, true}});
    const auto s = bind_ok(*op, input);
    CHECK(s->at(3).name == "predicted_value");
    auto hour = std::make_shared<column>(data_type::int64);
    auto temp = std::make_shared<column>(data_type::float64);
    auto weekday = std::make_shared<column>(data_type::int64);
    hour->push_int64(13);
    temp->push_float64(24.5);
    weekday->push_int64(4);
    operator_context ctx("xgboost", "model", nullptr, nullptr, nullptr);
    const auto out = op->process(batch(input, {hour, temp, weekday}), ctx);
    CHECK(out.column_at(3).float64_values()[0] ==
          Approx(predict_rows(shipped("humidity_regressor"), {{24.5, 13, 4}})[0]).margin(1e-6));
}

TEST_CASE("nulls reach the model as missing values, not as zeros", "[xgboost]") {
    // Find rows where the model treats a missing humidity differently from 0 %, so the check
    // below can tell the two apart.
    std::vector<reading> rows;
    std::vector<std::vector<float>> as_missing;
    std::vector<std::vector<float>> as_zero;
    for (int t = 10; t <= 36; t += 2) {
        rows.push_back({static_cast<double>(t), std::nullopt, 12, 3});
        as_missing.push_back({static_cast<float>(t), missing_value, 12, 3});
        as_zero.push_back({static_cast<float>(t), 0, 12, 3});
    }
    const auto missing = predict_rows(shipped("status_predictor"), as_missing);
    const auto zero = predict_rows(shipped("status_predictor"), as_zero);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < missing.size(); ++i) {
        differ += std::abs(missing[i] - zero[i]) > 1e-4F ? 1 : 0;
    }
    REQUIRE(differ > 0);
    for (const auto* backend : {"xgboost", "native"}) {
        auto op = make({{"model", shipped("status_predictor")},
                        {"features", "[temperature, humidity, hour_of_day, day_of_week]"},
                        {"backend", backend}});
        bind_ok(*op, reading_schema());
        operator_context ctx("xgboost", "model", nullptr, nullptr, nullptr);
        const auto out = op->process(readings(rows), ctx);
        for (std::size_t r = 0; r < rows.size(); ++r) {
            for (std::size_t k = 0; k < 3; ++k) {
                CHECK(out.column_at(6 + k).float64_values()[r] ==
                      Approx(missing[r * 3 + k]).margin(1e-5));
            }
        }
    }
}

TEST_CASE("features that do not match the model fail the build with a clear error", "[xgboost]") {
    const auto model = shipped("status_predictor");
    SECTION("a wrong feature name") {
        const auto e = build_error(
                {{"model", model}, {"features", "[temp, humidity, hour_of_day, day_of_week]"}});
        CHECK_THAT(e, Catch::Contains("error[feature-mismatch]"));
        CHECK_THAT(
                e,
                Catch::Contains("'temp' is not a feature of model '" + model +
                                "' (features: temperature, humidity, hour_of_day, day_of_week)"));
    }
    SECTION("a wrong feature count") {
        const auto e = build_error({{"model", model}, {"features", "[temperature, humidity]"}});
        CHECK_THAT(e,
                   Catch::Contains("model '" + model +
                                   "' expects 4 features (temperature, humidity, hour_of_day, "
                                   "day_of_week); 2 given"));
    }
    SECTION("a feature given twice") {
        const auto e =
                build_error({{"model", model},
                             {"feature_map",
                              "{a: temperature, b: temperature, c: hour_of_day, d: day_of_week}"}});
        CHECK_THAT(e, Catch::Contains("model feature 'temperature' is given twice"));
    }
    SECTION("both or neither of features and feature_map") {
        CHECK_THAT(build_error({{"model", model}}),
                   Catch::Contains("requires 'features' (or 'feature_map')"));
        CHECK_THAT(build_error({{"model", model}, {"features", "[a]"}, {"feature_map", "{a: b}"}}),
                   Catch::Contains("give either 'features' or 'feature_map', not both"));
    }
    SECTION("the wrong number of output names") {
        const auto e =
                build_error({{"model", model},
                             {"features", "[temperature, humidity, hour_of_day, day_of_week]"},
                             {"outputs", "[a, b]"}});
        CHECK_THAT(
                e,
                Catch::Contains(
                        "is multiclass and makes 4 outputs (class, probability_0, probability_1, "
                        "probability_2); 'outputs' names 2"));
    }
}

TEST_CASE("input columns that do not fit fail at bind with the column named", "[xgboost]") {
    auto op = make({{"model", shipped("status_predictor")},
                    {"feature_map",
                     "{temperature: temperature, humidity: humidity, hour_of_day: hour_of_day, "
                     "sensor_id: day_of_week}"}});
    CHECK_THAT(
            bind_error(*op, reading_schema()),
            Catch::Contains(
                    "column 'sensor_id' is string; model features must be float64, int64 or bool"));
    auto op2 = make({{"model", shipped("status_predictor")},
                     {"features", "[temperature, humidity, hour_of_day, day_of_week]"}});
    const auto lacking = make_schema({{"temperature", data_type::float64, true},
                                      {"humidity", data_type::float64, true},
                                      {"hour_of_day", data_type::int64, true}});
    CHECK_THAT(bind_error(*op2, lacking),
               Catch::Contains(
                       "column 'day_of_week' (model feature 'day_of_week') is not in the input"));
    auto op3 = make({{"model", shipped("status_predictor")},
                     {"features", "[temperature, humidity, hour_of_day, day_of_week]"},
                     {"outputs", "[sensor_id, p0, p1, p2]"}});
    CHECK_THAT(bind_error(*op3, reading_schema()),
               Catch::Contains("output column 'sensor_id' already exists"));
}

TEST_CASE("missing, corrupt and wrong-kind model files fail the build naming the file",
          "[xgboost]") {
    const auto dir = scratch_dir();
    const auto features = std::pair<std::string, std::string>{"features", "[a, b]"};
    SECTION("missing") {
        const auto path = (dir / "nope.json").string();
        const auto e = build_error({{"model", path}, features});
        CHECK_THAT(e, Catch::Contains("error[bad-model]"));
        CHECK_THAT(e,
                   Catch::Contains("model file '" + path +
                                   "' cannot be opened: No such file or directory"));
    }
    SECTION("empty") {
        const auto path = (dir / "empty.json").string();
        std::ofstream(path).close();
        CHECK_THAT(build_error({{"model", path}, features}),
                   Catch::Contains("model file '" + path + "' is empty"));
    }
    SECTION("corrupt: a truncated model") {
        std::ifstream in(shipped("humidity_regressor"));
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto path = (dir / "truncated.json").string();
        std::ofstream(path) << text.substr(0, text.size() / 2);
        CHECK_THAT(build_error({{"model", path}, features}),
                   Catch::Contains("model file '" + path + "' is not a valid XGBoost model"));
    }
    SECTION("corrupt: random bytes") {
        const auto path = (dir / "noise.ubj").string();
        std::string noise;
        for (int i = 0; i < 4096; ++i) {
            noise += static_cast<char>((i * 7919 + 13) & 0xFF);
        }
        std::ofstream(path, std::ios::binary) << noise;
        CHECK_THAT(build_error({{"model", path}, features}),
                   Catch::Contains("model file '" + path + "' is not a valid XGBoost model"));
    }
    SECTION("wrong kind: JSON that is not a model") {
        const auto path = (dir / "config.json").string();
        std::ofstream(path) << R"({"name": "quickstart", "sources": {}})";
        CHECK_THAT(build_error({{"model", path}, features}),
                   Catch::Contains("model file '" + path + "'"));
    }
    SECTION("wrong kind: an unsupported objective") {
        // A ranking model (written by XGBoost's Python package) loads in XGBoost but has no
        // probability/class/value meaning here.
        const auto path = (dir / "rank.json").string();
        const std::string command =
                "/usr/bin/python3 -c \"import numpy as np, xgboost as xgb; X = "
                "np.arange(40.0).reshape(20, 2); "
                "d = xgb.DMatrix(X, label=np.arange(20) % 3); d.set_group([10, 10]); "
                "xgb.train({'objective': 'rank:pairwise'}, d, 1).save_model('" +
                path + "')\"";
        REQUIRE(std::system(command.c_str()) == 0);
        CHECK_THAT(build_error({{"model", path}, features}),
                   Catch::Contains(
                           "has objective 'rank:pairwise', which this operator does not support"));
    }
}

TEST_CASE("models written by XGBoost's Python package predict in the operator as in Python",
          "[xgboost][python]") {
    // The Python package (Debian python3-xgboost, used only here) trains a binary and a 3-class
    // model on named features, saves each as JSON and UBJSON, and predicts rows with missing
    // values itself; the operator must give the same outputs with nulls for the missing values.
    const auto dir = scratch_dir() / "python_models";
    const std::string script = R"PY(
rng = np.random.default_rng(21)
X = rng.normal(size=(3000, 2)) * 10
X[rng.random(size=X.shape) < 0.1] = np.nan
names = ["temp_c", "rh"]
models = {
    "binary": ((np.nan_to_num(X[:, 0]) > np.nan_to_num(X[:, 1])).astype(int), {"objective": "binary:logistic", "max_depth": 4}),
    "multi": ((np.nan_to_num(X[:, 0]) > 2).astype(int) + (np.nan_to_num(X[:, 1]) > 4).astype(int), {"objective": "multi:softprob", "num_class": 3, "max_depth": 3}),
}
T = rng.normal(size=(500, 2)) * 12
T[rng.random(size=T.shape) < 0.2] = np.nan
train_and_save(models, X, T, names, seed=2, rounds=6)
)PY";
    xgboost_python::run_script(dir, script);

    const auto rows = xgboost_python::read_csv(dir / "rows.csv");
    REQUIRE(rows.size() == 500 * 2);
    const auto input =
            make_schema({{"rh", data_type::float64, true}, {"temp_c", data_type::float64, true}});
    auto temp = std::make_shared<column>(data_type::float64);
    auto rh = std::make_shared<column>(data_type::float64);
    std::size_t nulls = 0;
    for (std::size_t r = 0; r < 500; ++r) {
        std::isnan(rows[r * 2]) ? (++nulls, temp->push_null()) : temp->push_float64(rows[r * 2]);
        std::isnan(rows[r * 2 + 1]) ? (++nulls, rh->push_null())
                                    : rh->push_float64(rows[r * 2 + 1]);
    }
    REQUIRE(nulls > 50);
    const batch readings_in(input, {rh, temp});  // columns in another order than the model's

    for (const auto* name : {"binary", "multi"}) {
        const auto expected = xgboost_python::read_csv(dir / (std::string(name) + ".expected.csv"));
        const std::size_t per_row = std::string(name) == "binary" ? 1 : 3;
        REQUIRE(expected.size() == 500 * per_row);
        for (const auto* ext : {".json", ".ubj"}) {
            const auto path = (dir / (std::string(name) + ext)).string();
            CHECK_THAT(build_error({{"model", path}, {"features", "[temperature, rh]"}}),
                       Catch::Contains("'temperature' is not a feature of model '" + path +
                                       "' (features: temp_c, rh)"));
            for (const auto* backend : {"xgboost", "native"}) {
                INFO(path << " backend " << backend);
                auto op =
                        make({{"model", path}, {"features", "[rh, temp_c]"}, {"backend", backend}},
                             "py");
                bind_ok(*op, input);
                operator_context ctx("xgboost", "py", nullptr, nullptr, nullptr);
                const auto out = op->process(readings_in, ctx);
                REQUIRE(out.num_rows() == 500);
                std::size_t bad = 0;
                for (std::size_t r = 0; r < 500; ++r) {
                    if (per_row == 1) {
                        const double p = out.find_column("py_probability")->float64_values()[r];
                        bad += std::abs(p - expected[r]) <= 1e-5 ? 0 : 1;
                        bad += out.find_column("py_label")->int64_values()[r] == (p >= 0.5 ? 1 : 0)
                                       ? 0
                                       : 1;
                        continue;
                    }
                    for (std::size_t k = 0; k < 3; ++k) {
                        const double p = out.find_column("py_probability_" + std::to_string(k))
                                                 ->float64_values()[r];
                        bad += std::abs(p - expected[r * 3 + k]) <= 1e-5 ? 0 : 1;
                    }
                    const auto* row = expected.data() + r * 3;
                    const auto best = std::max_element(row, row + 3) - row;
                    bad += out.find_column("py_class")->int64_values()[r] == best ? 0 : 1;
                }
                CHECK(bad == 0);
            }
        }
    }
}

TEST_CASE("one operator called from several threads at once gives the single-threaded outputs",
          "[xgboost][threads]") {
    // The transform declares itself parallel; the graph may call process() concurrently. Both
    // backends, a tree model and gblinear (XGBoost's DMatrix path), from 4 threads at once.
    std::vector<reading> rows;
    for (int i = 0; i < 300; ++i) {
        rows.push_back({10.0 + (i % 31),
                        i % 11 == 0 ? std::nullopt : std::optional<double>(20.0 + (i % 53)),
                        i % 24,
                        i % 7});
    }
    const batch input = readings(rows);
    const std::vector<std::pair<std::string, std::string>> models{
            {"status_predictor", "[temperature, humidity, hour_of_day, day_of_week]"},
            {"anomaly_detector", "[temperature, humidity, hour_of_day]"}};
    for (const auto& [name, features] : models) {
        for (const auto* backend : {"xgboost", "native"}) {
            INFO(name << " backend " << backend);
            auto op =
                    make({{"model", shipped(name)}, {"features", features}, {"backend", backend}});
            bind_ok(*op, reading_schema());
            operator_context solo("xgboost", "model", nullptr, nullptr, nullptr);
            const auto expected = op->process(input, solo);
            std::atomic<std::size_t> differences{0};
            std::vector<std::thread> threads;
            for (int t = 0; t < 4; ++t) {
                threads.emplace_back([&] {
                    operator_context ctx("xgboost", "model", nullptr, nullptr, nullptr);
                    for (int i = 0; i < 25; ++i) {
                        const auto out = op->process(input, ctx);
                        for (std::size_t c = 5; c < out.num_columns(); ++c) {
                            const auto& got = out.column_at(c);
                            const auto& want = expected.column_at(c);
                            const bool same = got.type() == data_type::float64
                                                      ? std::ranges::equal(got.float64_values(),
                                                                           want.float64_values())
                                                      : std::ranges::equal(got.int64_values(),
                                                                           want.int64_values());
                            differences += same ? 0 : 1;
                        }
                    }
                });
            }
            for (auto& t : threads) {
                t.join();
            }
            CHECK(differences.load() == 0);
        }
    }
}

TEST_CASE("a pipeline runs the three shipped models, both backends agreeing",
          "[xgboost][pipeline]") {
    register_builtin_operators();
    const auto models = (fs::path(SLUICE_SOURCE_DIR) / "models").string();
    std::string yaml = R"(name: three_models
sources:
  fleet: {type: generator, count: 20000, emit: columns, sensors: 50, rate: 0, seed: 9, anomaly_rate: 0.05,
          batch: {max_records: 777}}
transforms:
)";
    for (const auto* backend : {"xgboost", "native"}) {
        const std::string b = backend;
        const std::string input = b == "xgboost" ? "fleet" : "humidity_xgboost";
        yaml += "  status_" + b + ": {type: xgboost, inputs: [" + input + "], backend: " + b +
                ", model: " + models +
                "/status_predictor.json, features: [temperature, humidity, hour_of_day, "
                "day_of_week]}\n";
        yaml += "  anomaly_" + b + ": {type: xgboost, inputs: [status_" + b + "], backend: " + b +
                ", model: " + models +
                "/anomaly_detector.json, features: [temperature, humidity, hour_of_day]}\n";
        yaml += "  humidity_" + b + ": {type: xgboost, inputs: [anomaly_" + b + "], backend: " + b +
                ", model: " + models +
                "/humidity_regressor.json, features: [temperature, hour_of_day, day_of_week]}\n";
    }
    yaml += R"(  differ:
    type: filter
    inputs: [humidity_native]
    condition: "abs(status_xgboost_probability_1 - status_native_probability_1) > 0.00001 or status_xgboost_class != status_native_class or abs(anomaly_xgboost_probability - anomaly_native_probability) > 0.00001 or abs(humidity_xgboost_value - humidity_native_value) > 0.00001"
sinks:
  all: {type: blackhole, inputs: [humidity_native]}
  disagreements: {type: blackhole, inputs: [differ]}
)";
    const auto p = load_pipeline_from_string(yaml, "three_models.yaml");
    const auto summary = p->run();
    CHECK(summary.records_read == 20000);
    CHECK(summary.records_rejected == 0);
    CHECK(summary.records_written == 20000);  // every record reaches `all`, none `disagreements`
}
