// Rows/s of the `xgboost` operator's two backends on the three shipped models, one core:
// XGBoost's own predictor (inplace predict; a DMatrix for gblinear) vs the compiled forest,
// at batch sizes 1, 64, 1024 and 16384; then the whole decode -> three models -> blackhole
// pipeline with each backend (several runs: median and spread, with an output checksum).
//
//   build/<release dir>/xgboost_bench                       (run from the repository root)
//   SLUICE_FOREST_KERNEL=scalar build/.../xgboost_bench     (the portable kernel, no AVX-512)

#include <sluice/ops/xgboost.hpp>
#include <sluice/sluice.hpp>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

using namespace sluice;
using namespace sluice::ml;

namespace {

struct model_case {
    const char* name;
    std::vector<std::string> features;
};

const std::vector<model_case>& cases() {
    static const std::vector<model_case> all{
            {"status_predictor", {"temperature", "humidity", "hour_of_day", "day_of_week"}},
            {"anomaly_detector", {"temperature", "humidity", "hour_of_day"}},
            {"humidity_regressor", {"temperature", "hour_of_day", "day_of_week"}},
    };
    return all;
}

std::string model_path(const char* name) {
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
            out.push_back(col.type() == data_type::float64 ? static_cast<float>(col.float64_values()[r])
                                                           : static_cast<float>(col.int64_values()[r]));
        }
    }
    return out;
}

void predict_rows(benchmark::State& state, const model_case& m, prediction_backend backend) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const auto p = load_predictor(model_path(m.name), backend, 1);
    const auto rows = rows_for(m.features);
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
            if (name.find("_probability") == std::string::npos && name.find("_value") == std::string::npos) {
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
            "bench_checksum", "sums prediction columns (benchmark)", [](option_spec&) {},
            [](const options&, build_context&) -> std::unique_ptr<sink> { return std::make_unique<checksum_sink>(); });
    constexpr std::size_t records = 400'000;
    constexpr int runs = 5;
    std::printf("\npipeline: generator (JSON, %zu records, 200 sensors, batch 1024) -> json_decode -> status_predictor "
                "-> anomaly_detector -> humidity_regressor -> checksum sink; runtime threads 1; %d runs each\n",
                records, runs);
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
                                      records, backend, model_path("status_predictor"), backend,
                                      model_path("anomaly_detector"), backend, model_path("humidity_regressor"));
        std::vector<double> rates;
        double checksum = 0;
        for (int run = 0; run < runs; ++run) {
            checksum_sink::rows = 0;
            checksum_sink::sum = 0;
            const auto p = load_pipeline_from_string(yaml, "bench.yaml");
            const auto started = std::chrono::steady_clock::now();
            p->run();
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            if (checksum_sink::rows != records) {
                std::fprintf(stderr, "pipeline delivered %llu of %zu records\n",
                             static_cast<unsigned long long>(checksum_sink::rows.load()), records);
                std::exit(1);
            }
            rates.push_back(static_cast<double>(records) / seconds);
            checksum = checksum_sink::sum;
        }
        std::sort(rates.begin(), rates.end());
        medians[backend] = rates[runs / 2];
        std::printf("  backend %-8s median %10.0f records/s  (min %.0f, max %.0f)  checksum %.6f\n", backend,
                    rates[runs / 2], rates.front(), rates.back(), checksum);
    }
    std::printf("  native / xgboost: %.2fx\n", medians["native"] / medians["xgboost"]);
}

}  // namespace

int main(int argc, char** argv) {
    for (const auto& m : cases()) {
        for (const auto backend : {prediction_backend::xgboost, prediction_backend::native}) {
            benchmark::RegisterBenchmark(fmt::format("{}/{}", m.name, to_string(backend)).c_str(),
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
    if (std::getenv("SLUICE_BENCH_SKIP_PIPELINE") == nullptr) {
        pipeline_runs();
    }
    return 0;
}
