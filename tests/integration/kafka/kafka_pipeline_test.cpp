// The kafka source and sink against the real broker (scripts/services start kafka), run through
// the `sluice` CLI as child processes: exactly-once output on a clean run, the uncommitted tail
// replayed after kill -9, two members of one consumer group, and the sink read back.
#include "kafka_test_support.hpp"

#include <algorithm>
#include <set>

using namespace sluice;
using namespace sluice::kafka_test;

namespace {

using position = std::pair<std::int32_t, std::int64_t>;

std::map<position, int> count_positions(const std::vector<output_record>& records) {
    std::map<position, int> counts;
    for (const auto& r : records) {
        ++counts[{r.partition, r.offset}];
    }
    return counts;
}

/// Every offset 0..end-1 of every partition (end offsets from the per-partition counts).
std::size_t missing_positions(const std::map<position, int>& counts,
                              const std::vector<std::int64_t>& ends) {
    std::size_t missing = 0;
    for (std::size_t p = 0; p < ends.size(); ++p) {
        for (std::int64_t o = 0; o < ends[p]; ++o) {
            missing += counts.count({static_cast<std::int32_t>(p), o}) == 0 ? 1 : 0;
        }
    }
    return missing;
}

/// End offsets per partition: the simulator topic is never compacted, so the offsets of a
/// partition are exactly 0..n-1.
std::vector<std::int64_t> end_offsets(const std::map<position, int>& counts, int partitions) {
    std::vector<std::int64_t> ends(static_cast<std::size_t>(partitions), 0);
    for (const auto& [pos, n] : counts) {
        ends[static_cast<std::size_t>(pos.first)] =
                std::max(ends[static_cast<std::size_t>(pos.first)], pos.second + 1);
    }
    return ends;
}

}  // namespace

TEST_CASE("one million simulator messages pass kafka -> json_decode -> file exactly once",
          "[kafka][million]") {
    require_broker();
    constexpr std::uint64_t total = 1'000'000;
    constexpr int partitions = 6;
    const auto dir = scratch("million");
    const auto topic = unique_name("sluice-million");
    const auto group = unique_name("sluice-million-group");
    create_topic(topic, partitions);
    const auto per_key = produce_readings(topic, total);

    const auto output = dir / "out.ndjson";
    sluice_process run(
            write_file(dir / "pipeline.yaml", pipeline_yaml(topic, group, output, 8192, "1s")));
    const auto lines = wait_for_lines(output, total, run, 240s);
    INFO(run.log());
    REQUIRE(lines == total);
    stop_cleanly(run);

    const auto records = read_output(output);
    REQUIRE(records.size() == total);
    const auto counts = count_positions(records);
    CHECK(counts.size() == total);  // no (partition, offset) twice
    std::map<std::string, std::uint64_t> keys;
    std::size_t key_mismatch = 0;
    for (const auto& r : records) {
        ++keys[r.key];
        key_mismatch += r.key != r.sensor_id ? 1 : 0;
    }
    CHECK(key_mismatch == 0);  // the message key is the sensor id inside its value
    CHECK(keys == per_key);    // every key as often as it was produced

    // After a clean stop everything read is committed: the group's offsets are the ends.
    const auto ends = end_offsets(counts, partitions);
    CHECK(missing_positions(counts, ends) == 0);
    CHECK(committed_offsets(group, topic, partitions) == ends);
    remove_scratch(dir);
}

TEST_CASE("after kill -9 and a restart the duplicates are exactly the uncommitted tail",
          "[kafka][kill]") {
    require_broker();
    constexpr std::uint64_t total = 300'000;
    constexpr int partitions = 3;
    const auto dir = scratch("kill");
    const auto topic = unique_name("sluice-kill");
    const auto group = unique_name("sluice-kill-group");
    create_topic(topic, partitions);
    // The last third is produced only after the kill, so the first run cannot finish the
    // topic before it is killed however fast the machine is (CI once read all of it first).
    constexpr std::uint64_t before_kill = total * 2 / 3;
    produce_readings(topic, before_kill, 7);

    // Small batches and frequent commits, so that the kill lands between commits with a
    // real uncommitted tail.
    const auto first_output = dir / "first.ndjson";
    {
        sluice_process run(write_file(dir / "first.yaml",
                                      pipeline_yaml(topic, group, first_output, 500, "300ms")));
        const auto lines = wait_for_lines(first_output, total / 3, run, 120s);
        INFO(run.log());
        REQUIRE(run.running());
        REQUIRE(lines >= total / 3);
        // On a loaded machine the first commit can lag the output: wait (bounded) until one
        // has landed, so the kill leaves both a committed head and an uncommitted tail.
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (std::chrono::steady_clock::now() < deadline && run.running()) {
            const auto offsets = committed_offsets(group, topic, partitions);
            if (std::any_of(offsets.begin(), offsets.end(), [](std::int64_t o) { return o > 0; })) {
                break;
            }
            std::this_thread::sleep_for(100ms);
        }
        REQUIRE(run.running());
        run.signal(SIGKILL);
        REQUIRE(run.wait(30s) == 128 + SIGKILL);
    }
    const auto committed = committed_offsets(group, topic, partitions);
    const auto first = read_output(first_output);
    const auto first_counts = count_positions(first);
    REQUIRE(first.size() <= before_kill);
    CHECK(first_counts.size() == first.size());

    // At-least-once before the kill: everything below a committed offset was written.
    std::size_t committed_total = 0;
    for (int p = 0; p < partitions; ++p) {
        const auto c = std::max<std::int64_t>(0, committed[static_cast<std::size_t>(p)]);
        committed_total += static_cast<std::size_t>(c);
        for (std::int64_t o = 0; o < c; ++o) {
            REQUIRE(first_counts.count({p, o}) == 1);
        }
    }
    INFO("committed before the kill: " << committed_total << " of " << first.size() << " written");
    CHECK(committed_total > 0);

    // The rest of the stream arrives while the pipeline is down.
    produce_readings(topic, total - before_kill, 8);

    const auto second_output = dir / "second.ndjson";
    sluice_process rerun(write_file(dir / "second.yaml",
                                    pipeline_yaml(topic, group, second_output, 500, "300ms")));
    const std::size_t expected_second = total - committed_total;
    const auto lines = wait_for_lines(second_output, expected_second, rerun, 120s);
    INFO(rerun.log());
    REQUIRE(lines == expected_second);
    stop_cleanly(rerun);

    const auto second = read_output(second_output);
    const auto second_counts = count_positions(second);
    CHECK(second_counts.size() == second.size());
    // The restart starts exactly at the committed offsets...
    for (const auto& r : second) {
        REQUIRE(r.offset >=
                std::max<std::int64_t>(0, committed[static_cast<std::size_t>(r.partition)]));
    }
    // ...so the duplicates are exactly the records written after the last commit.
    std::size_t duplicates = 0;
    std::size_t uncommitted_tail = 0;
    for (const auto& [pos, n] : first_counts) {
        uncommitted_tail += pos.second >= committed[static_cast<std::size_t>(pos.first)] ? 1 : 0;
        duplicates += second_counts.count(pos);
    }
    CHECK(duplicates == uncommitted_tail);
    WARN("kill -9 after " << first.size() << " records written, " << committed_total
                          << " committed; restart wrote " << second.size() << ", duplicates "
                          << duplicates);
    std::map<position, int> all = first_counts;
    for (const auto& [pos, n] : second_counts) {
        all[pos] += n;
    }
    CHECK(all.size() == total);  // every message at least once
    CHECK(missing_positions(all, end_offsets(all, partitions)) == 0);
    remove_scratch(dir);
}

TEST_CASE("two members of one group share a topic and the survivor takes over", "[kafka][group]") {
    require_broker();
    constexpr std::uint64_t total = 240'000;
    constexpr int partitions = 6;
    const auto dir = scratch("group");
    const auto topic = unique_name("sluice-group");
    const auto group = unique_name("sluice-group-group");
    create_topic(topic, partitions);

    const auto out_a = dir / "a.ndjson";
    const auto out_b = dir / "b.ndjson";
    sluice_process a(write_file(dir / "a.yaml", pipeline_yaml(topic, group, out_a, 1000, "200ms")));
    sluice_process b(write_file(dir / "b.yaml", pipeline_yaml(topic, group, out_b, 1000, "200ms")));

    // The first half arrives while both members run; B stops halfway; the second half is
    // read by A alone.
    produce_readings(topic, total / 2, 11, 60'000);
    const auto half_deadline = std::chrono::steady_clock::now() + 120s;
    while (count_lines(out_a) + count_lines(out_b) < total / 2 &&
           std::chrono::steady_clock::now() < half_deadline) {
        std::this_thread::sleep_for(100ms);
    }
    INFO("A: " << a.log() << "\nB: " << b.log());
    REQUIRE(count_lines(out_b) > 0);  // both members really got partitions
    REQUIRE(count_lines(out_a) > 0);
    stop_cleanly(b);
    const auto b_records = read_output(out_b);

    produce_readings(topic, total / 2, 12, 60'000);
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    std::map<position, int> all;
    while (std::chrono::steady_clock::now() < deadline) {
        if (count_lines(out_a) + b_records.size() >= total) {
            all = count_positions(read_output(out_a));
            for (const auto& r : b_records) {
                ++all[{r.partition, r.offset}];
            }
            if (all.size() >= total) {
                break;
            }
        }
        std::this_thread::sleep_for(200ms);
    }
    stop_cleanly(a);
    CHECK(all.size() == total);  // the union is the whole input
    CHECK(missing_positions(all, end_offsets(all, partitions)) == 0);
    // A revocation commits what was acknowledged instead of timing out on it.
    CHECK(b.log().find("still had batches in flight") == std::string::npos);
    remove_scratch(dir);
}

TEST_CASE("a regex subscription that gains a topic mid-read rebalances and loses no record",
          "[kafka][regex]") {
    // A new topic matching the regex makes the only member of the group revoke every partition
    // and get them back (eager protocol). With 1 s batches the revocation and the new
    // assignment usually land inside one read call of the source (rd_kafka_consume_batch_queue):
    // the case where messages from before the revocation could be handed out under the new
    // assignment, which the source drops and reads again from the committed offset.
    require_broker();
    constexpr std::uint64_t total = 60'000;
    constexpr int partitions = 3;
    const auto dir = scratch("regex");
    const auto prefix = unique_name("sluice-regex") + "-";
    const auto group = unique_name("sluice-regex-group");
    create_topic(prefix + "a", partitions);

    const auto output = dir / "out.ndjson";
    std::string yaml = pipeline_yaml(prefix + "a", group, output, 100'000, "200ms");
    const auto replace = [&](const std::string& from, const std::string& to) {
        const auto at = yaml.find(from);
        REQUIRE(at != std::string::npos);
        yaml.replace(at, from.size(), to);
    };
    replace(fmt::format("topics: ['{}a']", prefix), fmt::format("topic_regex: '{}.*'", prefix));
    replace("max_latency: 50ms", "max_latency: 1s");
    replace("heartbeat.interval.ms: 500",
            "heartbeat.interval.ms: 500, topic.metadata.refresh.interval.ms: 300");
    sluice_process run(write_file(dir / "pipeline.yaml", yaml));

    produce_readings(prefix + "a", total / 2, 21, 20'000);
    // The second topic stays empty: every output record is one of the first topic's.
    create_topic(prefix + "b", partitions);
    produce_readings(prefix + "a", total / 2, 22, 20'000);

    const auto deadline = std::chrono::steady_clock::now() + 120s;
    std::map<position, int> counts;
    while (std::chrono::steady_clock::now() < deadline && run.running()) {
        if (count_lines(output) >= total) {
            counts = count_positions(read_output(output));
            if (counts.size() >= total) {
                break;
            }
        }
        std::this_thread::sleep_for(200ms);
    }
    stop_cleanly(run);
    const auto log = run.log();
    INFO(log);
    // The rebalance really happened: all of the first topic's partitions were revoked.
    CHECK(log.find(fmt::format("revoked {} partition(s)", partitions)) != std::string::npos);
    CHECK(counts.size() == total);
    const auto ends = end_offsets(counts, partitions);
    CHECK(missing_positions(counts, ends) == 0);
    CHECK(committed_offsets(group, prefix + "a", partitions) == ends);
    // The revocation waits for every batch handed out (the last one too) and commits them, and
    // drops what it read but did not hand out: no record is written twice (operators/kafka/
    // README.md "Rebalance").
    std::size_t duplicates = 0;
    for (const auto& [pos, n] : count_positions(read_output(output))) {
        duplicates += static_cast<std::size_t>(n - 1);
    }
    CHECK(duplicates == 0);
    CHECK(log.find("still had batches in flight") == std::string::npos);
    remove_scratch(dir);
}

TEST_CASE("the kafka sink delivers 100,000 records that read back identical", "[kafka][sink]") {
    require_broker();
    constexpr std::size_t total = 100'000;
    constexpr int partitions = 4;
    const auto dir = scratch("sink");
    const auto json_topic = unique_name("sluice-sink-json");
    const auto raw_topic = unique_name("sluice-sink-raw");
    create_topic(json_topic, partitions);
    create_topic(raw_topic, partitions);
    const auto copy = dir / "copy.ndjson";
    const auto yaml = fmt::format(R"(name: kafka-sink-test
dead_letter: {{type: file, path: '{dir}/dead-letter.ndjson'}}
sources:
  fleet: {{type: generator, count: {total}, sensors: 300, seed: 5, batch: {{max_records: 2000}}}}
transforms:
  parsed:
    type: json_decode
    inputs: [fleet]
    schema: {{sensor_id: string, temperature: float64, humidity: float64, timestamp: timestamp_ms,
             status_flag: int64, is_anomaly: bool}}
sinks:
  as_json: {{type: kafka, inputs: [parsed], brokers: '{brokers}', topic: '{json_topic}', key_column: sensor_id}}
  as_raw: {{type: kafka, inputs: [fleet], brokers: '{brokers}', topic: '{raw_topic}', key_column: key,
            format: raw, value_column: value}}
  copy: {{type: file, inputs: [parsed], path: '{copy}'}}
)",
                                  fmt::arg("dir", dir.string()),
                                  fmt::arg("total", total),
                                  fmt::arg("brokers", brokers()),
                                  fmt::arg("json_topic", json_topic),
                                  fmt::arg("raw_topic", raw_topic),
                                  fmt::arg("copy", copy.string()));
    sluice_process run(write_file(dir / "sink.yaml", yaml));
    const auto code = run.wait(180s);
    INFO(run.log());
    REQUIRE(code == 0);  // the generator ends, the sinks flush, the run exits

    std::multiset<std::string> expected;
    {
        std::ifstream in(copy);
        std::string line;
        while (std::getline(in, line)) {
            expected.insert(line);
        }
    }
    REQUIRE(expected.size() == total);

    // Lingering after the total catches any extra message: an idempotent producer's retries
    // must not duplicate any.
    const auto json_messages = read_topic(json_topic, partitions, total, 3s);
    REQUIRE(json_messages.size() == total);
    std::multiset<std::string> got;
    std::map<std::string, std::int32_t> partition_of_key;
    std::size_t key_mismatch = 0;
    std::size_t split_keys = 0;
    for (const auto& m : json_messages) {
        got.insert(m.value);
        key_mismatch += string_field(m.value, "sensor_id") != m.key ? 1 : 0;
        const auto [it, fresh] = partition_of_key.emplace(m.key, m.partition);
        split_keys += !fresh && it->second != m.partition ? 1 : 0;
    }
    CHECK(got == expected);    // the same rows, byte for byte
    CHECK(key_mismatch == 0);  // keyed by sensor_id
    CHECK(split_keys == 0);    // one key, one partition
    CHECK(partition_of_key.size() == 300);

    const auto raw_messages = read_topic(raw_topic, partitions, total);
    REQUIRE(raw_messages.size() == total);
    std::size_t raw_mismatch = 0;
    for (const auto& m : raw_messages) {
        raw_mismatch += string_field(m.value, "sensor_id") != m.key ? 1 : 0;
    }
    CHECK(raw_mismatch == 0);
    remove_scratch(dir);
}

namespace {

// `count` generated readings to Kafka: sensor-0001's to 'bad topic!', which is not a
// legal topic name (the broker answers INVALID_TOPIC_EXCEPTION, a permanent error, or
// librdkafka refuses it once its metadata knows), the rest to `good_topic`.
std::string bad_topic_pipeline(const std::string& dead_letter,
                               const std::string& good_topic,
                               int count) {
    return fmt::format(R"yaml(name: kafka-dead-letter-test
dead_letter: {dead}
sources:
  fleet: {{type: generator, count: {count}, sensors: 10, seed: 3}}
transforms:
  routed:
    type: map
    inputs: [fleet]
    columns:
      destination: "if(key == 'sensor-0001', 'bad topic!', '{good}')"
sinks:
  out: {{type: kafka, inputs: [routed], brokers: '{brokers}', topic_column: destination, key_column: key,
        format: raw, value_column: value, librdkafka: {{message.timeout.ms: 10000}}}}
)yaml",
                       fmt::arg("dead", dead_letter),
                       fmt::arg("count", count),
                       fmt::arg("good", good_topic),
                       fmt::arg("brokers", brokers()));
}

// The same with the dead letters in a file.
std::string bad_topic_pipeline(const fs::path& dead, const std::string& good_topic, int count) {
    return bad_topic_pipeline(
            fmt::format("{{type: file, path: '{}'}}", dead.string()), good_topic, count);
}

}  // namespace

TEST_CASE("a record the broker refuses for good is dead-lettered and the rest is delivered",
          "[kafka][deadletter]") {
    require_broker();
    const auto dir = scratch("deadletter");
    const auto good_topic = unique_name("sluice-dl-good");
    create_topic(good_topic, 2);
    const auto dead = dir / "dead-letter.ndjson";
    const auto yaml = bad_topic_pipeline(dead, good_topic, 1000);
    sluice_process run(write_file(dir / "pipeline.yaml", yaml));
    const auto code = run.wait(120s);
    INFO(run.log());
    REQUIRE(code == 0);

    std::ifstream in(dead);
    std::string line;
    std::size_t dead_letters = 0;
    while (std::getline(in, line)) {
        ++dead_letters;
        // Which of two answers comes depends on timing: the broker's delivery report, or, once
        // librdkafka's metadata already knows the name is illegal, its own refusal to queue it.
        CHECK_THAT(
                line,
                Catch::Contains("Kafka delivery to 'bad topic!' failed: Broker: Invalid topic") ||
                        Catch::Contains(
                                "Kafka refused the record for 'bad topic!': Local: Unknown topic"));
        CHECK_THAT(line, Catch::Contains("sensor-0001"));
    }
    CHECK(dead_letters == 100);  // 10 sensors, 1000 readings: 100 of sensor-0001
    const auto delivered = read_topic(good_topic, 2, 900, 2s);
    CHECK(delivered.size() == 900);
    CHECK(std::none_of(delivered.begin(), delivered.end(), [](const message& m) {
        return m.key == "sensor-0001";
    }));
    remove_scratch(dir);
}

TEST_CASE("a Kafka dead-letter sink has every dead letter in its topic when the run ends",
          "[kafka][deadletter]") {
    require_broker();
    const auto dir = scratch("deadletter-kafka");
    const auto good_topic = unique_name("sluice-dlk-good");
    const auto dead_topic = unique_name("sluice-dlk-dead");
    create_topic(good_topic, 1);
    create_topic(dead_topic, 1);
    const auto dead_letter = fmt::format(
            "{{type: kafka, brokers: '{}', topic: '{}', format: json}}", brokers(), dead_topic);
    sluice_process run(
            write_file(dir / "pipeline.yaml", bad_topic_pipeline(dead_letter, good_topic, 1000)));
    const auto code = run.wait(120s);
    INFO(run.log());
    REQUIRE(code == 0);
    const auto dead = read_topic(dead_topic, 1, 100, 2s);
    CHECK(dead.size() == 100);  // sensor-0001's 100 readings, each with its reason
    CHECK(std::all_of(dead.begin(), dead.end(), [](const message& m) {
        return m.value.find("'bad topic!'") != std::string::npos &&
               m.value.find("sensor-0001") != std::string::npos;
    }));
    remove_scratch(dir);
}

TEST_CASE("a dead-letter sink that fails under a delivery report stops the run, not the process",
          "[kafka][deadletter]") {
    // The Kafka sink dead-letters from librdkafka's own thread, where an exception would end
    // the process. A dead-letter file that cannot be opened (its parent is a file) must fail
    // the pipeline cleanly instead, with the reason.
    require_broker();
    const auto dir = scratch("deadletter-fails");
    const auto good_topic = unique_name("sluice-dlf-good");
    create_topic(good_topic, 1);
    write_file(dir / "not-a-directory", "x");
    const auto dead = dir / "not-a-directory" / "dead-letter.ndjson";
    const auto yaml = bad_topic_pipeline(dead, good_topic, 200);
    sluice_process run(write_file(dir / "pipeline.yaml", yaml));
    const auto code = run.wait(120s);
    const auto log = run.log();
    INFO(log);
    REQUIRE(code.has_value());
    CHECK(*code == 1);  // the run failed; a crash would be 128 + SIGABRT
    CHECK_THAT(log,
               Catch::Contains("the dead-letter sink failed") &&
                       Catch::Contains("cannot create directory"));
    remove_scratch(dir);
}
