// json_decode against simdjson on-demand alone, on batches of 1024 seed-like records.
//
//   cmake --preset release && cmake --build --preset release --target json_decode_bench
//   ./build/release/bench/json_decode_bench
//
// The baselines use simdjson on-demand alone: BM_simdjson_ondemand_baseline parses a padded
// copy of each record, BM_simdjson_ondemand_stream_baseline the batch as one stream, both
// filling plain std::vectors (strings as bytes + offsets), with no validity bitmaps, no type
// checks beyond simdjson's own, no rejection handling and the keys compared in a fixed chain
// known at compile time. json_decode reads plain records with its own flat scanner (see
// operators/json/README.md), so it can beat them; BM_json_decode_escaped_strings measures the
// records that scanner leaves to simdjson's stream path.
// Each benchmark checks a checksum of what it decoded, so a fast wrong answer fails.

#include <sluice/core/batch.hpp>
#include <sluice/core/row_json.hpp>
#include <sluice/operator/context.hpp>
#include <sluice/ops/json.hpp>

#include <fmt/format.h>
#include <simdjson.h>

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace sluice;

namespace {

constexpr std::size_t batch_rows = 1024;

enum class timestamp_style {
    epoch_ms,
    iso8601,
    epoch_ms_escaped  // epoch ms, and the location written with escaped slashes ("\\/")
};

// Records shaped like the seed's simulator output (~170 bytes each).
batch make_input(timestamp_style style, std::int64_t& temperature_centi_sum) {
    std::mt19937_64 rng(42);
    auto values = std::make_shared<column>(data_type::string);
    temperature_centi_sum = 0;
    std::string ts;
    for (std::size_t i = 0; i < batch_rows; ++i) {
        const auto centi = static_cast<std::int64_t>(1500 + rng() % 2000);
        temperature_centi_sum += centi;
        const std::int64_t ms = 1764140000123 + static_cast<std::int64_t>(i) * 1000;
        ts.clear();
        if (style == timestamp_style::iso8601) {
            ts += '"';
            append_iso8601_ms(ts, ms);
            ts += '"';
        } else {
            ts = fmt::format("{}", ms);
        }
        values->push_string(fmt::format(
                R"({{"sensor_id":"sensor-{:04d}","temperature":{}.{:02d},"humidity":{}.{},"timestamp":{},)"
                R"("hour_of_day":{},"day_of_week":{},"status_flag":{},"location":"building-{}{}floor-{}","is_anomaly":{}}})",
                rng() % 10000,
                centi / 100,
                centi % 100,
                30 + rng() % 40,
                rng() % 10,
                ts,
                rng() % 24,
                rng() % 7,
                rng() % 3,
                rng() % 5,
                style == timestamp_style::epoch_ms_escaped ? R"(\/)" : "/",
                rng() % 9,
                rng() % 50 == 0 ? "true" : "false"));
    }
    return batch(make_schema({{"value", data_type::string}}), {values});
}

json_decode_config seed_config(bool with_is_anomaly) {
    json_decode_config config;
    config.schema = {{"sensor_id", data_type::string, false},
                     {"temperature", data_type::float64, true},
                     {"humidity", data_type::float64, true},
                     {"timestamp", data_type::timestamp_ms, false},
                     {"hour_of_day", data_type::int64, true},
                     {"day_of_week", data_type::int64, true},
                     {"status_flag", data_type::int64, true},
                     {"location", data_type::string, true}};
    if (with_is_anomaly) {
        config.schema.push_back({"is_anomaly", data_type::boolean, true});
    }
    return config;
}

void run_json_decode(benchmark::State& state, bool with_is_anomaly, timestamp_style style) {
    std::int64_t expected_centi = 0;
    const batch input = make_input(style, expected_centi);
    json_decode_transform op(seed_config(with_is_anomaly));
    diagnostics_collector diagnostics;
    bind_context bind_ctx("json_decode", "bench", nullptr, &diagnostics);
    if (op.bind(input.schema(), bind_ctx) == nullptr) {
        state.SkipWithError("bind failed");
        return;
    }
    operator_context ctx("json_decode", "bench", nullptr, nullptr, nullptr);
    batch out;
    for (auto _ : state) {
        out = op.process(input, ctx);
        benchmark::DoNotOptimize(out.num_rows());
    }
    double sum = 0;
    for (const double t : out.column_at(1).float64_values()) {
        sum += t;
    }
    if (out.num_rows() != batch_rows || std::llround(sum * 100) != expected_centi) {
        state.SkipWithError("wrong output");
    }
    const auto bytes = input.column_at(0).string_bytes().size();
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch_rows));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
    state.counters["bytes_per_record"] = static_cast<double>(bytes) / batch_rows;
}

// All nine keys of the record declared.
void BM_json_decode(benchmark::State& state) {
    run_json_decode(state, true, timestamp_style::epoch_ms);
}
BENCHMARK(BM_json_decode);

// The YAML example's schema: `is_anomaly` is not declared, so it is skipped.
void BM_json_decode_skipping_a_key(benchmark::State& state) {
    run_json_decode(state, false, timestamp_style::epoch_ms);
}
BENCHMARK(BM_json_decode_skipping_a_key);

// Timestamps as ISO-8601 strings ("2025-11-26T06:53:20.123Z").
void BM_json_decode_iso_timestamps(benchmark::State& state) {
    run_json_decode(state, true, timestamp_style::iso8601);
}
BENCHMARK(BM_json_decode_iso_timestamps);

// Every location with an escaped slash (`building-2\/floor-3`, as some encoders write it): the
// flat path leaves escapes to simdjson, so these batches move to the stream path.
void BM_json_decode_escaped_strings(benchmark::State& state) {
    run_json_decode(state, true, timestamp_style::epoch_ms_escaped);
}
BENCHMARK(BM_json_decode_escaped_strings);

// What the baselines decode into: plain vectors, strings as a column holds them (contiguous
// bytes plus end offsets), no validity, keys compared in a fixed chain known at compile time.
struct plain_columns {
    std::vector<char> sensor_id;
    std::vector<std::uint32_t> sensor_id_end;
    std::vector<char> location;
    std::vector<std::uint32_t> location_end;
    std::vector<double> temperature;
    std::vector<double> humidity;
    std::vector<std::int64_t> timestamp;
    std::vector<std::int64_t> hour_of_day;
    std::vector<std::int64_t> day_of_week;
    std::vector<std::int64_t> status_flag;
    std::vector<std::uint8_t> is_anomaly;

    void clear() {
        sensor_id.clear();
        sensor_id_end.clear();
        location.clear();
        location_end.clear();
        temperature.clear();
        humidity.clear();
        timestamp.clear();
        hour_of_day.clear();
        day_of_week.clear();
        status_flag.clear();
        is_anomaly.clear();
    }

    // Every value of one record; false on any error.
    bool read(simdjson::ondemand::document& doc) {
        namespace od = simdjson::ondemand;
        od::object object;
        if (doc.get_object().get(object) != simdjson::SUCCESS) {
            return false;
        }
        for (auto member : object) {
            od::field field;
            if (std::move(member).get(field) != simdjson::SUCCESS) {
                return false;
            }
            const auto key = field.key();
            auto& value = field.value();
            std::string_view s;
            double d = 0;
            std::int64_t i = 0;
            bool b = false;
            if (key == "sensor_id" && value.get_string().get(s) == simdjson::SUCCESS) {
                sensor_id.insert(sensor_id.end(), s.begin(), s.end());
                sensor_id_end.push_back(static_cast<std::uint32_t>(sensor_id.size()));
            } else if (key == "temperature" && value.get_double().get(d) == simdjson::SUCCESS) {
                temperature.push_back(d);
            } else if (key == "humidity" && value.get_double().get(d) == simdjson::SUCCESS) {
                humidity.push_back(d);
            } else if (key == "timestamp" && value.get_int64().get(i) == simdjson::SUCCESS) {
                timestamp.push_back(i);
            } else if (key == "hour_of_day" && value.get_int64().get(i) == simdjson::SUCCESS) {
                hour_of_day.push_back(i);
            } else if (key == "day_of_week" && value.get_int64().get(i) == simdjson::SUCCESS) {
                day_of_week.push_back(i);
            } else if (key == "status_flag" && value.get_int64().get(i) == simdjson::SUCCESS) {
                status_flag.push_back(i);
            } else if (key == "location" && value.get_string().get(s) == simdjson::SUCCESS) {
                location.insert(location.end(), s.begin(), s.end());
                location_end.push_back(static_cast<std::uint32_t>(location.size()));
            } else if (key == "is_anomaly" && value.get_bool().get(b) == simdjson::SUCCESS) {
                is_anomaly.push_back(b ? 1 : 0);
            }
        }
        return true;
    }

    // Skips the benchmark unless every record was read with the right temperatures.
    void check(benchmark::State& state, bool failed, std::int64_t expected_centi) const {
        double sum = 0;
        for (const double t : temperature) {
            sum += t;
        }
        if (failed || temperature.size() != batch_rows ||
            std::llround(sum * 100) != expected_centi) {
            state.SkipWithError("wrong output");
        }
    }
};

// Copies record `row` of `raw` into `padded`, followed by SIMDJSON_PADDING zero bytes, as
// json_decode's per-record path does; returns its size.
std::size_t copy_padded(std::vector<char>& padded, const column& raw, std::size_t row) {
    const auto bytes = raw.string_bytes();
    const auto offsets = raw.string_offsets();
    const std::size_t size = offsets[row + 1] - offsets[row];
    std::memcpy(padded.data(), bytes.data() + offsets[row], size);
    std::memset(padded.data() + size, 0, simdjson::SIMDJSON_PADDING);
    return size;
}

void set_counters(benchmark::State& state, std::size_t bytes) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch_rows));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
    state.counters["bytes_per_record"] = static_cast<double>(bytes) / batch_rows;
}

// The floor of the per-record path: simdjson on-demand into plain vectors, each record
// copied alone into a padded buffer and parsed with its own iterate().
void BM_simdjson_ondemand_baseline(benchmark::State& state) {
    namespace od = simdjson::ondemand;
    std::int64_t expected_centi = 0;
    const batch input = make_input(timestamp_style::epoch_ms, expected_centi);
    const column& raw = input.column_at(0);

    od::parser parser;
    std::vector<char> padded(4096 + simdjson::SIMDJSON_PADDING);
    plain_columns out;
    bool failed = false;
    for (auto _ : state) {
        out.clear();
        for (std::size_t row = 0; row < batch_rows; ++row) {
            const std::size_t size = copy_padded(padded, raw, row);
            od::document doc;
            if (parser.iterate(padded.data(), size, padded.size()).get(doc) != simdjson::SUCCESS ||
                !out.read(doc)) {
                failed = true;
            }
        }
        benchmark::DoNotOptimize(out.temperature.data());
    }
    out.check(state, failed, expected_centi);
    set_counters(state, raw.string_bytes().size());
}
BENCHMARK(BM_simdjson_ondemand_baseline);

// The floor of the batch path: the batch's bytes copied once into a padded buffer and
// parsed as one stream of documents (iterate_many: one stage 1 pass), into plain vectors.
// No check that documents line up with records, no fallback.
void BM_simdjson_ondemand_stream_baseline(benchmark::State& state) {
    namespace od = simdjson::ondemand;
    std::int64_t expected_centi = 0;
    const batch input = make_input(timestamp_style::epoch_ms, expected_centi);
    const auto bytes = input.column_at(0).string_bytes();

    od::parser parser;
    parser.threaded = false;
    std::vector<char> padded(bytes.size() + simdjson::SIMDJSON_PADDING);
    plain_columns out;
    bool failed = false;
    for (auto _ : state) {
        out.clear();
        std::memcpy(padded.data(), bytes.data(), bytes.size());
        std::memset(padded.data() + bytes.size(), 0, simdjson::SIMDJSON_PADDING);
        od::document_stream stream;
        if (parser.iterate_many(padded.data(), bytes.size(), padded.size()).get(stream) !=
            simdjson::SUCCESS) {
            failed = true;
            continue;
        }
        for (auto document : stream) {
            od::document_reference ref;
            if (std::move(document).get(ref) != simdjson::SUCCESS) {
                failed = true;
                break;
            }
            od::document& doc = ref;
            failed = !out.read(doc) || failed;
        }
        benchmark::DoNotOptimize(out.temperature.data());
    }
    out.check(state, failed, expected_centi);
    set_counters(state, bytes.size());
}
BENCHMARK(BM_simdjson_ondemand_stream_baseline);

// For scale: parsing each record and walking its keys without reading any value, the part of
// the work no decoder can avoid.
void BM_simdjson_ondemand_walk_only(benchmark::State& state) {
    namespace od = simdjson::ondemand;
    std::int64_t expected_centi = 0;
    const batch input = make_input(timestamp_style::epoch_ms, expected_centi);
    const column& raw = input.column_at(0);
    od::parser parser;
    std::vector<char> padded(4096 + simdjson::SIMDJSON_PADDING);
    std::size_t keys = 0;
    for (auto _ : state) {
        keys = 0;
        for (std::size_t row = 0; row < batch_rows; ++row) {
            const std::size_t size = copy_padded(padded, raw, row);
            od::document doc;
            od::object object;
            if (parser.iterate(padded.data(), size, padded.size()).get(doc) != simdjson::SUCCESS ||
                doc.get_object().get(object) != simdjson::SUCCESS) {
                continue;
            }
            for (auto member : object) {
                keys += member.error() == simdjson::SUCCESS ? 1 : 0;
            }
        }
        benchmark::DoNotOptimize(keys);
    }
    if (keys != batch_rows * 9) {
        state.SkipWithError("wrong key count");
    }
    set_counters(state, raw.string_bytes().size());
}
BENCHMARK(BM_simdjson_ondemand_walk_only);

}  // namespace

BENCHMARK_MAIN();
