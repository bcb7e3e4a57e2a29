#include "kafka_sink.hpp"
#include "kafka_source.hpp"

#include <sluice/core/duration.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/kafka.hpp>

#include <fmt/format.h>

#include <regex.h>

namespace sluice {

namespace {

using kafka_detail::build_conf;
using kafka_detail::conf_ptr;
using kafka_detail::describe_connection;
using kafka_detail::kafka_sink;
using kafka_detail::kafka_sink_config;
using kafka_detail::kafka_source;
using kafka_detail::kafka_source_config;
using kafka_detail::start_mode;
using kafka_detail::value_format;

void describe_kafka_source(option_spec& spec) {
    describe_connection(spec);
    spec.field("group_id", option_kind::string)
            .require()
            .describe("consumer group; processes with the same group share the partitions");
    spec.field("topics", option_kind::string_list).describe("topics to read (or use topic_regex)");
    spec.field("topic_regex", option_kind::string)
            .describe("read every topic whose name matches this POSIX extended regular expression");
    spec.field("start", option_kind::string)
            .defaults("committed")
            .one_of({"committed", "earliest", "latest"})
            .describe(
                    "where a partition first read by this process starts: the group's committed "
                    "offset (else auto.offset.reset, default earliest), its beginning, or its end");
    describe_batching(spec);
    spec.field("commit_interval", option_kind::duration)
            .defaults("1s")
            .at_least(1e6)
            .describe("how often offsets of acknowledged records are committed");
    spec.field("max_out_of_orderness", option_kind::duration)
            .defaults("0")
            .describe(
                    "the watermark trails the largest message timestamp of a partition by this "
                    "much");
    spec.field("idle_timeout", option_kind::duration)
            .defaults("30s")
            .describe("a partition silent this long stops holding the watermark back; 0 = never");
    spec.field("rebalance_timeout", option_kind::duration)
            .defaults("10s")
            .at_least(0)
            .describe(
                    "on a rebalance, how long to wait for in-flight batches of revoked partitions "
                    "to be acknowledged (and committed) before letting them go");
    spec.check([](const options& opts, diagnostics_collector& out) {
        // Every value is read before any diagnostic is made: building a diagnostic locates a
        // key in the YAML tree, which must not interleave with reads.
        const bool has_topics = opts.is_set("topics") && !opts.get_string_list("topics").empty();
        const bool has_regex = opts.is_set("topic_regex");
        const std::string pattern = has_regex ? opts.get_string("topic_regex") : std::string();
        const bool empty_group = opts.is_set("group_id") && opts.get_string("group_id").empty();
        std::string regex_problem;
        if (has_regex) {
            regex_t compiled;
            const int rc = regcomp(&compiled, pattern.c_str(), REG_EXTENDED | REG_NOSUB);
            if (rc != 0) {
                char text[256] = {0};
                regerror(rc, &compiled, text, sizeof(text));
                regex_problem = text;
            } else {
                regfree(&compiled);
            }
        }
        if (has_topics && has_regex) {
            out.add(opts.error("topic_regex",
                               "cross-field",
                               "give either 'topics' or 'topic_regex', not both"));
        } else if (!has_topics && !has_regex) {
            out.add(opts.error("",
                               "missing-field",
                               "requires 'topics' (a list of topic names) or 'topic_regex'"));
        }
        if (!regex_problem.empty()) {
            out.add(opts.error(
                    "topic_regex",
                    "invalid-value",
                    fmt::format("'topic_regex' '{}' is not a valid regular expression: {}",
                                pattern,
                                regex_problem)));
        }
        if (empty_group) {
            out.add(opts.error("group_id", "invalid-value", "'group_id' must not be empty"));
        }
    });
}

std::unique_ptr<source> make_kafka_source(const options& opts, build_context&) {
    kafka_source_config config;
    config.id = opts.operator_id();
    config.group_id = opts.get_string("group_id");
    if (opts.is_set("topics")) {
        config.topics = opts.get_string_list("topics");
    }
    if (opts.is_set("topic_regex")) {
        config.topic_regex = opts.get_string("topic_regex");
    }
    const std::string start = opts.get_string("start");
    config.start = start == "earliest" ? start_mode::earliest
                   : start == "latest" ? start_mode::latest
                                       : start_mode::committed;
    config.commit_interval = opts.get_duration("commit_interval");
    config.max_out_of_orderness = std::chrono::duration_cast<std::chrono::milliseconds>(
            opts.get_duration("max_out_of_orderness"));
    config.idle_timeout = opts.get_duration("idle_timeout");
    config.rebalance_timeout = opts.get_duration("rebalance_timeout");
    conf_ptr conf = build_conf(
            opts,
            {{"auto.offset.reset", "earliest"},
             {"enable.partition.eof", "false"},
             {"client.id", "sluice"}},
            {{"group.id", config.group_id},
             {"enable.auto.commit", "false"},
             {"enable.auto.offset.store", "false"}},
            {{"bootstrap.servers", "use the option 'brokers'"},
             {"group.id", "use the option 'group_id'"},
             {"enable.auto.commit",
              "offsets are committed by the source once every sink accepted the records"},
             {"enable.auto.offset.store",
              "offsets are committed by the source once every sink accepted the records"}});
    // Read last: options::child() rebinds a YAML node in this tree's version of the core, which
    // can disturb reads of other keys after it.
    config.batching = read_batching(opts);
    return std::make_unique<kafka_source>(std::move(config), std::move(conf));
}

void describe_kafka_sink(option_spec& spec) {
    describe_connection(spec);
    spec.field("topic", option_kind::string)
            .describe("topic every record goes to (or use topic_column)");
    spec.field("topic_column", option_kind::string)
            .describe("string column naming each record's topic");
    spec.field("key_column", option_kind::string)
            .describe(
                    "string column used as the message key (partitions like the Java client: "
                    "murmur2); "
                    "default: no key");
    spec.field("format", option_kind::string)
            .defaults("json")
            .one_of({"json", "raw"})
            .describe("json: the row as one JSON object; raw: the bytes of 'value_column'");
    spec.field("value_column", option_kind::string)
            .describe("raw: the string column sent as the value");
    spec.field("timestamp_format", option_kind::string)
            .defaults("epoch_ms")
            .one_of({"epoch_ms", "iso8601"})
            .describe("json: timestamps as integer ms since the epoch, or as ISO-8601 UTC text");
    spec.field("flush_timeout", option_kind::duration)
            .defaults("60s")
            .at_least(0)
            .describe("at the end of the run, how long to wait for outstanding deliveries");
    spec.check([](const options& opts, diagnostics_collector& out) {
        // Values first, diagnostics after (see the source's check).
        const bool fixed = opts.is_set("topic");
        const bool by_column = opts.is_set("topic_column");
        const bool empty_topic = fixed && opts.get_string("topic").empty();
        const bool raw = opts.get_string("format") == "raw";
        const bool has_value_column = opts.is_set("value_column");
        if (fixed && by_column) {
            out.add(opts.error("topic_column",
                               "cross-field",
                               "give either 'topic' or 'topic_column', not both"));
        } else if (!fixed && !by_column) {
            out.add(opts.error("", "missing-field", "requires 'topic' (or 'topic_column')"));
        }
        if (empty_topic) {
            out.add(opts.error("topic", "invalid-value", "'topic' must not be empty"));
        }
        if (raw && !has_value_column) {
            out.add(opts.error("format", "missing-field", "format 'raw' requires 'value_column'"));
        }
        if (!raw && has_value_column) {
            out.add(opts.error(
                    "value_column",
                    "cross-field",
                    "'value_column' is only used with format 'raw' (json sends the whole row)"));
        }
    });
}

std::unique_ptr<sink> make_kafka_sink(const options& opts, build_context&) {
    kafka_sink_config config;
    config.id = opts.operator_id();
    if (opts.is_set("topic")) {
        config.topic = opts.get_string("topic");
    }
    if (opts.is_set("topic_column")) {
        config.topic_column = opts.get_string("topic_column");
    }
    if (opts.is_set("key_column")) {
        config.key_column = opts.get_string("key_column");
    }
    config.format = opts.get_string("format") == "raw" ? value_format::raw : value_format::json;
    if (opts.is_set("value_column")) {
        config.value_column = opts.get_string("value_column");
    }
    config.timestamps = opts.get_string("timestamp_format") == "iso8601"
                                ? json_timestamp_format::iso8601
                                : json_timestamp_format::epoch_ms;
    config.flush_timeout = opts.get_duration("flush_timeout");
    conf_ptr conf = build_conf(
            opts,
            {{"linger.ms", "5"},
             {"batch.num.messages", "10000"},
             {"partitioner", "murmur2_random"},
             {"client.id", "sluice"}},
            {{"enable.idempotence", "true"}, {"acks", "all"}},
            {{"bootstrap.servers", "use the option 'brokers'"},
             {"enable.idempotence", "the sink is always idempotent (no duplicates from retries)"},
             {"acks", "the sink always waits for all in-sync replicas (acks=all)"}});
    return std::make_unique<kafka_sink>(std::move(config), std::move(conf));
}

}  // namespace

void register_kafka_operators(operator_registry& registry) {
    registry.add_source(
            "kafka",
            "reads Kafka topics as a consumer group; offsets committed once every sink accepted",
            describe_kafka_source,
            make_kafka_source);
    registry.add_sink("kafka",
                      "writes records to a Kafka topic with an idempotent producer (acks=all)",
                      describe_kafka_sink,
                      make_kafka_sink);
}

}  // namespace sluice
