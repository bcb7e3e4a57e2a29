// End to end: simulator (JSON bytes) -> json_decode -> filter -> blackhole, the quickstart's
// shape with no files, through the real graph runtime on every core. Side by side with a
// baseline that calls the very same operators in a plain loop on one thread (no graph).
// Both count the rows that pass the filter; a run whose count differs from the baseline's
// fails (a fast wrong answer is not a result).
//
//   build/release/bench/quickstart_e2e_bench --benchmark_repetitions=5 \
//       --benchmark_report_aggregates_only=true
#include <sluice/sluice.hpp>

#include <fmt/format.h>

#include <benchmark/benchmark.h>

namespace {

using namespace sluice;

constexpr std::int64_t records_per_run = 2'000'000;
constexpr const char* schema_yaml =
        "{sensor_id: string, temperature: float64, humidity: float64, timestamp: timestamp_ms, "
        "hour_of_day: int64, day_of_week: int64, status_flag: int64, location: string}";
constexpr const char* condition = "temperature > 30 and humidity < 40";

std::string pipeline_yaml(std::size_t batch_rows) {
    return fmt::format(R"(name: e2e
sources:
  fleet: {{type: generator, count: {}, sensors: 1000, rate: 0, seed: 11, emit: json,
          batch: {{max_records: {}, max_latency: 50ms}}}}
transforms:
  parsed: {{type: json_decode, inputs: [fleet], schema: {}}}
  hot: {{type: filter, inputs: [parsed], condition: "{}"}}
sinks:
  out: {{type: blackhole, inputs: [hot]}}
)",
                       records_per_run,
                       batch_rows,
                       schema_yaml,
                       condition);
}

std::uint64_t& expected_hot_rows() {
    static std::uint64_t value = 0;
    return value;
}

template <typename Operator>
std::unique_ptr<Operator> make(operator_role role,
                               const std::string& type,
                               const std::vector<std::pair<std::string, std::string>>& values) {
    const auto* d = operator_registry::global().find(role, type);
    build_context build{"bench"};
    const auto opts = options::from_values(d->spec, type, type, values);
    if constexpr (std::is_same_v<Operator, source>) {
        return d->make_source(opts, build);
    } else {
        return d->make_transform(opts, build);
    }
}

// Baseline: the same operators, one thread, no graph.
void plain_loop_one_thread(benchmark::State& state) {
    register_builtin_operators();
    const auto batch_rows = static_cast<std::size_t>(state.range(0));
    std::uint64_t hot = 0;
    for (auto _ : state) {
        auto src = make<source>(operator_role::source,
                                "generator",
                                {{"count", std::to_string(records_per_run)},
                                 {"sensors", "1000"},
                                 {"rate", "0"},
                                 {"seed", "11"},
                                 {"emit", "json"},
                                 {"batch", fmt::format("{{max_records: {}}}", batch_rows)}});
        auto decode =
                make<transform>(operator_role::transform, "json_decode", {{"schema", schema_yaml}});
        auto filter =
                make<transform>(operator_role::transform, "filter", {{"condition", condition}});
        diagnostics_collector problems;
        bind_context bind("bench", "bench", nullptr, &problems);
        auto decoded_schema = decode->bind(src->output_schema(), bind);
        filter->bind(decoded_schema, bind);
        operator_context ctx("bench", "bench", nullptr, nullptr, nullptr);
        hot = 0;
        source_batch polled;
        while (true) {
            const auto status = src->poll(polled, ctx);
            if (status == poll_status::finished) {
                break;
            }
            if (status != poll_status::produced) {
                continue;
            }
            const auto decoded = decode->process(polled.data, ctx);
            hot += filter->process(decoded, ctx).num_rows();
        }
    }
    expected_hot_rows() = hot;
    state.counters["hot_rows"] = static_cast<double>(hot);
    state.SetItemsProcessed(state.iterations() * records_per_run);
}
BENCHMARK(plain_loop_one_thread)
        ->ArgName("batch")
        ->Arg(1024)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();

void graph_all_cores(benchmark::State& state) {
    register_builtin_operators();
    const auto batch_rows = static_cast<std::size_t>(state.range(0));
    std::uint64_t hot = 0;
    latency_histogram batch_latency;
    for (auto _ : state) {
        auto p = load_pipeline_from_string(pipeline_yaml(batch_rows), "e2e.yaml");
        p->run();
        for (const auto* m : p->metrics()) {
            if (m->id == "out") {
                hot = m->records_in.load();
            }
            if (m->id == "parsed") {
                benchmark::DoNotOptimize(batch_latency.count());
                state.counters["decode_p50_us"] =
                        static_cast<double>(m->batch_latency.quantile(0.5)) / 1e3;
                state.counters["decode_p99_us"] =
                        static_cast<double>(m->batch_latency.quantile(0.99)) / 1e3;
            }
        }
    }
    if (expected_hot_rows() != 0 && hot != expected_hot_rows()) {
        state.SkipWithError(
                fmt::format("checksum: {} hot rows, baseline {}", hot, expected_hot_rows())
                        .c_str());
    }
    state.counters["hot_rows"] = static_cast<double>(hot);
    state.SetItemsProcessed(state.iterations() * records_per_run);
}
BENCHMARK(graph_all_cores)
        ->ArgName("batch")
        ->Arg(256)
        ->Arg(1024)
        ->Arg(4096)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
