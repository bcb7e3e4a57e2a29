// Expression evaluation, the filter transform and hand-written loops side by side, on batches
// of sensor readings (1024 rows unless the argument says otherwise).
//
//   cmake --preset release && cmake --build --preset release --target expression_bench
//   ./build/release/bench/expression_bench
//
// The BM_baseline_* benchmarks are the floor: the same computation as one plain loop over
// std::vectors, allocating their output as evaluation does, with no null handling. Every
// benchmark checks its result against the baseline's before timing, so a fast wrong answer
// fails instead of being reported.

#include <sluice/core/batch.hpp>
#include <sluice/operator/context.hpp>
#include <sluice/ops/expr.hpp>
#include <sluice/ops/expression.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace sluice;

namespace {

constexpr char condition_text[] = "temperature > 30 and humidity < 40";
constexpr char fahrenheit_text[] = "temperature * 9 / 5 + 32";

// Readings like the simulator's: about 12 % of rows pass the condition. `null_share` of the
// temperatures are missing.
batch make_input(std::size_t rows, double null_share = 0.0) {
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> temperature(15, 40);
    std::uniform_real_distribution<double> humidity(20, 90);
    std::bernoulli_distribution missing(null_share);
    auto sensor = std::make_shared<column>(data_type::string);
    auto time = std::make_shared<column>(data_type::timestamp_ms);
    auto temp = std::make_shared<column>(data_type::float64);
    auto hum = std::make_shared<column>(data_type::float64);
    for (std::size_t i = 0; i < rows; ++i) {
        sensor->push_string("sensor-" + std::to_string(rng() % 100));
        time->push_int64(1'764'140'000'000 + static_cast<std::int64_t>(i) * 100);
        if (missing(rng)) {
            temp->push_null();
        } else {
            temp->push_float64(temperature(rng));
        }
        hum->push_float64(humidity(rng));
    }
    batch out(make_schema({{"sensor_id", data_type::string},
                           {"time", data_type::timestamp_ms},
                           {"temperature", data_type::float64},
                           {"humidity", data_type::float64}}),
              {sensor, time, temp, hum});
    out.set_event_time_column(1);
    return out;
}

compiled_expression compile(const char* text, const batch& input) {
    auto compiled = compile_expression(text, *input.schema());
    if (!compiled) {
        return compile_expression("false", *input.schema()).value();  // reported by the check
    }
    return std::move(compiled).value();
}

std::vector<std::uint8_t> reference_condition(const batch& input) {
    const column& t = input.column_at(2);
    const column& h = input.column_at(3);
    std::vector<std::uint8_t> out(input.num_rows());
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = t.is_valid(i) && t.float64_values()[i] > 30 && h.float64_values()[i] < 40;
    }
    return out;
}

void BM_expression_condition(benchmark::State& state) {
    const batch input = make_input(static_cast<std::size_t>(state.range(0)));
    const compiled_expression expr = compile(condition_text, input);
    const column check = evaluate(expr, input);
    const auto want = reference_condition(input);
    for (std::size_t i = 0; i < want.size(); ++i) {
        if ((check.is_valid(i) && check.bool_values()[i] != 0) != (want[i] != 0)) {
            state.SkipWithError("evaluation disagrees with the reference");
            return;
        }
    }
    for (auto _ : state) {
        column result = evaluate(expr, input);
        benchmark::DoNotOptimize(result.bool_values().data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_expression_condition_selection(benchmark::State& state) {
    const batch input = make_input(static_cast<std::size_t>(state.range(0)));
    const compiled_expression expr = compile(condition_text, input);
    std::vector<std::uint8_t> selection;
    evaluate_selection(expr, input, selection);
    if (selection != reference_condition(input)) {
        state.SkipWithError("selection disagrees with the reference");
        return;
    }
    for (auto _ : state) {
        benchmark::DoNotOptimize(evaluate_selection(expr, input, selection));
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_baseline_condition(benchmark::State& state) {
    const batch input = make_input(static_cast<std::size_t>(state.range(0)));
    const auto t = input.column_at(2).float64_values();
    const auto h = input.column_at(3).float64_values();
    for (auto _ : state) {
        std::vector<std::uint8_t> out(t.size());
        for (std::size_t i = 0; i < t.size(); ++i) {
            out[i] = (t[i] > 30) & (h[i] < 40);
        }
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_expression_fahrenheit(benchmark::State& state) {
    const batch input =
            make_input(static_cast<std::size_t>(state.range(0)), state.range(1) / 100.0);
    const compiled_expression expr = compile(fahrenheit_text, input);
    const column check = evaluate(expr, input);
    const column& t = input.column_at(2);
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (check.is_valid(i) != t.is_valid(i) ||
            (t.is_valid(i) &&
             std::abs(check.float64_values()[i] - (t.float64_values()[i] * 9 / 5 + 32)) > 1e-9)) {
            state.SkipWithError("evaluation disagrees with the reference");
            return;
        }
    }
    for (auto _ : state) {
        column result = evaluate(expr, input);
        benchmark::DoNotOptimize(result.float64_values().data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_baseline_fahrenheit(benchmark::State& state) {
    const batch input = make_input(static_cast<std::size_t>(state.range(0)));
    const auto t = input.column_at(2).float64_values();
    for (auto _ : state) {
        std::vector<double> out(t.size());
        for (std::size_t i = 0; i < t.size(); ++i) {
            out[i] = t[i] * 9 / 5 + 32;
        }
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_filter_transform(benchmark::State& state) {
    const batch input = make_input(static_cast<std::size_t>(state.range(0)));
    filter_transform filter(filter_config{condition_text});
    diagnostics_collector problems;
    bind_context bind_ctx("filter", "hot", nullptr, &problems);
    if (!filter.bind(input.schema(), bind_ctx)) {
        state.SkipWithError("bind failed");
        return;
    }
    operator_context ctx("filter", "hot", nullptr, nullptr, nullptr);
    const auto want = reference_condition(input);
    std::size_t kept = 0;
    for (const auto w : want) {
        kept += w;
    }
    if (filter.process(input, ctx).num_rows() != kept) {
        state.SkipWithError("filter disagrees with the reference");
        return;
    }
    for (auto _ : state) {
        batch out = filter.process(input, ctx);
        benchmark::DoNotOptimize(out.num_rows());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.counters["kept"] = static_cast<double>(kept) / static_cast<double>(input.num_rows());
}

// Filter by hand: the condition loop, then each of the four columns copied row by row into
// fresh vectors (strings as bytes + offsets), as a batch would hold them.
void BM_baseline_filter(benchmark::State& state) {
    const batch input = make_input(static_cast<std::size_t>(state.range(0)));
    const column& sensor = input.column_at(0);
    const auto time = input.column_at(1).int64_values();
    const auto t = input.column_at(2).float64_values();
    const auto h = input.column_at(3).float64_values();
    const auto bytes = sensor.string_bytes();
    const auto offsets = sensor.string_offsets();
    for (auto _ : state) {
        std::vector<std::uint8_t> keep(t.size());
        for (std::size_t i = 0; i < t.size(); ++i) {
            keep[i] = (t[i] > 30) & (h[i] < 40);
        }
        std::vector<char> out_bytes;
        std::vector<std::uint32_t> out_offsets{0};
        std::vector<std::int64_t> out_time;
        std::vector<double> out_t;
        std::vector<double> out_h;
        for (std::size_t i = 0; i < t.size(); ++i) {
            if (keep[i] != 0) {
                out_bytes.insert(
                        out_bytes.end(), bytes.data() + offsets[i], bytes.data() + offsets[i + 1]);
                out_offsets.push_back(static_cast<std::uint32_t>(out_bytes.size()));
                out_time.push_back(time[i]);
                out_t.push_back(t[i]);
                out_h.push_back(h[i]);
            }
        }
        benchmark::DoNotOptimize(out_bytes.data());
        benchmark::DoNotOptimize(out_time.data());
        benchmark::DoNotOptimize(out_t.data());
        benchmark::DoNotOptimize(out_h.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_compile_condition(benchmark::State& state) {
    const batch input = make_input(1);
    for (auto _ : state) {
        auto compiled = compile_expression(condition_text, *input.schema());
        benchmark::DoNotOptimize(compiled.ok());
    }
}

}  // namespace

BENCHMARK(BM_expression_condition)->Arg(1024)->Arg(16384);
BENCHMARK(BM_expression_condition_selection)->Arg(1024)->Arg(16384);
BENCHMARK(BM_baseline_condition)->Arg(1024)->Arg(16384);
BENCHMARK(BM_expression_fahrenheit)->Args({1024, 0})->Args({1024, 10})->Args({16384, 0});
BENCHMARK(BM_baseline_fahrenheit)->Arg(1024)->Arg(16384);
BENCHMARK(BM_filter_transform)->Arg(1024)->Arg(16384);
BENCHMARK(BM_baseline_filter)->Arg(1024)->Arg(16384);
BENCHMARK(BM_compile_condition);

BENCHMARK_MAIN();
