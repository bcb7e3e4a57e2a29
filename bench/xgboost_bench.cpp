// Rows/s of the `xgboost` operator's two backends on the three shipped models, one core:
// XGBoost's own predictor (inplace predict; a DMatrix for gblinear) vs the compiled forest,
// at batch sizes 1, 64, 1024 and 16384; then the whole decode -> three models -> blackhole
// pipeline with each backend (several runs: median and spread, with an output checksum).
// Beside the shipped (depth-5, 3-4 feature) models, models trained here on random data cover
// other depths and feature counts: a 20-tree-per-class forest and 10 boosted trees at depth 8
// over 32 features, and past the compiled forest's perfect-tree layout (depth > 12, its compact
// breadth-first nodes) over 16 features: a forest of depth 14, 10 boosted trees of depth 14 and
// 10 of depth 20.
//
//   build/<release dir>/xgboost_bench                       (run from the repository root)
//   SLUICE_FOREST_KERNEL=scalar build/.../xgboost_bench     (the portable kernel, no AVX-512)

#include <sluice/ops/xgboost.hpp>
#include <sluice/sluice.hpp>

#include <fmt/format.h>

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <random>

using namespace sluice;
using namespace sluice::ml;

namespace {

struct model_case {
    const char* name;
    std::vector<std::string> features;
    bool synthetic = false;  // trained at start-up on random rows (synthetic_models)
};

std::string synthetic_dir() {
    static const std::string dir = (std::filesystem::temp_directory_path() /
                                    ("sluice_xgboost_bench_" + std::to_string(::getpid())))
                                           .string();
    return dir;
}

std::vector<std::string> numbered_features(std::size_t n) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < n; ++i) {
        names.push_back(fmt::format("f{}", i));
    }
    return names;
}

/// `rows` random rows over `features` columns (normal, 5 % missing).
std::vector<float> random_matrix(std::size_t rows, std::size_t features, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    std::uniform_real_distribution<float> unit(0.0F, 1.0F);
    std::vector<float> out(rows * features);
    for (auto& v : out) {
        v = unit(rng) < 0.05F ? std::numeric_limits<float>::quiet_NaN() : normal(rng);
    }
    return out;
}

/// Trains the synthetic models: a target that mixes many features non-linearly, so trees
/// use their full depth.
void train_synthetic(const char* name,
                     std::size_t features,
                     std::size_t rounds,
                     std::vector<std::pair<std::string, std::string>> params,
                     bool classes) {
    training_table t;
    t.features = numbered_features(features);
    constexpr std::size_t rows = 40'000;
    t.values = random_matrix(rows, features, 17);
    for (std::size_t r = 0; r < rows; ++r) {
        double y = 0;
        for (std::size_t j = 0; j < features; ++j) {
            const float v = t.values[r * features + j];
            y += std::isnan(v) ? 0.0
                               : std::sin(v * static_cast<double>(j + 1)) /
                                         static_cast<double>(j % 5 + 1);
        }
        t.labels.push_back(classes ? static_cast<float>(y < -0.5  ? 0
                                                        : y < 0.5 ? 1
                                                                  : 2)
                                   : static_cast<float>(y));
        t.times.push_back(static_cast<std::int64_t>(r));
    }
    training_spec spec;
    spec.name = name;
    spec.features = t.features;
    spec.rounds = rounds;
    spec.params = std::move(params);
    spec.params.emplace_back("nthread", "1");
    spec.params.emplace_back("seed", "1");
    spec.model_path = fmt::format("{}/{}.json", synthetic_dir(), name);
    const auto result = train_model(spec, t);
    std::fprintf(stderr,
                 "trained %s: %zu trees, max depth %zu, %zu features\n",
                 name,
                 result.info.num_trees,
                 result.info.max_depth,
                 features);
}

void synthetic_models() {
    std::filesystem::create_directories(synthetic_dir());
    train_synthetic("forest_depth8_f32",
                    32,
                    1,
                    {{"objective", "multi:softprob"},
                     {"num_class", "3"},
                     {"num_parallel_tree", "20"},
                     {"max_depth", "8"},
                     {"learning_rate", "1"},
                     {"subsample", "0.8"},
                     {"colsample_bynode", "0.8"},
                     {"tree_method", "hist"}},
                    true);
    train_synthetic(
            "boosted_depth8_f32",
            32,
            10,
            {{"objective", "reg:squarederror"}, {"max_depth", "8"}, {"tree_method", "hist"}},
            false);
    train_synthetic("boosted_depth14_f16",
                    16,
                    10,
                    {{"objective", "reg:squarederror"},
                     {"max_depth", "14"},
                     {"min_child_weight", "0"},
                     {"lambda", "0"},
                     {"tree_method", "hist"}},
                    false);
    train_synthetic("forest_depth14_f16",
                    16,
                    1,
                    {{"objective", "multi:softprob"},
                     {"num_class", "3"},
                     {"num_parallel_tree", "20"},
                     {"max_depth", "14"},
                     {"learning_rate", "1"},
                     {"subsample", "0.8"},
                     {"colsample_bynode", "0.8"},
                     {"min_child_weight", "0"},
                     {"tree_method", "hist"}},
                    true);
    train_synthetic("boosted_depth20_f16",
                    16,
                    10,
                    {{"objective", "reg:squarederror"},
                     {"max_depth", "20"},
                     {"min_child_weight", "0"},
                     {"lambda", "0"},
                     {"tree_method", "hist"}},
                    false);
}

const std::vector<model_case>& cases() {
    static const std::vector<model_case> all{
            {"status_predictor", {"temperature", "humidity", "hour_of_day", "day_of_week"}},
            {"anomaly_detector", {"temperature", "humidity", "hour_of_day"}},
            {"humidity_regressor", {"temperature", "hour_of_day", "day_of_week"}},
            {"forest_depth8_f32", numbered_features(32), true},
            {"boosted_depth8_f32", numbered_features(32), true},
            {"boosted_depth14_f16", numbered_features(16), true},
            {"forest_depth14_f16", numbered_features(16), true},
            {"boosted_depth20_f16", numbered_features(16), true},
    };
    return all;
}

std::string model_path(const char* name) {
    for (const auto& m : cases()) {
        if (m.synthetic && std::string_view(m.name) == name) {
            return fmt::format("{}/{}.json", synthetic_dir(), name);
        }
    }
    const char* dir = std::getenv("SLUICE_MODEL_DIR");
    return fmt::format("{}/{}.json", dir != nullptr ? dir : "models", name);
}

/// 16384 simulated readings as a row-major feature matrix for `features`.
std::vector<float> rows_for(const std::vector<std::string>& features) {
    simulator_config c;
    c.sensors = 200;
    c.seed = 5;
    c.interval_ms = 60'000;
    sensor_simulator sim(c);
    const auto b = sim.next_columns(16'384);
    std::vector<float> out;
    out.reserve(b.num_rows() * features.size());
    for (std::size_t r = 0; r < b.num_rows(); ++r) {
        for (const auto& f : features) {
            const auto& col = *b.find_column(f);
            out.push_back(col.type() == data_type::float64
                                  ? static_cast<float>(col.float64_values()[r])
                                  : static_cast<float>(col.int64_values()[r]));
        }
    }
    return out;
}

void predict_rows(benchmark::State& state, const model_case& m, prediction_backend backend) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const auto p = load_predictor(model_path(m.name), backend, 1);
    const auto rows =
            m.synthetic ? random_matrix(16'384, m.features.size(), 99) : rows_for(m.features);
    const std::size_t f = m.features.size();
    const std::size_t total = rows.size() / f;
    std::vector<float> out(batch * outputs_per_row(p->info()));
    std::size_t at = 0;
    double checksum = 0;
    for (auto _ : state) {
        if (at + batch > total) {
            at = 0;
        }
        p->predict({rows.data() + at * f, batch * f}, batch, out);
        checksum += out[0];
        benchmark::DoNotOptimize(out.data());
        at += batch;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
    state.counters["checksum"] = checksum / static_cast<double>(state.iterations());
}

// A sink that sums the prediction columns: the pipeline's checksum.
class checksum_sink final : public sink {
public:
    static std::atomic<std::uint64_t> rows;
    static double sum;
    static std::mutex mutex;

    void bind(const schema_ptr& input, bind_context&) override { schema_ = input; }
    void consume(const batch& input, operator_context&) override {
        double s = 0;
        for (std::size_t c = 0; c < input.num_columns(); ++c) {
            const auto& name = schema_->at(c).name;
            if (name.find("_probability") == std::string::npos &&
                name.find("_value") == std::string::npos) {
                continue;
            }
            for (const double v : input.column_at(c).float64_values()) {
                s += v;
            }
        }
        rows += input.num_rows();
        std::lock_guard lock(mutex);
        sum += s;
    }

private:
    schema_ptr schema_;
};
std::atomic<std::uint64_t> checksum_sink::rows{0};
double checksum_sink::sum = 0;
std::mutex checksum_sink::mutex;

void pipeline_runs() {
    register_builtin_operators();
    operator_registry::global().add_sink(
            "bench_checksum",
            "sums prediction columns (benchmark)",
            [](option_spec&) {},
            [](const options&, build_context&) -> std::unique_ptr<sink> {
                return std::make_unique<checksum_sink>();
            });
    constexpr std::size_t records = 400'000;
    constexpr int runs = 5;
    std::printf(
            "\npipeline: generator (JSON, %zu records, 200 sensors, batch 1024) -> json_decode -> "
            "status_predictor "
            "-> anomaly_detector -> humidity_regressor -> checksum sink; runtime threads 1; %d "
            "runs each\n",
            records,
            runs);
    std::map<std::string, double> medians;
    for (const auto* backend : {"xgboost", "native"}) {
        const auto yaml = fmt::format(R"(name: bench
runtime: {{threads: 1}}
sources:
  fleet: {{type: generator, count: {}, sensors: 200, rate: 0, seed: 3, emit: json, batch: {{max_records: 1024}}}}
transforms:
  parsed:
    type: json_decode
    inputs: [fleet]
    schema: {{sensor_id: string, temperature: float64, humidity: float64, timestamp: timestamp_ms,
             hour_of_day: int64, day_of_week: int64, status_flag: int64, location: string, is_anomaly: bool}}
  status: {{type: xgboost, inputs: [parsed], backend: {}, model: {}, features: [temperature, humidity, hour_of_day, day_of_week]}}
  anomaly: {{type: xgboost, inputs: [status], backend: {}, model: {}, features: [temperature, humidity, hour_of_day]}}
  humidity: {{type: xgboost, inputs: [anomaly], backend: {}, model: {}, features: [temperature, hour_of_day, day_of_week]}}
sinks:
  out: {{type: bench_checksum, inputs: [humidity]}}
)",
                                      records,
                                      backend,
                                      model_path("status_predictor"),
                                      backend,
                                      model_path("anomaly_detector"),
                                      backend,
                                      model_path("humidity_regressor"));
        std::vector<double> rates;
        double checksum = 0;
        for (int run = 0; run < runs; ++run) {
            checksum_sink::rows = 0;
            checksum_sink::sum = 0;
            const auto p = load_pipeline_from_string(yaml, "bench.yaml");
            const auto started = std::chrono::steady_clock::now();
            p->run();
            const double seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                            .count();
            if (checksum_sink::rows != records) {
                std::fprintf(stderr,
                             "pipeline delivered %llu of %zu records\n",
                             static_cast<unsigned long long>(checksum_sink::rows.load()),
                             records);
                std::exit(1);
            }
            rates.push_back(static_cast<double>(records) / seconds);
            checksum = checksum_sink::sum;
        }
        std::sort(rates.begin(), rates.end());
        medians[backend] = rates[runs / 2];
        std::printf("  backend %-8s median %10.0f records/s  (min %.0f, max %.0f)  checksum %.6f\n",
                    backend,
                    rates[runs / 2],
                    rates.front(),
                    rates.back(),
                    checksum);
    }
    std::printf("  native / xgboost: %.2fx\n", medians["native"] / medians["xgboost"]);
}

}  // namespace

int main(int argc, char** argv) {
    synthetic_models();
    for (const auto& m : cases()) {
        for (const auto backend : {prediction_backend::xgboost, prediction_backend::native}) {
            benchmark::RegisterBenchmark(
                    fmt::format("{}/{}", m.name, to_string(backend)).c_str(),
                    [&m, backend](benchmark::State& s) { predict_rows(s, m, backend); })
                    ->Arg(1)
                    ->Arg(64)
                    ->Arg(1024)
                    ->Arg(16384);
        }
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    std::filesystem::remove_all(synthetic_dir());
    if (std::getenv("SLUICE_BENCH_SKIP_PIPELINE") == nullptr) {
        pipeline_runs();
    }
    return 0;
}
