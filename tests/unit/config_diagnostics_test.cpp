// Every tests/pipelines/invalid/*.yaml must fail to load with exactly the diagnostics in the
// neighbouring *.expected file (one per line, as `sluice validate` prints them).
#include <sluice/sluice.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace sluice;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string diagnostics_of(const std::string& yaml, const std::string& display_name) {
    load_options how;
    how.environment = [](std::string_view) -> std::optional<std::string> {
        return std::nullopt;
    };
    try {
        load_pipeline_from_string(yaml, display_name, how);
    } catch (const config_error& e) {
        std::string out;
        for (const auto& d : e.diagnostics()) {
            out += d.to_string() + "\n";
        }
        return out;
    }
    return "(loaded without error)\n";
}

}  // namespace

TEST_CASE("each invalid pipeline reports exactly its expected diagnostics", "[config]") {
    register_builtin_operators();
    const fs::path folder = fs::path(SLUICE_SOURCE_DIR) / "tests/pipelines/invalid";
    std::vector<fs::path> cases;
    for (const auto& entry : fs::directory_iterator(folder)) {
        if (entry.path().extension() == ".yaml") {
            cases.push_back(entry.path());
        }
    }
    std::sort(cases.begin(), cases.end());
    REQUIRE(cases.size() >= 20);
    for (const auto& path : cases) {
        const auto display = "tests/pipelines/invalid/" + path.filename().string();
        const auto expected_path = fs::path(path).replace_extension(".expected");
        const auto actual = diagnostics_of(read_file(path), display);
        INFO(display << " produced:\n" << actual);
        REQUIRE(fs::exists(expected_path));
        CHECK(actual == read_file(expected_path));
    }
}

TEST_CASE("environment variables expand with defaults and --set overrides one value", "[config]") {
    register_builtin_operators();
    const std::string yaml = R"(name: ${PIPELINE_NAME:-fallback}
sources:
  raw: {type: generator, count: "${COUNT}", emit: columns}
sinks:
  out: {type: blackhole, inputs: [raw]}
)";
    load_options how;
    how.environment = [](std::string_view name) -> std::optional<std::string> {
        if (name == "COUNT") {
            return "25";
        }
        return std::nullopt;
    };
    auto p = load_pipeline_from_string(yaml, "inline.yaml", how);
    CHECK(p->name() == "fallback");
    CHECK(p->run().records_read == 25);

    how.overrides.emplace_back("sources.raw.count", "7");
    how.overrides.emplace_back("name", "overridden");
    auto q = load_pipeline_from_string(yaml, "inline.yaml", how);
    CHECK(q->name() == "overridden");
    CHECK(q->run().records_read == 7);
}

TEST_CASE("an override that walks through a scalar is an error", "[config]") {
    register_builtin_operators();
    load_options how;
    how.overrides.emplace_back("name.inner", "x");
    CHECK_THROWS_WITH(
            load_pipeline_from_string("name: t\nsources: {}\nsinks: {}\n", "inline.yaml", how),
            Catch::Contains("cannot set 'name.inner': 'name' is not a mapping"));
}

TEST_CASE("an override keeps the dots of a quoted key", "[config]") {
    register_builtin_operators();
    const std::string yaml = R"(name: t
sources:
  in: {type: kafka, group_id: g, topics: [a]}
sinks:
  out: {type: blackhole, inputs: [in]}
)";
    load_options how;
    // One librdkafka property, not the mappings "fetch" > "wait" > "max" > "ms".
    how.overrides.emplace_back(R"(sources.in.librdkafka."fetch.wait.max.ms")", "soon");
    CHECK_THROWS_WITH(load_pipeline_from_string(yaml, "inline.yaml", how),
                      Catch::Contains("librdkafka rejected 'fetch.wait.max.ms: soon'"));
    how.overrides.back().first = "sources.in.librdkafka.'fetch.wait.max.ms'";
    CHECK_THROWS_WITH(load_pipeline_from_string(yaml, "inline.yaml", how),
                      Catch::Contains("librdkafka rejected 'fetch.wait.max.ms: soon'"));
    how.overrides.back().first = R"(sources.in.librdkafka."fetch.wait)";
    CHECK_THROWS_WITH(load_pipeline_from_string(yaml, "inline.yaml", how),
                      Catch::Contains("closed quotes"));
    how.overrides.back().first = "sources..count";
    CHECK_THROWS_WITH(load_pipeline_from_string(yaml, "inline.yaml", how),
                      Catch::Contains("no empty key"));
}

TEST_CASE("parse_override splits KEY=VALUE at the first equals sign", "[config]") {
    CHECK(parse_override("a.b=c=d") ==
          std::optional<std::pair<std::string, std::string>>({"a.b", "c=d"}));
    CHECK_FALSE(parse_override("novalue"));
    CHECK_FALSE(parse_override("=x"));
}
