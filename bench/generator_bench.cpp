// Micro-benchmarks of the sensor simulator and of row_json: records per second per core.
//
//   cmake --preset release && cmake --build --preset release --target generator_bench
//   ./build/release/bench/generator_bench
//
// The end-to-end target (generator -> json_decode -> filter -> blackhole at >= 3 M records/s on
// two cores) needs JSON emission well above that on one core.

#include <sluice/core/row_json.hpp>
#include <sluice/ops/generator.hpp>

#include <benchmark/benchmark.h>

#include <string>

namespace {

constexpr std::size_t batch_rows = 1024;

void bm_simulator_next(benchmark::State& state) {
    sluice::sensor_simulator simulator(sluice::simulator_config{});
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch_rows; ++i) {
            benchmark::DoNotOptimize(simulator.next());
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch_rows));
}
BENCHMARK(bm_simulator_next);

void bm_simulator_json_batches(benchmark::State& state) {
    sluice::simulator_config config;
    config.out_of_order = static_cast<double>(state.range(0)) / 100.0;
    config.max_delay_ms = 5000;
    sluice::sensor_simulator simulator(config);
    std::size_t bytes = 0;
    for (auto _ : state) {
        const sluice::batch rows = simulator.next_json(batch_rows);
        bytes += rows.column_at(1).string_bytes().size();
        benchmark::DoNotOptimize(rows.num_rows());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch_rows));
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(bm_simulator_json_batches)->Arg(0)->Arg(10)->ArgName("out_of_order_pct");

void bm_simulator_column_batches(benchmark::State& state) {
    sluice::sensor_simulator simulator(sluice::simulator_config{});
    for (auto _ : state) {
        const sluice::batch rows = simulator.next_columns(batch_rows);
        benchmark::DoNotOptimize(rows.num_rows());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch_rows));
}
BENCHMARK(bm_simulator_column_batches);

void bm_row_json_ndjson(benchmark::State& state) {
    sluice::sensor_simulator simulator(sluice::simulator_config{});
    const sluice::batch rows = simulator.next_columns(batch_rows);
    const sluice::row_json_writer writer(*rows.schema());
    std::string out;
    for (auto _ : state) {
        out.clear();
        writer.append_ndjson(out, rows);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch_rows));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}
BENCHMARK(bm_row_json_ndjson);

void bm_row_json_ndjson_iso_timestamps(benchmark::State& state) {
    sluice::sensor_simulator simulator(sluice::simulator_config{});
    const sluice::batch rows = simulator.next_columns(batch_rows);
    const sluice::row_json_writer writer(*rows.schema(),
                                         {sluice::json_timestamp_format::iso8601, false});
    std::string out;
    for (auto _ : state) {
        out.clear();
        writer.append_ndjson(out, rows);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch_rows));
}
BENCHMARK(bm_row_json_ndjson_iso_timestamps);

void bm_append_json_double(benchmark::State& state) {
    std::string out;
    double value = 21.37;
    for (auto _ : state) {
        out.clear();
        for (int i = 0; i < 1000; ++i) {
            sluice::append_json_double(out, value);
            value += 0.013;
        }
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 1000));
}
BENCHMARK(bm_append_json_double);

}  // namespace

BENCHMARK_MAIN();
