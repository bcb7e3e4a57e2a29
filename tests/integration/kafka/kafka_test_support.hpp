#pragma once

// Helpers of the Kafka integration tests: a reachable broker (or a clear failure), unique topic
// names, simulator messages produced with librdkafka, committed offsets read back, a topic
// read back, and `sluice run` as a child process.

#include <sluice/ops/generator.hpp>
#include <sluice/ops/kafka.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sluice::kafka_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline std::string brokers() {
    const char* env = std::getenv("SLUICE_KAFKA_BROKERS");
    return env != nullptr ? env : "127.0.0.1:9092";
}

/// Fails the test with a clear message unless the broker answers a metadata request.
inline void require_broker() {
    char error[512] = {0};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers().c_str(), error, sizeof(error));
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof(error));
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
    REQUIRE(rk != nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    const auto err = rd_kafka_metadata(rk, 0, nullptr, &metadata, 10000);
    if (metadata != nullptr) {
        rd_kafka_metadata_destroy(metadata);
    }
    rd_kafka_destroy(rk);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        FAIL(fmt::format(
                "no Kafka broker answers on {} ({}): start one with `scripts/services start kafka` "
                "(make test does)",
                brokers(),
                rd_kafka_err2str(err)));
    }
}

/// A name no other test run uses.
inline std::string unique_name(const std::string& prefix) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return fmt::format(
            "{}-{}-{}",
            prefix,
            ::getpid(),
            std::chrono::duration_cast<std::chrono::milliseconds>(now).count() % 100'000'000);
}

/// A scratch folder for one test.
inline fs::path scratch(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / unique_name("sluice-kafka-" + name);
    fs::create_directories(dir);
    return dir;
}

/// Removes a test's scratch folder (outputs of up to ~200 MB) at the end of a test case whose
/// last check passed; otherwise it stays, with the pipeline's YAML, log and outputs.
inline void remove_scratch(const fs::path& dir) {
    if (Catch::getResultCapture().lastAssertionPassed()) {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
}

inline void create_topic(const std::string& topic, int partitions) {
    const auto error = create_kafka_topic(brokers(), topic, partitions);
    INFO("creating topic " << topic);
    REQUIRE(error.empty());
}

/// Produces `count` simulator readings (JSON, keyed by sensor id); returns messages per key.
inline std::map<std::string, std::uint64_t> produce_readings(const std::string& topic,
                                                             std::uint64_t count,
                                                             std::uint64_t seed = 42,
                                                             double rate = 0) {
    simulator_config config;
    config.sensors = 200;
    config.seed = seed;
    sensor_simulator simulator(config);
    kafka_producer producer({brokers(), topic, {{"linger.ms", "20"}}});
    std::map<std::string, std::uint64_t> per_key;
    std::string value;
    const auto started = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < count; ++i) {
        if (rate > 0 && i % 1000 == 0) {
            std::this_thread::sleep_until(
                    started + std::chrono::microseconds(static_cast<std::int64_t>(i * 1e6 / rate)));
        }
        const auto reading = simulator.next();
        value.clear();
        simulator.append_json(value, reading);
        const auto key = simulator.sensor_id(reading.sensor);
        producer.send(key, value);
        ++per_key[std::string(key)];
    }
    REQUIRE(producer.flush(60s) == 0);
    INFO(producer.first_error());
    REQUIRE(producer.delivered() == count);
    return per_key;
}

/// Committed offsets of `group` for partitions 0..partitions-1 of `topic` (-1001 = none).
inline std::vector<std::int64_t> committed_offsets(const std::string& group,
                                                   const std::string& topic,
                                                   int partitions) {
    char error[512] = {0};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers().c_str(), error, sizeof(error));
    rd_kafka_conf_set(conf, "group.id", group.c_str(), error, sizeof(error));
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof(error));
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
    REQUIRE(rk != nullptr);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) {
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
    }
    const auto err = rd_kafka_committed(rk, list, 30000);
    INFO(rd_kafka_err2str(err));
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR);
    std::vector<std::int64_t> offsets(static_cast<std::size_t>(partitions),
                                      RD_KAFKA_OFFSET_INVALID);
    for (int i = 0; i < list->cnt; ++i) {
        offsets[static_cast<std::size_t>(list->elems[i].partition)] = list->elems[i].offset;
    }
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_destroy(rk);
    return offsets;
}

/// One message read back from a topic.
struct message {
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::string key;
    std::string value;
    std::int64_t timestamp_ms = -1;  ///< the message timestamp
    rd_kafka_timestamp_type_t timestamp_type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
};

/// Reads every partition of `topic` from the beginning until `expected` messages arrived (or
/// 120 s passed), then `linger` longer to catch any extra message; no consumer group.
inline std::vector<message> read_topic(const std::string& topic,
                                       int partitions,
                                       std::size_t expected,
                                       std::chrono::milliseconds linger = 0ms) {
    char error[512] = {0};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers().c_str(), error, sizeof(error));
    rd_kafka_conf_set(conf, "group.id", unique_name("reader").c_str(), error, sizeof(error));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", error, sizeof(error));
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof(error));
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
    REQUIRE(rk != nullptr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) {
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
    }
    REQUIRE(rd_kafka_assign(rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<message> out;
    out.reserve(expected);
    auto deadline = std::chrono::steady_clock::now() + 120s;
    bool lingering = false;
    while (std::chrono::steady_clock::now() < deadline) {
        if (out.size() >= expected && !lingering) {
            lingering = true;
            deadline = std::chrono::steady_clock::now() + linger;
        }
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
        if (m == nullptr) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            message read{m->partition,
                         m->offset,
                         m->key != nullptr
                                 ? std::string(static_cast<const char*>(m->key), m->key_len)
                                 : "",
                         std::string(static_cast<const char*>(m->payload), m->len)};
            read.timestamp_ms = rd_kafka_message_timestamp(m, &read.timestamp_type);
            out.push_back(std::move(read));
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return out;
}

/// One output line of the test pipelines (kafka -> json_decode keeping key, partition, offset).
struct output_record {
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::string key;
    std::string sensor_id;
};

inline std::optional<std::int64_t> int_field(const std::string& line, const char* name) {
    const auto at = line.find(fmt::format("\"{}\":", name));
    if (at == std::string::npos) {
        return std::nullopt;
    }
    return std::strtoll(line.c_str() + at + std::strlen(name) + 3, nullptr, 10);
}

inline std::string string_field(const std::string& line, const char* name) {
    const auto at = line.find(fmt::format("\"{}\":\"", name));
    if (at == std::string::npos) {
        return {};
    }
    const auto start = at + std::strlen(name) + 4;
    return line.substr(start, line.find('"', start) - start);
}

/// Complete lines of an NDJSON output file (a torn last line of a killed process is ignored).
inline std::vector<output_record> read_output(const fs::path& path) {
    std::vector<output_record> out;
    std::ifstream in(path, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t start = 0;
    while (true) {
        const auto end = content.find('\n', start);
        if (end == std::string::npos) {
            break;
        }
        const std::string line = content.substr(start, end - start);
        start = end + 1;
        const auto partition = int_field(line, "partition");
        const auto offset = int_field(line, "offset");
        REQUIRE(partition);
        REQUIRE(offset);
        out.push_back({static_cast<std::int32_t>(*partition),
                       *offset,
                       string_field(line, "key"),
                       string_field(line, "sensor_id")});
    }
    return out;
}

/// Lines in a file so far (cheap progress check).
inline std::size_t count_lines(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::size_t lines = 0;
    char buffer[1 << 16];
    while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
        for (std::streamsize i = 0; i < in.gcount(); ++i) {
            lines += buffer[i] == '\n' ? 1 : 0;
        }
    }
    return lines;
}

/// The test pipeline: kafka source -> json_decode (keeping key, partition, offset) -> file.
inline std::string pipeline_yaml(const std::string& topic,
                                 const std::string& group,
                                 const fs::path& output,
                                 std::size_t max_records = 2000,
                                 const std::string& commit_interval = "200ms") {
    return fmt::format(R"(name: kafka-test
dead_letter: {{type: file, path: '{output}.dead-letter'}}
sources:
  in:
    type: kafka
    brokers: '{brokers}'
    group_id: '{group}'
    topics: ['{topic}']
    start: committed
    commit_interval: {commit_interval}
    batch: {{max_records: {max_records}, max_latency: 50ms}}
    librdkafka: {{session.timeout.ms: 6000, heartbeat.interval.ms: 500}}
transforms:
  parsed:
    type: json_decode
    inputs: [in]
    schema: {{sensor_id: string, temperature: float64, humidity: float64, timestamp: timestamp_ms}}
    keep: [key, partition, offset]
sinks:
  out: {{type: file, inputs: [parsed], path: '{output}'}}
)",
                       fmt::arg("output", output.string()),
                       fmt::arg("brokers", brokers()),
                       fmt::arg("group", group),
                       fmt::arg("topic", topic),
                       fmt::arg("commit_interval", commit_interval),
                       fmt::arg("max_records", max_records));
}

/// `sluice run FILE --quiet` (or any other `sluice` command line) as a child process, its
/// stderr and stdout in FILE.log (resp. `log`).
class sluice_process {
public:
    explicit sluice_process(const fs::path& yaml_file)
        : sluice_process({"run", yaml_file.string(), "--quiet"}, yaml_file.string() + ".log") {}

    sluice_process(const std::vector<std::string>& arguments, std::string log)
        : log_(std::move(log)) {
        const std::string binary = std::string(SLUICE_BINARY_DIR) + "/sluice";
        REQUIRE(fs::exists(binary));
        std::vector<char*> argv{const_cast<char*>(binary.c_str())};
        for (const auto& a : arguments) {
            argv.push_back(const_cast<char*>(a.c_str()));
        }
        argv.push_back(nullptr);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                ::dup2(fd, STDERR_FILENO);
                ::dup2(fd, STDOUT_FILENO);
            }
            ::execv(binary.c_str(), argv.data());
            ::_exit(127);
        }
    }
    ~sluice_process() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
    }
    sluice_process(const sluice_process&) = delete;
    sluice_process& operator=(const sluice_process&) = delete;

    void signal(int sig) { ::kill(pid_, sig); }

    /// Waits up to `timeout` for the process to end; returns its exit code (128 + signal if
    /// killed), or nullopt if it is still running.
    std::optional<int> wait(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (true) {
            int status = 0;
            const pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                exited_ = true;
                code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                return code_;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                return std::nullopt;
            }
            std::this_thread::sleep_for(20ms);
        }
    }

    bool running() { return !exited_ && !wait(0ms).has_value(); }

    /// The child's stderr so far (for failure messages).
    std::string log() const {
        std::ifstream in(log_);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
    }

private:
    std::string log_;
    pid_t pid_ = -1;
    bool exited_ = false;
    int code_ = -1;
};

inline fs::path write_file(const fs::path& path, const std::string& text) {
    std::ofstream(path) << text;
    return path;
}

/// Waits until `path` has at least `lines` lines, the process ended, or `timeout` passed.
inline std::size_t wait_for_lines(const fs::path& path,
                                  std::size_t lines,
                                  sluice_process& process,
                                  std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t now = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        now = count_lines(path);
        if (now >= lines || !process.running()) {
            break;
        }
        std::this_thread::sleep_for(100ms);
    }
    return now;
}

/// Asks the process to drain and stop (SIGTERM) and requires a clean exit.
inline void stop_cleanly(sluice_process& process) {
    process.signal(SIGTERM);
    const auto code = process.wait(60s);
    INFO(process.log());
    REQUIRE(code.has_value());
    REQUIRE(*code == 0);
}

}  // namespace sluice::kafka_test
