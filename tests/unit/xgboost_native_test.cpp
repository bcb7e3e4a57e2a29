// The compiled forest (`backend: native`) must agree with XGBoost's own predictor to 1e-5 on
// every row: models trained here (binary, multiclass random forest, regression, gblinear,
// trees deeper than the perfect layout), the shipped models, and models written by XGBoost's
// Python package. Rows are random with missing and extreme values.

#include "xgboost_python_support.hpp"

#include <sluice/ops/xgboost.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>

using namespace sluice;
using namespace sluice::ml;
namespace fs = std::filesystem;

namespace {

fs::path scratch_dir() {
    const auto dir =
            fs::temp_directory_path() / ("sluice_xgb_native_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir;
}

training_spec simulator_spec(const std::string& name,
                             std::vector<std::string> features,
                             std::string label,
                             std::size_t rounds,
                             std::vector<std::pair<std::string, std::string>> params,
                             std::size_t rows = 20'000) {
    training_spec s;
    s.name = name;
    s.data.type = training_source::kind::simulator;
    s.data.rows = rows;
    s.data.simulator.sensors = 40;
    s.data.simulator.interval_ms = 300'000;
    s.data.simulator.anomaly_rate = 0.1;
    s.features = std::move(features);
    s.label = std::move(label);
    s.rounds = rounds;
    s.params = std::move(params);
    s.params.emplace_back("nthread", "1");
    s.params.emplace_back("seed", "3");
    s.model_path = (scratch_dir() / (name + ".json")).string();
    return s;
}

/// Random rows: real values of the training table (they hit split thresholds exactly),
/// uniform values over a wide range, NaN, and extremes (+-0, denormals, +-1e30, +-FLT_MAX, +-inf).
std::vector<float> random_rows(const training_table& table, std::size_t rows, std::uint64_t seed) {
    const std::size_t f = table.features.size();
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> unit(0.0F, 1.0F);
    std::uniform_int_distribution<std::size_t> pick(0, table.rows() - 1);
    constexpr float extremes[] = {0.0F,
                                  -0.0F,
                                  std::numeric_limits<float>::denorm_min(),
                                  -std::numeric_limits<float>::denorm_min(),
                                  1e30F,
                                  -1e30F,
                                  std::numeric_limits<float>::max(),
                                  std::numeric_limits<float>::lowest(),
                                  std::numeric_limits<float>::infinity(),
                                  -std::numeric_limits<float>::infinity()};
    std::vector<float> out(rows * f);
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t j = 0; j < f; ++j) {
            const float u = unit(rng);
            float v = 0;
            if (u < 0.45F) {
                v = table.values[pick(rng) * f + j];
            } else if (u < 0.70F) {
                v = -50.0F + 200.0F * unit(rng);
            } else if (u < 0.85F) {
                v = std::numeric_limits<float>::quiet_NaN();
            } else {
                v = extremes[static_cast<std::size_t>(unit(rng) * 10) % 10];
            }
            out[r * f + j] = v;
        }
    }
    return out;
}

struct comparison {
    double max_difference = 0;
    std::size_t rows = 0;
    std::size_t mismatches = 0;
};

comparison compare_backends(const std::string& model,
                            const std::vector<float>& rows,
                            std::size_t n) {
    const auto reference = load_predictor(model, prediction_backend::xgboost);
    const auto native = load_predictor(model, prediction_backend::native);
    const std::size_t per_row = outputs_per_row(reference->info());
    std::vector<float> expected(n * per_row);
    std::vector<float> actual(n * per_row);
    // Batches of uneven size: the native kernel's block tails get exercised too.
    std::size_t done = 0;
    std::size_t step = 1;
    const std::size_t f = reference->info().num_features;
    while (done < n) {
        const std::size_t count = std::min(n - done, step);
        reference->predict({rows.data() + done * f, count * f},
                           count,
                           {expected.data() + done * per_row, count * per_row});
        native->predict({rows.data() + done * f, count * f},
                        count,
                        {actual.data() + done * per_row, count * per_row});
        done += count;
        step = step * 3 + 1 > 20'000 ? 1 : step * 3 + 1;
    }
    comparison c;
    c.rows = n;
    for (std::size_t i = 0; i < n * per_row; ++i) {
        const double d = std::abs(static_cast<double>(expected[i]) - actual[i]);
        const bool same_nan = std::isnan(expected[i]) && std::isnan(actual[i]);
        if (!same_nan && !(d <= 1e-5)) {
            if (c.mismatches < 5) {
                UNSCOPED_INFO("row " << i / per_row << " output " << i % per_row << ": xgboost "
                                     << expected[i] << " native " << actual[i]);
            }
            ++c.mismatches;
        }
        if (!same_nan && d > c.max_difference) {
            c.max_difference = d;
        }
    }
    return c;
}

/// Caps the compiled forest's kernel for predictors loaded while it lives ("" = best).
struct kernel_choice {
    explicit kernel_choice(const char* kernel) {
        if (*kernel != '\0') {
            ::setenv("SLUICE_FOREST_KERNEL", kernel, 1);
        }
    }
    ~kernel_choice() { ::unsetenv("SLUICE_FOREST_KERNEL"); }
};

/// Trains `spec` (whose trees must reach `min_depth`) and compares the backends on every kernel.
void check_agreement(const training_spec& spec,
                     std::size_t rows = 100'000,
                     std::size_t min_depth = 0) {
    const auto table = load_training_table(spec);
    const auto result = train_model(spec, table);
    INFO(spec.name << ": " << result.info.objective << " " << result.info.booster << ", "
                   << result.info.num_trees << " trees, depth " << result.info.max_depth);
    REQUIRE(result.info.max_depth >= min_depth);
    const auto values = random_rows(table, rows, 12345);
    // Every kernel the CPU has: AVX-512, AVX2 and the portable one.
    for (const char* kernel : {"", "avx2", "scalar"}) {
        const kernel_choice choice(kernel);
        const auto c = compare_backends(spec.model_path, values, rows);
        INFO("kernel cap '" << kernel << "': max |xgboost - native| = " << c.max_difference);
        CHECK(c.mismatches == 0);
    }
}

}  // namespace

TEST_CASE("native backend agrees with XGBoost on a boosted binary classifier",
          "[xgboost][native]") {
    check_agreement(simulator_spec(
            "binary_trees",
            {"temperature", "humidity", "hour_of_day"},
            "is_anomaly",
            15,
            {{"objective", "binary:logistic"}, {"max_depth", "6"}, {"tree_method", "hist"}}));
}

TEST_CASE("native backend agrees with XGBoost on a multiclass random forest", "[xgboost][native]") {
    check_agreement(simulator_spec("forest",
                                   {"temperature", "humidity", "hour_of_day", "day_of_week"},
                                   "status_flag",
                                   1,
                                   {{"objective", "multi:softprob"},
                                    {"num_class", "3"},
                                    {"num_parallel_tree", "20"},
                                    {"max_depth", "5"},
                                    {"subsample", "0.8"},
                                    {"colsample_bynode", "0.8"},
                                    {"learning_rate", "1"},
                                    {"tree_method", "hist"}}));
}

TEST_CASE("native backend agrees with XGBoost on multi:softmax with several rounds",
          "[xgboost][native]") {
    check_agreement(simulator_spec(
            "softmax",
            {"temperature", "humidity"},
            "status_flag",
            4,
            {{"objective", "multi:softmax"}, {"max_depth", "3"}, {"tree_method", "exact"}}));
}

TEST_CASE("native backend agrees with XGBoost on a regressor", "[xgboost][native]") {
    check_agreement(simulator_spec(
            "regression",
            {"temperature", "hour_of_day", "day_of_week", "status_flag"},
            "humidity",
            10,
            {{"objective", "reg:squarederror"}, {"max_depth", "5"}, {"tree_method", "hist"}}));
}

TEST_CASE("native backend agrees with XGBoost on trees deeper than the perfect layout",
          "[xgboost][native]") {
    // Loss-guided growth without a depth limit on a noisy target: trees grow deep.
    auto spec = simulator_spec("deep",
                               {"temperature", "humidity", "hour_of_day", "day_of_week"},
                               "humidity",
                               3,
                               {{"objective", "reg:squarederror"},
                                {"tree_method", "hist"},
                                {"grow_policy", "lossguide"},
                                {"max_depth", "0"},
                                {"max_leaves", "4000"},
                                {"lambda", "0"},
                                {"min_child_weight", "0"}},
                               40'000);
    const auto table = load_training_table(spec);
    train_model(spec, table);
    const auto info = read_model_info(spec.model_path);
    REQUIRE(info.max_depth > 12);  // the walk over child arrays is used, not only perfect trees
    const auto values = random_rows(table, 100'000, 99);
    for (const char* kernel : {"", "avx2", "scalar"}) {
        const kernel_choice choice(kernel);
        INFO("kernel cap '" << kernel << "'");
        CHECK(compare_backends(spec.model_path, values, 100'000).mismatches == 0);
    }
}

TEST_CASE("native backend agrees with XGBoost on a deep multiclass random forest",
          "[xgboost][native]") {
    // Depth-wise trees past the perfect layout (compact breadth-first nodes), three groups.
    check_agreement(simulator_spec("deep_forest",
                                   {"temperature", "humidity", "hour_of_day", "day_of_week"},
                                   "status_flag",
                                   1,
                                   {{"objective", "multi:softprob"},
                                    {"num_class", "3"},
                                    {"num_parallel_tree", "8"},
                                    {"max_depth", "16"},
                                    {"subsample", "0.8"},
                                    {"colsample_bynode", "0.8"},
                                    {"learning_rate", "1"},
                                    {"min_child_weight", "0"},
                                    {"lambda", "0"},
                                    {"tree_method", "hist"}},
                                   40'000),
                    100'000,
                    13);
}

TEST_CASE("native backend agrees with XGBoost on boosted trees of depth 20 split on exact values",
          "[xgboost][native]") {
    // The exact method splits between observed values, so the training values among the random
    // rows land right next to thresholds, at every level down to 20.
    check_agreement(simulator_spec("depth20",
                                   {"temperature", "hour_of_day", "day_of_week", "status_flag"},
                                   "humidity",
                                   4,
                                   {{"objective", "reg:squarederror"},
                                    {"max_depth", "20"},
                                    {"min_child_weight", "0"},
                                    {"lambda", "0"},
                                    {"tree_method", "exact"}},
                                   40'000),
                    100'000,
                    17);
}

TEST_CASE("native backend agrees with XGBoost on gblinear (a dot product)", "[xgboost][native]") {
    check_agreement(simulator_spec("linear",
                                   {"temperature", "humidity", "hour_of_day"},
                                   "is_anomaly",
                                   20,
                                   {{"booster", "gblinear"},
                                    {"objective", "binary:logistic"},
                                    {"lambda", "0.1"},
                                    {"updater", "coord_descent"}}));
}

TEST_CASE("native backend agrees with XGBoost on count:poisson (exp link)", "[xgboost][native]") {
    check_agreement(simulator_spec(
            "poisson",
            {"temperature", "humidity"},
            "hour_of_day",
            5,
            {{"objective", "count:poisson"}, {"max_depth", "4"}, {"tree_method", "hist"}}));
}

TEST_CASE("native backend agrees with XGBoost on the three shipped models", "[xgboost][native]") {
    const fs::path models = fs::path(SLUICE_SOURCE_DIR) / "models";
    for (const auto* name : {"status_predictor", "anomaly_detector", "humidity_regressor"}) {
        auto spec = load_training_spec((models / (std::string(name) + ".train.yaml")).string());
        spec.data.rows = 5'000;  // only for the value ranges of random rows
        const auto table = load_training_table(spec);
        const auto values = random_rows(table, 100'000, 7);
        const auto model = (models / (std::string(name) + ".json")).string();
        INFO(model);
        const auto c = compare_backends(model, values, 100'000);
        INFO("max |xgboost - native| = " << c.max_difference);
        CHECK(c.mismatches == 0);
    }
}

TEST_CASE("models written by XGBoost's Python package predict the same in both backends",
          "[xgboost][python]") {
    const auto dir = scratch_dir() / "python";
    const std::string script = R"PY(
rng = np.random.default_rng(5)
n, f = 4000, 5
X = rng.normal(size=(n, f)) * 10
X[rng.random(size=X.shape) < 0.1] = np.nan
names = ["f_a", "f_b", "f_c", "f_d", "f_e"]
targets = {
    "binary": ((np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) > 0).astype(int), {"objective": "binary:logistic", "max_depth": 4}),
    "multi": ((np.nan_to_num(X[:, 2]) > 3).astype(int) + (np.nan_to_num(X[:, 3]) > 5).astype(int), {"objective": "multi:softprob", "num_class": 3, "max_depth": 3, "num_parallel_tree": 4, "subsample": 0.7}),
    "reg": (np.nan_to_num(X[:, 0]) * 2 - np.nan_to_num(X[:, 4]), {"objective": "reg:squarederror", "max_depth": 5}),
}
T = rng.normal(size=(100000, f)) * 12
T[rng.random(size=T.shape) < 0.15] = np.nan
T[rng.random(size=T.shape) < 0.01] = 3e38
train_and_save(targets, X, T, names, seed=1, rounds=8)
)PY";
    xgboost_python::run_script(dir, script);
    const auto csv_rows = xgboost_python::read_csv(dir / "rows.csv");
    const std::vector<float> rows(csv_rows.begin(), csv_rows.end());
    constexpr std::size_t n = 100'000;
    REQUIRE(rows.size() == n * 5);
    for (const auto* name : {"binary", "multi", "reg"}) {
        const auto expected = xgboost_python::read_csv(dir / (std::string(name) + ".expected.csv"));
        for (const auto* ext : {".json", ".ubj"}) {
            const auto path = (dir / (std::string(name) + ext)).string();
            for (const auto backend : {prediction_backend::xgboost, prediction_backend::native}) {
                const auto p = load_predictor(path, backend);
                CHECK(p->info().feature_names ==
                      std::vector<std::string>{"f_a", "f_b", "f_c", "f_d", "f_e"});
                std::vector<float> out(expected.size());
                REQUIRE(out.size() == n * outputs_per_row(p->info()));
                p->predict(rows, n, out);
                std::size_t bad = 0;
                for (std::size_t i = 0; i < out.size(); ++i) {
                    // The CSV holds 9 significant digits: exact enough for a 1e-5 check.
                    bad += std::abs(static_cast<double>(out[i]) - expected[i]) <= 1e-5 ? 0 : 1;
                }
                INFO(path << " backend " << to_string(backend));
                CHECK(bad == 0);
            }
        }
    }
}
