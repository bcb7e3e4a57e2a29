#include <sluice/config/loader.hpp>
#include <sluice/ops/zip.hpp>
#include <sluice/sluice.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <string>

using namespace sluice;

namespace {

schema_ptr parsed_schema() {
    return make_schema(
            {{"sensor_id", data_type::string, false}, {"temperature", data_type::float64, false}});
}

/// `parsed` plus the given float64 columns (what an xgboost branch adds).
schema_ptr branch_schema(std::vector<std::string> added) {
    auto fields = parsed_schema()->fields();
    for (auto& name : added) {
        fields.push_back({std::move(name), data_type::float64, true});
    }
    return make_schema(std::move(fields));
}

column_ptr floats(std::vector<double> values) {
    auto c = std::make_shared<column>(data_type::float64);
    for (const auto v : values) {
        c->push_float64(v);
    }
    return c;
}

bind_context located(diagnostics_collector& out) {
    return bind_context(
            "zip",
            "joined",
            [](std::string_view key) {
                return source_location{std::string(key), 1, 1};
            },
            &out);
}

/// A generator and map branches, zipped: `branches` is the transforms' text after the
/// generator, `zipped` the zip's input list.
std::string branches_yaml(const std::string& branches, const std::string& zipped) {
    return "name: clash\nsources:\n  fleet: {type: generator, count: 10, emit: "
           "columns}\ntransforms:\n" +
           branches + "  joined:\n    type: zip\n    inputs: " + zipped +
           "\nsinks:\n  out: {type: blackhole, inputs: [joined]}\n";
}

const std::string two_scores =
        R"(  one: {type: map, inputs: [fleet], columns: {score: "temperature * 2"}}
  two: {type: map, inputs: [fleet], columns: {score: "temperature * 3"}}
)";

}  // namespace

TEST_CASE("zip appends each further input's new columns after the first input's", "[zip]") {
    zip_transform zip;
    diagnostics_collector out;
    auto ctx = located(out);
    const auto a = branch_schema({"status_class"});
    const auto b = branch_schema({"anomaly_probability", "anomaly_label"});
    const join_input inputs[] = {{"status", a}, {"anomaly", b}};
    const auto schema = zip.bind_inputs(inputs, ctx);
    REQUIRE(out.items().empty());
    REQUIRE(schema);
    CHECK(schema->to_string() ==
          branch_schema({"status_class", "anomaly_probability", "anomaly_label"})->to_string());

    auto ids = std::make_shared<column>(data_type::string);
    ids->push_string("s-1");
    ids->push_string("s-2");
    const auto temperature = floats({20.5, 31.0});
    batch first(a, {ids, temperature, floats({1, 2})});
    first.set_watermark_ms(1234);
    auto created = std::make_shared<column>(data_type::int64);
    created->push_int64(111);
    created->push_int64(222);
    first.set_created_ns(created);
    first.set_origin({3, 7, 9});
    // The second branch shares the decoded columns, as a transform that keeps them does.
    batch second(b, {ids, temperature, floats({0.1, 0.9}), floats({0, 1})});
    operator_context octx("zip", "joined", nullptr, nullptr, nullptr);
    const batch* parts[] = {&first, &second};
    const batch joined = zip.process_inputs(parts, octx);
    REQUIRE(joined.num_rows() == 2);
    CHECK(joined.shared_column(0) == ids);  // shared, not copied
    CHECK(joined.shared_column(3) == second.shared_column(2));
    CHECK(joined.find_column("status_class")->float64_values()[1] == 2);
    CHECK(joined.find_column("anomaly_probability")->float64_values()[1] == 0.9);
    CHECK(joined.find_column("anomaly_label")->float64_values()[0] == 0);
    CHECK(joined.watermark_ms() == 1234);
    CHECK(joined.origin().sequence == 7);
    CHECK(joined.created_ns() == created);  // creation times travel with the rows
}

TEST_CASE("zip refuses two inputs adding the same column and a column whose type changed",
          "[zip]") {
    zip_transform zip;
    diagnostics_collector out;
    auto ctx = located(out);
    auto changed = parsed_schema()->fields();
    changed[1].type = data_type::int64;
    const join_input inputs[] = {{"status", branch_schema({"score"})},
                                 {"anomaly", branch_schema({"score"})},
                                 {"rounded", make_schema(changed)}};
    CHECK(zip.bind_inputs(inputs, ctx) == nullptr);
    REQUIRE(out.items().size() == 2);
    CHECK(out.items()[0].where.file == "inputs.1");
    CHECK(out.items()[0].code == "schema-mismatch");
    CHECK(out.items()[0].message ==
          "zip 'joined': inputs 'status' and 'anomaly' both add a column 'score'; rename one of "
          "them (e.g. xgboost's "
          "output_prefix)");
    CHECK(out.items()[1].where.file == "inputs.2");
    CHECK(out.items()[1].message ==
          "zip 'joined': column 'temperature' is int64 in input 'rounded' but float64 in the first "
          "input 'status'");
}

TEST_CASE("zip fails on inputs whose row counts differ", "[zip]") {
    zip_transform zip;
    diagnostics_collector out;
    auto ctx = located(out);
    const auto a = make_schema({{"x", data_type::float64, true}});
    const auto b = make_schema({{"y", data_type::float64, true}});
    const join_input inputs[] = {{"a", a}, {"b", b}};
    REQUIRE(zip.bind_inputs(inputs, ctx));
    batch first(a, {floats({1, 2, 3})});
    batch second(b, {floats({1, 2})});
    operator_context octx("zip", "joined", nullptr, nullptr, nullptr);
    const batch* parts[] = {&first, &second};
    CHECK_THROWS_WITH(zip.process_inputs(parts, octx),
                      Catch::Contains("zip 'joined'") &&
                              Catch::Contains("input 'b' has 2 rows but 'a' has 3"));
}

TEST_CASE("a zip name clash in YAML is reported at the input's line and column", "[zip]") {
    register_builtin_operators();
    const std::string yaml = branches_yaml(two_scores +
                                                   "  three: {type: map, inputs: [fleet], columns: "
                                                   "{other: \"temperature * 4\"}}\n",
                                           "[one, two, three]");
    try {
        load_pipeline_from_string(yaml, "clash.yaml")->prepare();
        FAIL("a clash was accepted");
    } catch (const config_error& e) {
        CHECK_THAT(
                e.what(),
                Catch::Contains(
                        "clash.yaml:10:19: error[schema-mismatch]: zip 'joined': inputs 'one' and "
                        "'two' both add a column 'score'"));
    }
}

TEST_CASE("a zip of two branches computing one column name fails at run time", "[zip]") {
    register_builtin_operators();
    const std::string yaml = branches_yaml(two_scores, "[one, two]");
    auto p = load_pipeline_from_string(yaml, "clash.yaml");
    CHECK_THROWS_WITH(
            p->run(),
            Catch::Contains("zip 'joined': column 'score' holds other values in input 'two' "
                            "than in 'one'; if both branches compute it, rename one of them"));
}

TEST_CASE("a YAML zip of three branches gives one record per reading", "[zip]") {
    register_builtin_operators();
    const std::string dir = std::string(SLUICE_BINARY_DIR) + "/zip_test_out";
    const std::string yaml = R"(name: zipped
sources:
  fleet: {type: generator, count: 5000, sensors: 10, rate: 0, emit: columns, batch: {max_records: 100}}
transforms:
  f: {type: map, inputs: [fleet], columns: {temperature_f: "temperature * 9 / 5 + 32"}}
  k: {type: map, inputs: [fleet], columns: {temperature_k: "temperature + 273.15"}}
  hot: {type: map, inputs: [fleet], columns: {hot: "temperature > 30"}}
  joined: {type: zip, inputs: [f, k, hot]}
sinks:
  out: {type: file, inputs: [joined], path: )" +
                             dir + R"(/joined.csv, format: csv}
)";
    auto p = load_pipeline_from_string(yaml, "zipped.yaml");
    const auto summary = p->run();
    CHECK(summary.records_written == 5000);
    const auto schema = p->output_schema_of("joined");
    REQUIRE(schema);
    REQUIRE(schema->size() == 12);
    CHECK(schema->at(9).name == "temperature_f");
    CHECK(schema->at(10).name == "temperature_k");
    CHECK(schema->at(11).name == "hot");
    std::ifstream in(dir + "/joined.csv");
    std::string line;
    std::getline(in, line);  // header
    std::size_t rows = 0;
    while (std::getline(in, line)) {
        ++rows;
    }
    CHECK(rows == 5000);
}
