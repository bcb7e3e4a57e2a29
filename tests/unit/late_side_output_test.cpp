// The window's `late: side_output`: records later than the allowed lateness go to the
// window's side output `late` (read as `inputs: [<window>.late]`) instead of the dead-letter
// sink, unchanged and with their acknowledgements.
#include "support/sensor_readings.hpp"

#include <sluice/ops/window.hpp>
#include <sluice/sluice.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

using namespace sluice;
using namespace sluice::testing;

namespace {

window_config tumbling_second(late_policy late) {
    window_config c;
    c.key = {"sensor_id"};
    c.time_column = "timestamp";
    c.kind = window_kind::tumbling;
    c.size = std::chrono::milliseconds(1000);
    c.late = late;
    aggregate_spec readings_count;
    readings_count.name = "readings";
    readings_count.function = aggregate_function::count;
    readings_count.column = "*";
    c.aggregates = {readings_count};
    return c;
}

class capturing_dead_letter final : public dead_letter_writer {
public:
    void write(const dead_letter_record& r) override {
        std::lock_guard lock(mutex);
        reasons.emplace_back(r.reason);
        payloads.emplace_back(r.payload);
    }
    std::mutex mutex;
    std::vector<std::string> reasons;
    std::vector<std::string> payloads;
};

/// Keeps every batch it accepts (columns only), per sink id.
class keeping_sink final : public sink {
public:
    explicit keeping_sink(std::vector<batch>* into)
        : into_(into) {}
    void bind(const schema_ptr&, bind_context&) override {}
    void consume(const batch& input, operator_context&) override {
        into_->emplace_back(input.schema(), input.columns());
    }

private:
    std::vector<batch>* into_;
};

std::map<std::string, std::vector<batch>>& kept() {
    static std::map<std::string, std::vector<batch>> batches;
    return batches;
}

void register_keeping_sink() {
    auto& registry = operator_registry::global();
    if (registry.find(operator_role::sink, "late_test_keeper") == nullptr) {
        registry.add_sink(
                "late_test_keeper",
                "test sink keeping batches in memory",
                [](option_spec&) {},
                [](const options& opts, build_context&) -> std::unique_ptr<sink> {
                    return std::make_unique<keeping_sink>(&kept()[opts.operator_id()]);
                });
    }
}

/// "sensor/timestamp" of every row.
std::multiset<std::string> row_keys(const std::vector<batch>& batches) {
    std::multiset<std::string> out;
    for (const auto& b : batches) {
        for (std::size_t r = 0; r < b.num_rows(); ++r) {
            out.insert(std::string(b.find_column("sensor_id")->string_at(r)) + "/" +
                       std::to_string(b.find_column("timestamp")->int64_values()[r]));
        }
    }
    return out;
}

/// The text of a string or number field in a dead-letter payload (one flat JSON object).
std::string json_field(const std::string& payload, const std::string& name) {
    const std::string key = "\"" + name + "\":";
    const auto at = payload.find(key);
    REQUIRE(at != std::string::npos);
    auto begin = at + key.size();
    if (payload[begin] == '"') {
        ++begin;
        return payload.substr(begin, payload.find('"', begin) - begin);
    }
    return payload.substr(begin, payload.find_first_of(",}", begin) - begin);
}

/// "window_id=readings" of every emitted row, in the order emitted.
std::vector<std::string> window_rows(const std::vector<batch>& batches) {
    std::vector<std::string> out;
    for (const auto& b : batches) {
        for (std::size_t r = 0; r < b.num_rows(); ++r) {
            out.push_back(std::string(b.find_column("window_id")->string_at(r)) + "=" +
                          std::to_string(b.find_column("readings")->int64_values()[r]));
        }
    }
    return out;
}

const char* const late_pipeline = R"(name: late_records
sources:
  sensors: {type: generator, count: 20000, sensors: 50, interval: 1s, emit: columns, seed: 7,
            out_of_order: 0.2, max_delay: 20s, batch: {max_records: 256}}
transforms:
  # The generator's own watermark allows for its delays; this one (2s) makes the 20s delays late.
  timed: {type: watermark, inputs: [sensors], column: timestamp, max_out_of_orderness: 2s}
  per_sensor:
    type: window
    inputs: [timed]
    key: [sensor_id]
    time: {column: timestamp, max_out_of_orderness: 2s}
    window: {kind: tumbling, size: 10s, allowed_lateness: 1s}
    late: LATE
    aggregates:
      readings: {count: "*"}
sinks:
  stats: {type: late_test_keeper, inputs: [per_sensor]}
)";

struct late_run {
    std::multiset<std::string> windows;
    std::vector<std::string> window_sequence;  // the same, in the order emitted
    std::multiset<std::string> side;           // rows of the late side output
    std::vector<std::string> dead_reasons;
    std::multiset<std::string> dead_rows;  // "sensor/timestamp" of each dead-lettered record
    std::size_t records_read = 0;
};

late_run run_late_pipeline(bool side_output) {
    register_builtin_operators();
    register_keeping_sink();
    kept().clear();
    std::string yaml = late_pipeline;
    yaml.replace(yaml.find("LATE"), 4, side_output ? "side_output" : "dead_letter");
    if (side_output) {
        yaml += "  late: {type: late_test_keeper, inputs: [per_sensor.late]}\n";
    }
    auto p = load_pipeline_from_string(yaml, "late_records.yaml");
    auto dead = std::make_unique<capturing_dead_letter>();
    auto* dead_ptr = dead.get();
    p->set_dead_letter(std::move(dead));
    const auto summary = p->run();
    late_run out;
    out.records_read = summary.records_read;
    out.window_sequence = window_rows(kept()["stats"]);
    out.windows = {out.window_sequence.begin(), out.window_sequence.end()};
    out.side = row_keys(kept()["late"]);
    out.dead_reasons = dead_ptr->reasons;
    for (const auto& payload : dead_ptr->payloads) {
        out.dead_rows.insert(json_field(payload, "sensor_id") + "/" +
                             json_field(payload, "timestamp"));
    }
    kept().clear();
    return out;
}

}  // namespace

TEST_CASE(
        "with late: side_output, records later than the allowed lateness go to the side output "
        "unchanged",
        "[window][side-output]") {
    auto op = std::make_unique<window_transform>(tumbling_second(late_policy::side_output));
    diagnostics_collector problems;
    bind_context bctx(
            "window", "w", [](std::string_view) { return source_location{}; }, &problems);
    REQUIRE(op->bind(readings_schema(), bctx) != nullptr);
    const auto sides = op->side_outputs();
    REQUIRE(sides.size() == 1);
    CHECK(sides[0].name == "late");
    CHECK(*sides[0].schema == *readings_schema());

    capturing_dead_letter dead;
    operator_context ctx("window", "w", nullptr, &dead, nullptr);
    std::vector<batch> side(1);
    auto out = op->process_with_side_outputs(readings_batch({{"a", 100, 10.0}}, 1000), ctx, side);
    CHECK(out.num_rows() == 1);
    CHECK(!side[0].schema());  // nothing late yet: left for the runtime to fill with an empty batch

    side.assign(1, batch{});
    out = op->process_with_side_outputs(
            readings_batch({{"a", 300, 30.0}, {"b", -1, 1.0}, {"a", 1200, 5.0}}, 1500), ctx, side);
    REQUIRE(side[0].schema());
    REQUIRE(side[0].num_rows() == 1);
    CHECK(side[0].column_at(0).string_at(0) == "a");
    CHECK(side[0].column_at(1).int64_values()[0] == 300);
    CHECK(side[0].column_at(2).float64_values()[0] == 30.0);
    // A record without an event time is not late but broken: it still goes to the dead letters.
    REQUIRE(dead.reasons.size() == 1);
    CHECK(dead.reasons[0] == "missing event time in column 'timestamp'");
    CHECK(ctx.metrics().rejected.load() == 1);
}

TEST_CASE("with late: dead_letter (the default), the window declares no side output",
          "[window][side-output]") {
    auto op = std::make_unique<window_transform>(tumbling_second(late_policy::dead_letter));
    diagnostics_collector problems;
    bind_context bctx(
            "window", "w", [](std::string_view) { return source_location{}; }, &problems);
    REQUIRE(op->bind(readings_schema(), bctx) != nullptr);
    CHECK(op->side_outputs().empty());
}

TEST_CASE(
        "a pipeline's late side output holds exactly the records the dead-letter setting rejects "
        "as late",
        "[window][side-output][pipeline]") {
    const auto dead_lettered = run_late_pipeline(false);
    const auto side = run_late_pipeline(true);
    REQUIRE(dead_lettered.records_read == 20000);
    REQUIRE(side.records_read == 20000);

    // The stream has late records (otherwise this test proves nothing), each dead-lettered as late.
    REQUIRE(dead_lettered.dead_reasons.size() > 100);
    for (const auto& reason : dead_lettered.dead_reasons) {
        CHECK(reason.rfind("late: ", 0) == 0);
    }
    // With the side output: no dead letters, the same count of late records on the side output,
    // and the same windows.
    CHECK(side.dead_reasons.empty());
    CHECK(side.side == dead_lettered.dead_rows);
    CHECK(side.windows == dead_lettered.windows);
    // Every record is either counted in a window (its last emission: a record within the
    // allowed lateness re-fires its window with the corrected count) or on the side output.
    std::map<std::string, std::int64_t> final_counts;
    for (const auto& w : side.window_sequence) {
        final_counts[w.substr(0, w.find('='))] = std::stoll(w.substr(w.find('=') + 1));
    }
    std::int64_t counted = 0;
    for (const auto& [id, count] : final_counts) {
        counted += count;
    }
    CHECK(counted + static_cast<std::int64_t>(side.side.size()) == 20000);
}

TEST_CASE("a late side output that nothing reads is a config error, not lost records",
          "[window][side-output][config]") {
    register_builtin_operators();
    const std::string yaml = R"(name: unread
sources:
  fleet: {type: generator, count: 10, emit: columns}
transforms:
  stats:
    type: window
    inputs: [fleet]
    key: [sensor_id]
    time: {column: timestamp}
    window: {kind: tumbling, size: 10s}
    late: side_output
    aggregates: {readings: {count: "*"}}
sinks:
  out: {type: blackhole, inputs: [stats]}
)";
    CHECK_THROWS_WITH(load_pipeline_from_string(yaml, "inline.yaml"),
                      Catch::Contains("inline.yaml:5:3: error[unread-side-output]: window "
                                      "'stats': its side output 'late' is read by nothing") &&
                              Catch::Contains("inputs: [stats.late]"));
    // Reading it makes the same pipeline valid.
    const auto wired = yaml + "  late_out: {type: blackhole, inputs: [stats.late]}\n";
    CHECK(load_pipeline_from_string(wired, "inline.yaml")->run().records_read == 10);
}
