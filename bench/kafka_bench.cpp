// End-to-end Kafka benchmark against the real broker (scripts/services start kafka).
//
// A topic is pre-filled with simulator readings; then, several runs each, side by side:
//   baseline  raw librdkafka consume loop (high-level consumer, no processing): the ceiling
//             of this client library on this broker and machine;
//   sluice    kafka -> blackhole, kafka -> json_decode -> blackhole;
//   baseline  raw librdkafka mirror loop (consume + idempotent produce, acks=all, flush);
//   sluice    kafka -> kafka sink (idempotent, acks=all; run ends after the final flush).
//   broker    the broker's own tools on the same topic, from the broker's jars through
//             `scripts/services kafka-tool`: ConsumerPerformance (the Java consumer, the class
//             behind kafka-consumer-perf-test) and ProducerPerformance (the Java producer,
//             kafka-producer-perf-test, idempotent, acks=all, lz4, the simulator's JSON as
//             payloads): this broker's read and write ceiling on this machine.
// Prints records/s and MB/s (median, min, max), the batch latency percentiles of the sluice
// runs, and checks every run's output: record counts, bytes read, no rejects, and the output
// topic's end offsets.
//
//   build/release/bench/kafka_bench [records] [runs] [--no-broker-tools] [--consume-only]
//       (default 3000000 3, since a group join takes 0.4-0.6 s, a large part of a shorter
//       run; broker 127.0.0.1:9092, or SLUICE_KAFKA_BROKERS; --consume-only leaves out the
//       produce, mirror and sink runs)
// Besides records/s, the consume runs report records per CPU-second of this process (the
// broker shares the cores, so the rate alone follows the machine's load) and the broker's
// CPU per record (from /proc, its pid from `scripts/services status kafka`).
#include <sluice/ops/generator.hpp>
#include <sluice/ops/kafka.hpp>
#include <sluice/sluice.hpp>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace sluice;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

std::string brokers() {
    const char* env = std::getenv("SLUICE_KAFKA_BROKERS");
    return env != nullptr ? env : "127.0.0.1:9092";
}

std::string unique(const std::string& prefix) {
    return fmt::format("{}-{}-{}",
                       prefix,
                       ::getpid(),
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                                       .count() %
                               100'000'000);
}

rd_kafka_t* make_client(rd_kafka_type_t type,
                        const std::vector<std::pair<std::string, std::string>>& props) {
    char error[512] = {0};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers().c_str(), error, sizeof(error));
    rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error));
    for (const auto& [k, v] : props) {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), error, sizeof(error)) !=
            RD_KAFKA_CONF_OK) {
            throw std::runtime_error(error);
        }
    }
    rd_kafka_t* rk = rd_kafka_new(type, conf, error, sizeof(error));
    if (rk == nullptr) {
        throw std::runtime_error(error);
    }
    return rk;
}

/// CPU seconds (user + system) used so far by this process, all its threads (the source's
/// poll thread, librdkafka's, the runtime's workers).
double own_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// The broker's process id from `scripts/services status kafka` ("... pid N ..."), or 0.
long broker_pid() {
    const std::string command =
            fmt::format("'{}/scripts/services' status kafka 2>/dev/null", SLUICE_SOURCE_DIR);
    std::FILE* out = ::popen(command.c_str(), "r");
    if (out == nullptr) {
        return 0;
    }
    char buffer[512] = {0};
    std::string text;
    while (std::fgets(buffer, sizeof(buffer), out) != nullptr) {
        text += buffer;
    }
    ::pclose(out);
    const auto at = text.find("pid ");
    return at == std::string::npos ? 0 : std::strtol(text.c_str() + at + 4, nullptr, 10);
}

/// CPU seconds used so far by process `pid` (utime + stime from /proc), or -1.
double process_cpu_seconds(long pid) {
    if (pid <= 0) {
        return -1;
    }
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');  // the command name may hold spaces
    if (close == std::string::npos) {
        return -1;
    }
    std::vector<std::string> fields;
    std::size_t start = close + 2;
    while (start < text.size()) {
        const auto end = text.find(' ', start);
        fields.push_back(
                text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    // Fields after the name start at "state" (field 3): utime is field 14, stime field 15.
    if (fields.size() < 13) {
        return -1;
    }
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    return (std::strtod(fields[11].c_str(), nullptr) + std::strtod(fields[12].c_str(), nullptr)) /
           ticks;
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one;
    std::string five;
    std::string fifteen;
    in >> one >> five >> fifteen;
    return fmt::format("{} {} {}", one, five, fifteen);
}

long g_broker_pid = 0;

struct measurement {
    double seconds = 0;
    double cpu_seconds = 0;          // this process, over the run (raw and sluice runs)
    double broker_cpu_seconds = -1;  // the broker's process over the run, if known
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;
    std::uint64_t p50_ns = 0;  // batch latency of the last operator (sluice runs)
    std::uint64_t p99_ns = 0;
    // When the first records arrived and how many had by then: the group join, metadata and
    // first fetch come before it, so the rate after it compares with ConsumerPerformance's
    // "fetch time only".
    double first_seconds = 0;
    std::uint64_t first_records = 0;
    bool ok = true;
    std::string problem;
};

/// The same runs counted from their first records (see measurement::first_seconds).
std::vector<measurement> from_first_records(std::vector<measurement> runs) {
    for (auto& m : runs) {
        const double share = m.records > 0 ? static_cast<double>(m.records - m.first_records) /
                                                     static_cast<double>(m.records)
                                           : 0;
        m.bytes = static_cast<std::uint64_t>(static_cast<double>(m.bytes) * share);
        m.records -= m.first_records;
        m.seconds -= m.first_seconds;
        m.cpu_seconds = 0;  // measured over the whole run: reported there
        m.broker_cpu_seconds = -1;
    }
    return runs;
}

/// Raw consume loop over all partitions from the beginning until `records` arrived.
measurement raw_consume(const std::string& topic,
                        int partitions,
                        std::uint64_t records,
                        bool mirror) {
    rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER,
                                 {{"group.id", unique("bench-raw")},
                                  {"enable.auto.commit", "false"},
                                  {"enable.partition.eof", "false"}});
    rd_kafka_t* producer = nullptr;
    rd_kafka_topic_t* out_topic = nullptr;
    const std::string out_name = unique("bench-raw-mirror");
    if (mirror) {
        create_kafka_topic(brokers(), out_name, partitions);
        producer = make_client(RD_KAFKA_PRODUCER,
                               {{"enable.idempotence", "true"},
                                {"acks", "all"},
                                {"linger.ms", "5"},
                                {"batch.num.messages", "10000"},
                                {"partitioner", "murmur2_random"}});
        out_topic = rd_kafka_topic_new(producer, out_name.c_str(), nullptr);
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) {
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
    }
    measurement m;
    const auto started = steady::now();
    const double cpu_before = own_cpu_seconds();
    const double broker_before = process_cpu_seconds(g_broker_pid);
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    const auto deadline = started + 300s;
    while (m.records < records && steady::now() < deadline) {
        rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 100);
        if (msg == nullptr) {
            continue;
        }
        if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (m.records == 0) {
                m.first_seconds = std::chrono::duration<double>(steady::now() - started).count();
                m.first_records = 1;
            }
            ++m.records;
            m.bytes += msg->len + msg->key_len;
            if (mirror) {
                while (rd_kafka_produce(out_topic,
                                        RD_KAFKA_PARTITION_UA,
                                        RD_KAFKA_MSG_F_COPY,
                                        msg->payload,
                                        msg->len,
                                        msg->key,
                                        msg->key_len,
                                        nullptr) != 0) {
                    rd_kafka_poll(producer, 1);
                }
                rd_kafka_poll(producer, 0);
            }
        }
        rd_kafka_message_destroy(msg);
    }
    if (mirror) {
        rd_kafka_flush(producer, 60000);
        if (rd_kafka_outq_len(producer) != 0) {
            m.ok = false;
            m.problem = "mirror flush incomplete";
        }
    }
    m.seconds = std::chrono::duration<double>(steady::now() - started).count();
    m.cpu_seconds = own_cpu_seconds() - cpu_before;
    if (broker_before >= 0) {
        m.broker_cpu_seconds = process_cpu_seconds(g_broker_pid) - broker_before;
    }
    if (m.records != records) {
        m.ok = false;
        m.problem = fmt::format("read {} of {}", m.records, records);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (mirror) {
        rd_kafka_topic_destroy(out_topic);
        rd_kafka_destroy(producer);
    }
    return m;
}

/// Sum of the end offsets of a topic's partitions: how many messages it holds.
std::int64_t topic_size(const std::string& topic, int partitions) {
    rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, {});
    std::int64_t total = 0;
    for (int p = 0; p < partitions; ++p) {
        std::int64_t low = 0;
        std::int64_t high = 0;
        if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 10000) ==
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            total += high - low;
        }
    }
    rd_kafka_destroy(rk);
    return total;
}

/// Runs `scripts/services kafka-tool <arguments>` (a Java main class on the broker's classpath)
/// and returns its stdout lines; its log goes to stderr. nullopt if it failed.
std::optional<std::vector<std::string>> kafka_tool(const std::string& arguments) {
    const std::string command =
            fmt::format("'{}/scripts/services' kafka-tool {}", SLUICE_SOURCE_DIR, arguments);
    std::FILE* out = ::popen(command.c_str(), "r");
    if (out == nullptr) {
        return std::nullopt;
    }
    std::vector<std::string> lines;
    std::string line;
    char buffer[4096];
    while (std::fgets(buffer, sizeof(buffer), out) != nullptr) {
        line += buffer;
        if (!line.empty() && line.back() == '\n') {
            line.pop_back();
            lines.push_back(std::move(line));
            line.clear();
        }
    }
    if (::pclose(out) != 0) {
        return std::nullopt;
    }
    return lines;
}

std::vector<std::string> split(const std::string& text, const std::string& separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const auto at = text.find(separator, start);
        parts.push_back(
                text.substr(start, at == std::string::npos ? std::string::npos : at - start));
        if (at == std::string::npos) {
            return parts;
        }
        start = at + separator.size();
    }
}

/// ConsumerPerformance (a fresh group, from the beginning) until `records` were read.
/// `fetch_only`: its time without the group join (fetch.time.ms) instead of the whole run.
std::pair<measurement, measurement> broker_consume(const std::string& topic,
                                                   std::uint64_t records) {
    measurement whole;
    measurement fetch;
    const auto lines =
            kafka_tool(fmt::format("org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "
                                   "{} --topic {} --messages {} --group {} "
                                   "--timeout 60000 --hide-header",
                                   brokers(),
                                   topic,
                                   records,
                                   unique("bench-broker")));
    // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
    // rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
    const auto fields =
            lines && !lines->empty() ? split(lines->back(), ", ") : std::vector<std::string>{};
    if (fields.size() < 10) {
        whole.ok = fetch.ok = false;
        whole.problem = fetch.problem =
                "ConsumerPerformance gave no result line (see its log above)";
        whole.seconds = fetch.seconds = 1;
        return {whole, fetch};
    }
    const auto mb = std::strtod(fields[2].c_str(), nullptr);
    const auto n = std::strtoull(fields[4].c_str(), nullptr, 10);
    const auto rate = std::strtod(fields[5].c_str(), nullptr);
    const auto fetch_ms = std::strtod(fields[7].c_str(), nullptr);
    for (auto* m : {&whole, &fetch}) {
        m->records = n;
        m->bytes = static_cast<std::uint64_t>(mb * 1024 * 1024);  // the tool's MB are MiB
        if (n != records) {
            m->ok = false;
            m->problem = fmt::format("read {} of {}", n, records);
        }
    }
    whole.seconds = rate > 0 ? static_cast<double>(n) / rate : 1;
    fetch.seconds = fetch_ms > 0 ? fetch_ms / 1000 : 1;
    return {whole, fetch};
}

/// ProducerPerformance: `records` messages, the simulator's JSON (from `payload_file`) as
/// values, to a fresh topic, with the settings of sluice's producers.
measurement broker_produce(int partitions, std::uint64_t records, const std::string& payload_file) {
    measurement m;
    const std::string topic = unique("bench-broker-produce");
    create_kafka_topic(brokers(), topic, partitions);
    const auto lines =
            kafka_tool(fmt::format("org.apache.kafka.tools.ProducerPerformance --topic {} "
                                   "--num-records {} --throughput -1 "
                                   "--payload-file {} --producer-props bootstrap.servers={} "
                                   "acks=all enable.idempotence=true "
                                   "compression.type=lz4 linger.ms=5 batch.size=1000000",
                                   topic,
                                   records,
                                   payload_file,
                                   brokers()));
    // "1000000 records sent, 254323.5 records/sec (48.51 MB/sec), 45.67 ms avg latency, ..."
    const std::string* summary = nullptr;
    if (lines) {
        for (const auto& line : *lines) {
            if (line.find(" records sent, ") != std::string::npos) {
                summary = &line;
            }
        }
    }
    m.seconds = 1;
    if (summary == nullptr) {
        m.ok = false;
        m.problem = "ProducerPerformance gave no summary line (see its log above)";
        return m;
    }
    const auto fields = split(*summary, " ");
    const auto sent = std::strtoull(fields[0].c_str(), nullptr, 10);
    const auto rate = std::strtod(fields[3].c_str(), nullptr);
    const auto mb_rate = std::strtod(fields[5].c_str() + 1, nullptr);  // "(48.51"
    m.records = sent;
    m.seconds = rate > 0 ? static_cast<double>(sent) / rate : 1;
    m.bytes = static_cast<std::uint64_t>(mb_rate * 1024 * 1024 * m.seconds);
    const auto held = topic_size(topic, partitions);
    if (sent != records || held != static_cast<std::int64_t>(records)) {
        m.ok = false;
        m.problem = fmt::format("sent {}, topic holds {}, of {}", sent, held, records);
    }
    return m;
}

enum class shape {
    blackhole,
    decode,
    sink
};

/// One sluice run: `kafka` source (fresh group, from the beginning) into `what`.
measurement sluice_run(const std::string& topic,
                       int partitions,
                       std::uint64_t records,
                       std::uint64_t bytes,
                       shape what) {
    const std::string out_topic = unique("bench-sluice-out");
    if (what == shape::sink) {
        create_kafka_topic(brokers(), out_topic, partitions);
    }
    std::string yaml = fmt::format(R"(name: kafka-bench
dead_letter: {{type: file, path: /tmp/sluice-kafka-bench-dead-letter.ndjson}}
sources:
  in:
    type: kafka
    brokers: '{}'
    group_id: '{}'
    topics: ['{}']
    start: earliest
    batch: {{max_records: 8192, max_latency: 50ms}}
)",
                                   brokers(),
                                   unique("bench-sluice"),
                                   topic);
    std::string last = "in";
    if (what == shape::decode) {
        yaml += R"(transforms:
  parsed:
    type: json_decode
    inputs: [in]
    schema: {sensor_id: string, temperature: float64, humidity: float64, timestamp: timestamp_ms,
             hour_of_day: int64, day_of_week: int64, status_flag: int64, location: string, is_anomaly: bool}
)";
        last = "parsed";
    }
    if (what == shape::sink) {
        yaml += fmt::format(
                "sinks:\n  out: {{type: kafka, inputs: [in], brokers: '{}', topic: '{}', "
                "key_column: key, "
                "format: raw, value_column: value}}\n",
                brokers(),
                out_topic);
    } else {
        yaml += fmt::format("sinks:\n  out: {{type: blackhole, inputs: [{}]}}\n", last);
    }
    auto p = load_pipeline_from_string(yaml, "kafka-bench.yaml");
    const auto metrics = p->metrics();
    const operator_metrics* source_metrics = metrics.front();
    const operator_metrics* sink_metrics = metrics.back();
    measurement m;
    const auto started = steady::now();
    const double cpu_before = own_cpu_seconds();
    const double broker_before = process_cpu_seconds(g_broker_pid);
    run_summary summary;
    std::exception_ptr failure;
    std::thread runner([&] {
        try {
            summary = p->run();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    const auto deadline = started + 300s;
    while (sink_metrics->records_in.load() < records && steady::now() < deadline && !failure) {
        if (m.first_records == 0) {
            if (const auto first = source_metrics->records_out.load(); first > 0) {
                m.first_seconds = std::chrono::duration<double>(steady::now() - started).count();
                m.first_records = first;
            }
        }
        std::this_thread::sleep_for(1ms);
    }
    auto reached = steady::now();
    // At the last record: the teardown (consumer close, group leave) is not the throughput's.
    m.cpu_seconds = own_cpu_seconds() - cpu_before;
    if (broker_before >= 0) {
        m.broker_cpu_seconds = process_cpu_seconds(g_broker_pid) - broker_before;
    }
    p->stop();
    runner.join();
    if (what == shape::sink) {
        reached = steady::now();  // the sink's run ends after its final flush: all delivered
        m.cpu_seconds = own_cpu_seconds() - cpu_before;
        if (broker_before >= 0) {
            m.broker_cpu_seconds = process_cpu_seconds(g_broker_pid) - broker_before;
        }
    }
    m.seconds = std::chrono::duration<double>(reached - started).count();
    m.records = sink_metrics->records_in.load();
    m.bytes = source_metrics->bytes_in.load();
    m.p50_ns = sink_metrics->batch_latency.quantile(0.5);
    m.p99_ns = sink_metrics->batch_latency.quantile(0.99);
    if (failure) {
        m.ok = false;
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            m.problem = e.what();
        }
    } else if (m.records != records || m.bytes != bytes || summary.records_rejected != 0) {
        // The source may read a little past `records` before stop() lands; never less.
        if (m.records < records || m.bytes < bytes || summary.records_rejected != 0) {
            m.ok = false;
            m.problem = fmt::format("records {} of {}, bytes {} of {}, rejected {}",
                                    m.records,
                                    records,
                                    m.bytes,
                                    bytes,
                                    summary.records_rejected);
        }
    }
    if (what == shape::sink && m.ok) {
        const auto held = topic_size(out_topic, partitions);
        if (held != static_cast<std::int64_t>(m.records)) {
            m.ok = false;
            m.problem = fmt::format(
                    "output topic holds {} messages, sink accepted {}", held, m.records);
        }
    }
    return m;
}

/// The median records/s of `runs`.
double median_rate(const std::vector<measurement>& runs) {
    std::vector<double> rate;
    for (const auto& m : runs) {
        rate.push_back(static_cast<double>(m.records) / m.seconds);
    }
    std::sort(rate.begin(), rate.end());
    return rate.empty() ? 0 : rate[rate.size() / 2];
}

/// Prints one line (median [min .. max] rec/s, MB/s, latency, "% of" `ceiling`'s median if
/// given, the check) and returns the median records/s.
double report(const std::string& name,
              std::vector<measurement> runs,
              bool latency,
              double ceiling = 0,
              const std::string& ceiling_name = "") {
    if (runs.empty()) {
        return 0;
    }
    std::vector<double> rate;
    std::vector<double> mb;
    bool ok = true;
    std::string problem;
    for (const auto& m : runs) {
        rate.push_back(static_cast<double>(m.records) / m.seconds);
        mb.push_back(static_cast<double>(m.bytes) / 1e6 / m.seconds);
        ok = ok && m.ok;
        if (!m.ok) {
            problem = m.problem;
        }
    }
    std::sort(rate.begin(), rate.end());
    std::sort(mb.begin(), mb.end());
    const double median = rate[rate.size() / 2];
    std::string line = fmt::format("  {:<52} {:>9.0f} rec/s [{:>8.0f} .. {:>8.0f}] {:>6.1f} MB/s",
                                   name,
                                   median,
                                   rate.front(),
                                   rate.back(),
                                   mb[mb.size() / 2]);
    if (ceiling > 0) {
        line += fmt::format("  {:>3.0f} % of {}", 100 * median / ceiling, ceiling_name);
    }
    std::vector<double> per_cpu;
    std::vector<double> broker_us;
    for (const auto& m : runs) {
        if (m.cpu_seconds > 0) {
            per_cpu.push_back(static_cast<double>(m.records) / m.cpu_seconds);
        }
        if (m.broker_cpu_seconds >= 0 && m.records > 0) {
            broker_us.push_back(m.broker_cpu_seconds * 1e6 / static_cast<double>(m.records));
        }
    }
    if (!per_cpu.empty()) {
        std::sort(per_cpu.begin(), per_cpu.end());
        line += fmt::format("  {:.0f} rec/CPU-s", per_cpu[per_cpu.size() / 2]);
    }
    if (!broker_us.empty()) {
        std::sort(broker_us.begin(), broker_us.end());
        line += fmt::format(" (broker {:.2f} CPU-us/rec)", broker_us[broker_us.size() / 2]);
    }
    if (latency) {
        std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
            return a.p50_ns < b.p50_ns;
        });
        line += fmt::format("  batch p50 {:.0f} us p99 {:.0f} us",
                            runs[runs.size() / 2].p50_ns / 1e3,
                            runs[runs.size() / 2].p99_ns / 1e3);
    }
    line += ok ? "  check ok" : "  CHECK FAILED: " + problem;
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    return median;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> positional;
    bool broker_tools = true;
    bool consume_only = false;  // no produce, mirror or sink runs
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--no-broker-tools") {
            broker_tools = false;
        } else if (a == "--consume-only") {
            consume_only = true;
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr,
                         "usage: %s [records] [runs] [--no-broker-tools] [--consume-only]\n",
                         argv[0]);
            return 2;
        } else {
            positional.push_back(a);
        }
    }
    const std::uint64_t records =
            positional.size() > 0 ? std::strtoull(positional[0].c_str(), nullptr, 10) : 3'000'000;
    const int runs = positional.size() > 1 ? std::atoi(positional[1].c_str()) : 3;
    if (records == 0 || runs < 1) {
        std::fprintf(stderr, "kafka_bench: records and runs must be at least 1\n");
        return 2;
    }
    constexpr int partitions = 6;
    register_builtin_operators();
    g_broker_pid = broker_pid();

    const std::string topic = unique("sluice-bench");
    if (const auto error = create_kafka_topic(brokers(), topic, partitions); !error.empty()) {
        std::fprintf(
                stderr,
                "kafka_bench: no broker on %s (%s); start one with scripts/services start kafka\n",
                brokers().c_str(),
                error.c_str());
        return 1;
    }
    std::printf(
            "kafka_bench: broker %s, topic %s (%d partitions), %llu simulator records (JSON, ~%s), "
            "%d runs each\n",
            brokers().c_str(),
            topic.c_str(),
            partitions,
            static_cast<unsigned long long>(records),
            "190 B",
            runs);
    std::printf(
            "  sluice source: batch max_records 8192, max_latency 50ms, start earliest, fresh "
            "group per run\n");
    std::printf("  load average at start: %s (%ld cores); broker pid %ld\n",
                load_average().c_str(),
                ::sysconf(_SC_NPROCESSORS_ONLN),
                g_broker_pid);
    std::printf(
            "  rec/CPU-s: records per CPU-second of this process (all its threads, librdkafka's "
            "too)\n");
    if (broker_tools) {
        std::printf(
                "  broker tools (Kafka's own, Java client, from the broker's jars via "
                "scripts/services kafka-tool):\n"
                "    ConsumerPerformance defaults (fetch 1 MiB/partition, max.poll.records 500), "
                "fresh group;\n"
                "    ProducerPerformance acks=all enable.idempotence=true compression.type=lz4 "
                "linger.ms=5\n"
                "    batch.size=1000000, values = 10000 simulator JSON readings, no key\n");
    }

    // Pre-fill (also the raw producer's rate: idempotent, acks=all, lz4, linger 5 ms).
    std::uint64_t bytes = 0;
    measurement prefill;
    const std::string payload_file =
            fmt::format("/tmp/sluice-kafka-bench-payloads-{}.txt", ::getpid());
    {
        simulator_config config;
        config.sensors = 1000;
        sensor_simulator simulator(config);
        kafka_producer producer({brokers(), topic, {}});
        std::ofstream payloads(payload_file);
        std::string value;
        const auto started = steady::now();
        for (std::uint64_t i = 0; i < records; ++i) {
            const auto reading = simulator.next();
            value.clear();
            simulator.append_json(value, reading);
            const auto key = simulator.sensor_id(reading.sensor);
            bytes += value.size() + key.size();
            producer.send(key, value);
            if (i < 10'000) {
                payloads << value << '\n';
            }
        }
        if (producer.flush(120s) != 0 || producer.delivered() != records) {
            std::fprintf(
                    stderr, "kafka_bench: pre-fill failed: %s\n", producer.first_error().c_str());
            return 1;
        }
        prefill.seconds = std::chrono::duration<double>(steady::now() - started).count();
        prefill.records = records;
        prefill.bytes = bytes;
        std::printf("  pre-fill: %.1f MB in all\n", bytes / 1e6);
    }

    std::vector<measurement> broker_whole;
    std::vector<measurement> broker_fetch;
    std::vector<measurement> broker_write;
    std::vector<measurement> raw;
    std::vector<measurement> blackhole;
    std::vector<measurement> decode;
    std::vector<measurement> mirror;
    std::vector<measurement> sink;
    for (int r = 0; r < runs; ++r) {
        if (broker_tools) {
            const auto [whole, fetch] = broker_consume(topic, records);
            broker_whole.push_back(whole);
            broker_fetch.push_back(fetch);
            if (!consume_only) {
                broker_write.push_back(broker_produce(partitions, records, payload_file));
            }
        }
        raw.push_back(raw_consume(topic, partitions, records, false));
        blackhole.push_back(sluice_run(topic, partitions, records, bytes, shape::blackhole));
        decode.push_back(sluice_run(topic, partitions, records, bytes, shape::decode));
        if (!consume_only) {
            mirror.push_back(raw_consume(topic, partitions, records, true));
            sink.push_back(sluice_run(topic, partitions, records, bytes, shape::sink));
        }
    }
    std::printf("  load average at end: %s\n", load_average().c_str());
    std::remove(payload_file.c_str());

    std::printf(
            "\n  %-52s %15s %21s %11s\n", "consume (same topic)", "median", "[min .. max]", "MB/s");
    const double ceiling =
            report("broker: ConsumerPerformance, whole run (with join)", broker_whole, false);
    report("broker: ConsumerPerformance, fetch time only", broker_fetch, false);
    const double raw_rate = report(
            "baseline: raw librdkafka consume loop (no group)", raw, false, ceiling, "broker");
    const double source_rate =
            report("sluice: kafka -> blackhole", blackhole, true, ceiling, "broker");
    report("sluice: kafka -> json_decode -> blackhole", decode, true, ceiling, "broker");
    if (raw_rate > 0) {
        std::printf("  (sluice: kafka -> blackhole at %.0f %% of the raw librdkafka loop)\n",
                    100 * source_rate / raw_rate);
    }
    // Without the group join and first fetch, which take a large and varying part of a run
    // this short: beside ConsumerPerformance's own "fetch time only".
    std::printf("  from the first records on:\n");
    const double fetch_ceiling = broker_fetch.empty() ? 0 : median_rate(broker_fetch);
    report("baseline: raw librdkafka consume loop, from the first",
           from_first_records(raw),
           false,
           fetch_ceiling,
           "broker fetch");
    report("sluice: kafka -> blackhole, from the first",
           from_first_records(blackhole),
           false,
           fetch_ceiling,
           "broker fetch");
    report("sluice: kafka -> json_decode -> blackhole, from the first",
           from_first_records(decode),
           false,
           fetch_ceiling,
           "broker fetch");
    if (!consume_only) {
        std::printf("\n  %-52s\n", "produce (idempotent, acks=all, lz4)");
        const double write_ceiling = report("broker: ProducerPerformance", broker_write, false);
        report("sluice: kafka_producer pre-fill (1 run, JSON made inline)",
               {prefill},
               false,
               write_ceiling,
               "broker");
        std::printf("\n  %-52s\n", "consume + produce (idempotent, acks=all)");
        report("baseline: raw librdkafka mirror loop",
               mirror,
               false,
               write_ceiling,
               "broker write");
        report("sluice: kafka -> kafka sink (raw)", sink, true, write_ceiling, "broker write");
    }

    bool ok = true;
    for (const auto* set :
         {&broker_whole, &broker_write, &raw, &blackhole, &decode, &mirror, &sink}) {
        for (const auto& m : *set) {
            ok = ok && m.ok;
        }
    }
    return ok ? 0 : 1;
}
