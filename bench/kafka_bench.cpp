// End-to-end Kafka benchmark against the real broker (scripts/services start kafka).
//
// A topic is pre-filled with simulator readings; then, several runs each, side by side:
//   baseline  raw librdkafka consume loop (high-level consumer, no processing): the ceiling
//             of this client library on this broker and machine;
//   sluice    kafka -> blackhole, kafka -> json_decode -> blackhole;
//   baseline  raw librdkafka mirror loop (consume + idempotent produce, acks=all, flush);
//   sluice    kafka -> kafka sink (idempotent, acks=all; run ends after the final flush).
// Prints records/s and MB/s (median, min, max), the batch latency percentiles of the sluice
// runs, and checks every run's output: record counts, bytes read, no rejects, and the output
// topic's end offsets.
//
//   build/release/bench/kafka_bench [records] [runs]  (default 1000000 3; broker 127.0.0.1:9092,
//                                                    or SLUICE_KAFKA_BROKERS)
#include <sluice/sluice.hpp>
#include <sluice/ops/generator.hpp>
#include <sluice/ops/kafka.hpp>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <unistd.h>
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
    return fmt::format("{}-{}-{}", prefix, ::getpid(),
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                                       .count() %
                               100'000'000);
}

rd_kafka_t* make_client(rd_kafka_type_t type, const std::vector<std::pair<std::string, std::string>>& props) {
    char error[512] = {0};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers().c_str(), error, sizeof(error));
    rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error));
    for (const auto& [k, v] : props) {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), error, sizeof(error)) != RD_KAFKA_CONF_OK) {
            throw std::runtime_error(error);
        }
    }
    rd_kafka_t* rk = rd_kafka_new(type, conf, error, sizeof(error));
    if (rk == nullptr) {
        throw std::runtime_error(error);
    }
    return rk;
}

struct measurement {
    double seconds = 0;
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;
    std::uint64_t p50_ns = 0;  // batch latency of the last operator (sluice runs)
    std::uint64_t p99_ns = 0;
    bool ok = true;
    std::string problem;
};

/// Raw consume loop over all partitions from the beginning until `records` arrived.
measurement raw_consume(const std::string& topic, int partitions, std::uint64_t records, bool mirror) {
    rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, {{"group.id", unique("bench-raw")},
                                                     {"enable.auto.commit", "false"},
                                                     {"enable.partition.eof", "false"}});
    rd_kafka_t* producer = nullptr;
    rd_kafka_topic_t* out_topic = nullptr;
    const std::string out_name = unique("bench-raw-mirror");
    if (mirror) {
        create_kafka_topic(brokers(), out_name, partitions);
        producer = make_client(RD_KAFKA_PRODUCER, {{"enable.idempotence", "true"},
                                                   {"acks", "all"},
                                                   {"linger.ms", "5"},
                                                   {"batch.num.messages", "10000"},
                                                   {"partitioner", "murmur2_random"}});
        out_topic = rd_kafka_topic_new(producer, out_name.c_str(), nullptr);
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) {
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    measurement m;
    const auto started = steady::now();
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    const auto deadline = started + 300s;
    while (m.records < records && steady::now() < deadline) {
        rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 100);
        if (msg == nullptr) {
            continue;
        }
        if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            ++m.records;
            m.bytes += msg->len + msg->key_len;
            if (mirror) {
                while (rd_kafka_produce(out_topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, msg->payload, msg->len,
                                        msg->key, msg->key_len, nullptr) != 0) {
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
        if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            total += high - low;
        }
    }
    rd_kafka_destroy(rk);
    return total;
}

enum class shape { blackhole, decode, sink };

/// One sluice run: `kafka` source (fresh group, from the beginning) into `what`.
measurement sluice_run(const std::string& topic, int partitions, std::uint64_t records, std::uint64_t bytes, shape what) {
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
                                   brokers(), unique("bench-sluice"), topic);
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
        yaml += fmt::format("sinks:\n  out: {{type: kafka, inputs: [in], brokers: '{}', topic: '{}', key_column: key, "
                            "format: raw, value_column: value}}\n",
                            brokers(), out_topic);
    } else {
        yaml += fmt::format("sinks:\n  out: {{type: blackhole, inputs: [{}]}}\n", last);
    }
    auto p = load_pipeline_from_string(yaml, "kafka-bench.yaml");
    const auto metrics = p->metrics();
    const operator_metrics* source_metrics = metrics.front();
    const operator_metrics* sink_metrics = metrics.back();
    measurement m;
    const auto started = steady::now();
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
        std::this_thread::sleep_for(1ms);
    }
    auto reached = steady::now();
    p->stop();
    runner.join();
    if (what == shape::sink) {
        reached = steady::now();  // the sink's run ends after its final flush: all delivered
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
            m.problem = fmt::format("records {} of {}, bytes {} of {}, rejected {}", m.records, records, m.bytes, bytes,
                                    summary.records_rejected);
        }
    }
    if (what == shape::sink && m.ok) {
        const auto held = topic_size(out_topic, partitions);
        if (held != static_cast<std::int64_t>(m.records)) {
            m.ok = false;
            m.problem = fmt::format("output topic holds {} messages, sink accepted {}", held, m.records);
        }
    }
    return m;
}

void report(const std::string& name, std::vector<measurement> runs, bool latency) {
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
    std::string line = fmt::format("  {:<44} {:>10.0f} rec/s [{:>9.0f} .. {:>9.0f}]  {:>7.1f} MB/s", name,
                                   rate[rate.size() / 2], rate.front(), rate.back(), mb[mb.size() / 2]);
    if (latency) {
        std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.p50_ns < b.p50_ns; });
        line += fmt::format("  batch p50 {:.0f} us p99 {:.0f} us", runs[runs.size() / 2].p50_ns / 1e3,
                            runs[runs.size() / 2].p99_ns / 1e3);
    }
    line += ok ? "  check ok" : "  CHECK FAILED: " + problem;
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint64_t records = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    const int runs = argc > 2 ? std::atoi(argv[2]) : 3;
    constexpr int partitions = 6;
    register_builtin_operators();

    const std::string topic = unique("sluice-bench");
    if (const auto error = create_kafka_topic(brokers(), topic, partitions); !error.empty()) {
        std::fprintf(stderr, "kafka_bench: no broker on %s (%s); start one with scripts/services start kafka\n",
                     brokers().c_str(), error.c_str());
        return 1;
    }
    std::printf("kafka_bench: broker %s, topic %s (%d partitions), %llu simulator records (JSON, ~%s), %d runs each\n",
                brokers().c_str(), topic.c_str(), partitions, static_cast<unsigned long long>(records), "190 B", runs);
    std::printf("  sluice source: batch max_records 8192, max_latency 50ms, start earliest, fresh group per run\n");

    // Pre-fill (also the raw producer's rate: idempotent, acks=all, lz4, linger 5 ms).
    std::uint64_t bytes = 0;
    {
        simulator_config config;
        config.sensors = 1000;
        sensor_simulator simulator(config);
        kafka_producer producer({brokers(), topic, {}});
        std::string value;
        const auto started = steady::now();
        for (std::uint64_t i = 0; i < records; ++i) {
            const auto reading = simulator.next();
            value.clear();
            simulator.append_json(value, reading);
            const auto key = simulator.sensor_id(reading.sensor);
            bytes += value.size() + key.size();
            producer.send(key, value);
        }
        if (producer.flush(120s) != 0 || producer.delivered() != records) {
            std::fprintf(stderr, "kafka_bench: pre-fill failed: %s\n", producer.first_error().c_str());
            return 1;
        }
        const double seconds = std::chrono::duration<double>(steady::now() - started).count();
        std::printf("  pre-fill (kafka_producer, simulator JSON made inline): %.0f rec/s, %.1f MB/s, %.1f MB in all\n",
                    records / seconds, bytes / 1e6 / seconds, bytes / 1e6);
    }

    std::vector<measurement> raw;
    std::vector<measurement> blackhole;
    std::vector<measurement> decode;
    std::vector<measurement> mirror;
    std::vector<measurement> sink;
    for (int r = 0; r < runs; ++r) {
        raw.push_back(raw_consume(topic, partitions, records, false));
        blackhole.push_back(sluice_run(topic, partitions, records, bytes, shape::blackhole));
        decode.push_back(sluice_run(topic, partitions, records, bytes, shape::decode));
        mirror.push_back(raw_consume(topic, partitions, records, true));
        sink.push_back(sluice_run(topic, partitions, records, bytes, shape::sink));
    }
    std::printf("\n  %-44s %16s %26s %12s\n", "consume", "median", "[min .. max]", "MB/s");
    report("baseline: raw librdkafka consume loop", raw, false);
    report("sluice: kafka -> blackhole", blackhole, true);
    report("sluice: kafka -> json_decode -> blackhole", decode, true);
    std::printf("\n  %-44s\n", "consume + produce (idempotent, acks=all)");
    report("baseline: raw librdkafka mirror loop", mirror, false);
    report("sluice: kafka -> kafka sink (raw)", sink, true);

    bool ok = true;
    for (const auto* set : {&raw, &blackhole, &decode, &mirror, &sink}) {
        for (const auto& m : *set) {
            ok = ok && m.ok;
        }
    }
    return ok ? 0 : 1;
}
