// The window operator: records/s on one core and memory per open (key, window), side by side
// with a baseline that computes the same aggregates in a plain hash-map loop.
//
//   cmake --preset release -B build/release && cmake --build build/release --target window_bench
//   ./build/release/bench/window_bench --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true
//
// Input: sensors "sensor-00000".. each reporting once per second of event time (staggered),
// in event-time order, in batches of 1024 rows with watermark = max event time - 1s.
// Cases (the issue's): 10,000 keys, 1-minute tumbling, 5 aggregates (count, mean, min, max,
// p95); 10,000 and 1,000 keys, hopping 60s/10s, 3 aggregates (mean, p95, count).
// Counters: items_per_second = input records/s; bytes_per_window = window state bytes / open
// (key, window) states, sampled in the middle of a minute; checksum: the emitted counts must add
// up to every record (times windows per record for hopping), or the run fails.
//
// The baseline (BM_baseline_*) is the floor: std::unordered_map<(key, start)> of the same cells
// (Welford moments, min, max, DDSketch), windows emitted by scanning the map when the
// watermark passes their end. No acknowledgement, lateness, window ids, nulls or output batches.

#include <sluice/ops/window.hpp>

#include <fmt/format.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

using namespace sluice;

namespace {

constexpr std::size_t batch_rows = 1024;
constexpr std::int64_t start_ms = 1'767'225'600'000;  // a whole minute

struct workload {
    std::size_t keys = 0;
    std::vector<batch> batches;
    std::size_t records = 0;
};

schema_ptr bench_schema() {
    static const schema_ptr s = make_schema({{"sensor_id", data_type::string, false},
                                             {"timestamp", data_type::timestamp_ms, false},
                                             {"temperature", data_type::float64, false}});
    return s;
}

// `seconds` of event time for `keys` sensors reporting once per second.
const workload& make_workload(std::size_t keys, std::int64_t seconds) {
    static std::unordered_map<std::size_t, workload> cache;
    auto& w = cache[keys * 100000 + static_cast<std::size_t>(seconds)];
    if (!w.batches.empty()) {
        return w;
    }
    w.keys = keys;
    std::vector<std::string> names;
    for (std::size_t k = 0; k < keys; ++k) {
        names.push_back(fmt::format("sensor-{:05d}", k));
    }
    std::uint64_t state = 42;
    const auto total = static_cast<std::size_t>(seconds) * keys;
    for (std::size_t first = 0; first < total; first += batch_rows) {
        auto id = std::make_shared<column>(data_type::string);
        auto ts = std::make_shared<column>(data_type::timestamp_ms);
        auto temp = std::make_shared<column>(data_type::float64);
        std::int64_t max_time = 0;
        for (std::size_t i = first; i < std::min(total, first + batch_rows); ++i) {
            const std::size_t k = i % keys;
            const auto second = static_cast<std::int64_t>(i / keys);
            const std::int64_t t =
                    start_ms + second * 1000 + static_cast<std::int64_t>(k * 1000 / keys);
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            id->push_string(names[k]);
            ts->push_int64(t);
            temp->push_float64(15.0 + static_cast<double>((state >> 33) % 2000) / 100.0);
            max_time = t;
        }
        batch b(bench_schema(), {id, ts, temp});
        b.set_event_time_column(1);
        b.set_watermark_ms(max_time - 1000);
        w.records += b.num_rows();
        w.batches.push_back(std::move(b));
    }
    return w;
}

aggregate_spec agg(std::string name, aggregate_function f, std::string column, double q = 0.5) {
    aggregate_spec s;
    s.name = std::move(name);
    s.function = f;
    s.column = std::move(column);
    s.q = q;
    return s;
}

window_config bench_config(window_kind kind, bool five) {
    window_config c;
    c.key = {"sensor_id"};
    c.time_column = "timestamp";
    c.kind = kind;
    c.size = std::chrono::seconds(60);
    c.slide = std::chrono::seconds(kind == window_kind::hopping ? 10 : 60);
    c.aggregates = {agg("readings", aggregate_function::count, "*"),
                    agg("temperature_mean", aggregate_function::mean, "temperature"),
                    agg("temperature_p95", aggregate_function::quantile, "temperature", 0.95)};
    if (five) {
        c.aggregates.push_back(agg("temperature_min", aggregate_function::min, "temperature"));
        c.aggregates.push_back(agg("temperature_max", aggregate_function::max, "temperature"));
    }
    return c;
}

void run_window(benchmark::State& state, window_kind kind, std::size_t keys, bool five) {
    const auto& w = make_workload(keys, 150);
    const std::int64_t windows_per_record = kind == window_kind::hopping ? 6 : 1;
    double bytes_per_window = 0;
    double open_windows = 0;
    for (auto _ : state) {
        window_transform op(bench_config(kind, five));
        diagnostics_collector problems;
        bind_context bctx(
                "window", "bench", [](std::string_view) { return source_location{}; }, &problems);
        op.bind(bench_schema(), bctx);
        operator_context ctx("window", "bench", nullptr, nullptr, nullptr);
        std::int64_t counted = 0;
        const auto count_rows = [&](const batch& out) {
            if (out.num_rows() != 0) {
                for (const auto n : out.find_column("readings")->int64_values()) {
                    counted += n;
                }
            }
        };
        const std::size_t sample_at = w.batches.size() * 90 / 150;  // 30 s into the second minute
        for (std::size_t i = 0; i < w.batches.size(); ++i) {
            count_rows(op.process(w.batches[i], ctx));
            if (i == sample_at) {
                open_windows = static_cast<double>(op.open_windows());
                bytes_per_window = static_cast<double>(op.state_bytes()) / open_windows;
            }
        }
        count_rows(*op.finish(ctx));
        // Every record is in size/slide windows, and finish() emits whatever is still open.
        if (counted != static_cast<std::int64_t>(w.records) * windows_per_record) {
            state.SkipWithError(
                    fmt::format("checksum: counted {} of {} records",
                                counted,
                                static_cast<std::int64_t>(w.records) * windows_per_record)
                            .c_str());
            return;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * w.records));
    state.counters["bytes_per_window"] = bytes_per_window;
    state.counters["open_windows"] = open_windows;
    state.counters["keys"] = static_cast<double>(keys);
}

// ------------------------------------------------------------------------------------------
// Baseline: the same cells in a plain unordered_map loop.

struct baseline_cell {
    std::int64_t count = 0;
    running_moments moments;
    double lo = 0;
    double hi = 0;
    ddsketch sketch;
};

struct pair_hash {
    std::size_t operator()(const std::pair<std::string, std::int64_t>& k) const noexcept {
        return std::hash<std::string>{}(k.first) * 31 + std::hash<std::int64_t>{}(k.second);
    }
};

void run_baseline(benchmark::State& state, window_kind kind, std::size_t keys, bool five) {
    const auto& w = make_workload(keys, 150);
    const std::int64_t size = 60'000;
    const std::int64_t slide = kind == window_kind::hopping ? 10'000 : 60'000;
    const std::int64_t windows_per_record = size / slide;
    for (auto _ : state) {
        std::unordered_map<std::pair<std::string, std::int64_t>, baseline_cell, pair_hash> cells;
        std::int64_t counted = 0;
        double checksum = 0;
        std::int64_t next_end = std::numeric_limits<std::int64_t>::min();
        std::pair<std::string, std::int64_t> probe;
        const auto emit_until = [&](std::int64_t watermark) {
            for (auto it = cells.begin(); it != cells.end();) {
                if (it->first.second + size <= watermark) {
                    counted += it->second.count;
                    checksum += it->second.moments.mean + it->second.sketch.quantile(0.95);
                    if (five) {
                        checksum += it->second.lo + it->second.hi;
                    }
                    it = cells.erase(it);
                } else {
                    ++it;
                }
            }
        };
        for (const auto& b : w.batches) {
            const auto& ids = b.column_at(0);
            const auto times = b.column_at(1).int64_values();
            const auto temps = b.column_at(2).float64_values();
            for (std::size_t r = 0; r < b.num_rows(); ++r) {
                probe.first.assign(ids.string_at(r));
                const std::int64_t latest = floor_div(times[r], slide) * slide;
                for (std::int64_t s = latest; s > times[r] - size; s -= slide) {
                    probe.second = s;
                    auto& c = cells[probe];
                    const double x = temps[r];
                    if (c.count == 0) {
                        c.lo = x;
                        c.hi = x;
                    }
                    ++c.count;
                    c.moments.add(x);
                    if (five) {
                        c.lo = std::min(c.lo, x);
                        c.hi = std::max(c.hi, x);
                    }
                    c.sketch.add(x);
                }
            }
            // Scan only when a window end was passed (as the operator's timers do).
            const std::int64_t watermark = b.watermark_ms();
            if (watermark >= next_end) {
                emit_until(watermark);
                next_end = floor_div(watermark, slide) * slide + slide;
            }
        }
        emit_until(std::numeric_limits<std::int64_t>::max());
        benchmark::DoNotOptimize(checksum);
        if (counted != static_cast<std::int64_t>(w.records) * windows_per_record) {
            state.SkipWithError("baseline checksum mismatch");
            return;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * w.records));
    state.counters["keys"] = static_cast<double>(keys);
}

void BM_window_tumbling_1m_10k_keys_5_aggregates(benchmark::State& state) {
    run_window(state, window_kind::tumbling, 10'000, true);
}
void BM_baseline_tumbling_1m_10k_keys_5_aggregates(benchmark::State& state) {
    run_baseline(state, window_kind::tumbling, 10'000, true);
}
void BM_window_hopping_60s_10s_10k_keys_3_aggregates(benchmark::State& state) {
    run_window(state, window_kind::hopping, 10'000, false);
}
void BM_baseline_hopping_60s_10s_10k_keys_3_aggregates(benchmark::State& state) {
    run_baseline(state, window_kind::hopping, 10'000, false);
}
void BM_window_hopping_60s_10s_1k_keys_3_aggregates(benchmark::State& state) {
    run_window(state, window_kind::hopping, 1'000, false);
}
void BM_baseline_hopping_60s_10s_1k_keys_3_aggregates(benchmark::State& state) {
    run_baseline(state, window_kind::hopping, 1'000, false);
}

}  // namespace

BENCHMARK(BM_window_tumbling_1m_10k_keys_5_aggregates)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_baseline_tumbling_1m_10k_keys_5_aggregates)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_window_hopping_60s_10s_10k_keys_3_aggregates)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_baseline_hopping_60s_10s_10k_keys_3_aggregates)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_window_hopping_60s_10s_1k_keys_3_aggregates)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_baseline_hopping_60s_10s_1k_keys_3_aggregates)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
