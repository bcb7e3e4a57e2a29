// The broker is stopped and started again (scripts/services, KEEP_DATA=1) while a pipeline
// runs: the pipeline waits, resumes, and loses nothing. Runs alone (RUN_SERIAL): it takes the
// shared broker away from every other test for a while.
#include "kafka_test_support.hpp"

#include <atomic>

using namespace sluice;
using namespace sluice::kafka_test;

namespace {

int services(const std::string& action) {
    const std::string command =
            fmt::format("KEEP_DATA=1 '{}/scripts/services' {} kafka >/dev/null 2>&1",
                        SLUICE_SOURCE_DIR,
                        action);
    return std::system(command.c_str());
}

}  // namespace

TEST_CASE("the pipeline waits through a broker restart and loses nothing", "[kafka][restart]") {
    require_broker();
    constexpr std::uint64_t half = 100'000;
    constexpr int partitions = 3;
    const auto dir = scratch("restart");
    const auto topic = unique_name("sluice-restart");
    const auto group = unique_name("sluice-restart-group");
    create_topic(topic, partitions);
    produce_readings(topic, half, 21);

    const auto output = dir / "out.ndjson";
    sluice_process run(
            write_file(dir / "pipeline.yaml", pipeline_yaml(topic, group, output, 1000, "200ms")));
    REQUIRE(wait_for_lines(output, half, run, 120s) == half);

    // Let a commit happen, then take the broker away under the running pipeline.
    std::this_thread::sleep_for(1s);
    REQUIRE(services("stop") == 0);
    std::this_thread::sleep_for(5s);
    INFO(run.log());
    REQUIRE(run.running());  // a missing broker is not fatal: librdkafka keeps retrying
    REQUIRE(services("start") == 0);
    require_broker();

    produce_readings(topic, half, 22);
    const auto lines = wait_for_lines(output, 2 * half, run, 180s);
    INFO(run.log());
    REQUIRE(lines >= 2 * half);
    stop_cleanly(run);

    const auto records = read_output(output);
    std::map<std::pair<std::int32_t, std::int64_t>, int> counts;
    for (const auto& r : records) {
        ++counts[{r.partition, r.offset}];
    }
    CHECK(counts.size() == 2 * half);   // nothing lost
    CHECK(records.size() == 2 * half);  // and, with the commit done before the stop, nothing twice
    std::vector<std::int64_t> ends(partitions, 0);
    for (const auto& [pos, n] : counts) {
        ends[static_cast<std::size_t>(pos.first)] =
                std::max(ends[static_cast<std::size_t>(pos.first)], pos.second + 1);
    }
    CHECK(committed_offsets(group, topic, partitions) == ends);
    remove_scratch(dir);
}
