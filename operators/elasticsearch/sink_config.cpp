#include "sink_config.hpp"

#include <sluice/core/duration.hpp>

#include <fmt/format.h>

namespace sluice::es_detail {

namespace {

std::chrono::milliseconds to_ms(std::chrono::nanoseconds value) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(value);
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

void describe_sink(option_spec& spec) {
    spec.field("url", option_kind::string)
            .defaults("http://127.0.0.1:9200")
            .describe("base URL of the node: http:// or https://, host and port");
    spec.field("index", option_kind::string)
            .require()
            .describe(
                    "index name, or a date pattern from the event time in UTC: sensors-%Y.%m.%d "
                    "(%Y %m %d %H %j %%)");
    spec.field("id", option_kind::string)
            .describe(
                    "document _id template, e.g. \"{sensor_id}-{timestamp}\"; default: the "
                    "window_id column if present, else the record's source position "
                    "\"<partition>-<offset>\", so a replay overwrites instead of duplicating");
    spec.field("time_field", option_kind::string)
            .describe(
                    "timestamp_ms column that dates the index; default: the batch's event-time "
                    "column, else the first timestamp_ms column");
    spec.field("timestamp_format", option_kind::string)
            .defaults("epoch_ms")
            .one_of({"epoch_ms", "iso8601"})
            .describe("how timestamp_ms values are written in documents");
    spec.field("max_docs", option_kind::integer)
            .defaults("5000")
            .at_least(1)
            .at_most(1'000'000)
            .describe("documents per bulk request");
    spec.field("max_bytes", option_kind::integer)
            .defaults("5242880")
            .at_least(1024)
            .at_most(100 << 20)
            .describe("bytes of NDJSON per bulk request (before gzip)");
    spec.field("max_latency", option_kind::duration)
            .defaults("1s")
            .at_least(1e6)
            .describe("longest a document waits in a partly filled bulk request before it is sent");
    spec.field("concurrency", option_kind::integer)
            .defaults("2")
            .at_least(1)
            .at_most(64)
            .describe("bulk requests in flight at once (each on its own kept-alive connection)");
    spec.field("max_pending_bytes", option_kind::integer)
            .defaults("67108864")
            .at_least(1024)
            .describe(
                    "buffered, unacknowledged bytes above which the sink stops taking batches "
                    "(backpressure, e.g. while the node is down)");
    spec.field("compression", option_kind::string)
            .defaults("none")
            .one_of({"none", "gzip"})
            .describe("gzip request bodies (Content-Encoding: gzip)");
    spec.field("username", option_kind::string).describe("basic auth user, e.g. ${ES_USER}");
    spec.field("password", option_kind::string)
            .hide_value()
            .describe("basic auth password, e.g. ${ES_PASSWORD} (never printed)");
    spec.field("api_key", option_kind::string)
            .hide_value()
            .describe(
                    "API key sent as 'Authorization: ApiKey <key>', e.g. ${ES_API_KEY} (never "
                    "printed)");
    auto& tls = spec.field("tls", option_kind::object).describe("TLS for https:// URLs");
    auto& tls_fields = tls.fields();
    tls_fields.field("ca_file", option_kind::string)
            .describe(
                    "PEM file of the CA that signed the node's certificate (default: system "
                    "store)");
    tls_fields.field("verify", option_kind::boolean)
            .defaults("true")
            .describe("check the node's certificate and host name");
    auto& tmpl = spec.field("template", option_kind::object)
                         .describe("index template with explicit mappings, created if absent");
    auto& tmpl_fields = tmpl.fields();
    tmpl_fields.field("create", option_kind::boolean)
            .defaults("true")
            .describe(
                    "create the template before the first bulk request if the node has none of "
                    "that name");
    tmpl_fields.field("name", option_kind::string)
            .describe(
                    "template name (default: sluice-<index pattern>, * spelled star: "
                    "sluice-sensors-star)");
    tmpl_fields.field("mappings", option_kind::string_map)
            .describe(
                    "column -> field type (date, keyword, text, double, float, long, boolean, "
                    "geo_point, ...); other columns: timestamp_ms date, string keyword, float64 "
                    "double, int64 long, bool boolean");
    tmpl_fields.field("shards", option_kind::integer)
            .defaults("1")
            .at_least(1)
            .at_most(1024)
            .describe("index.number_of_shards");
    tmpl_fields.field("replicas", option_kind::integer)
            .defaults("0")
            .at_least(0)
            .at_most(100)
            .describe("index.number_of_replicas");
    tmpl_fields.field("refresh_interval", option_kind::duration)
            .at_least(1e6)
            .describe(
                    "index.refresh_interval: how soon indexed documents become searchable; "
                    "longer raises the node's indexing rate (default: the node's, 1s)");
    tmpl_fields.field("translog_durability", option_kind::string)
            .one_of({"request", "async"})
            .describe(
                    "index.translog.durability: `request` (the node's default) syncs its "
                    "transaction log to disk before it answers a bulk request; `async` syncs "
                    "every 5 s, which answers sooner, but a crash of the node's machine can "
                    "lose the last 5 s of acknowledged documents (whose source positions are "
                    "committed by then)");
    tmpl_fields.field("priority", option_kind::integer)
            .defaults("200")
            .at_least(0)
            .describe("template priority (Elasticsearch's built-in templates use 100)");
    auto& retry =
            spec.field("retry", option_kind::object)
                    .describe("backoff for 429/5xx items and for requests that got no answer");
    auto& retry_fields = retry.fields();
    retry_fields.field("initial_backoff", option_kind::duration)
            .defaults("100ms")
            .at_least(1e6)
            .describe("wait before the first retry; doubles per retry, with jitter");
    retry_fields.field("max_backoff", option_kind::duration)
            .defaults("10s")
            .at_least(1e6)
            .describe("longest wait between retries");
    retry_fields.field("max_retries", option_kind::integer)
            .defaults("0")
            .at_least(0)
            .describe("retries per document before it is dead-lettered; 0 = no limit");
    spec.field("connect_timeout", option_kind::duration)
            .defaults("5s")
            .at_least(1e6)
            .describe("TCP (and TLS) connect timeout");
    spec.field("request_timeout", option_kind::duration)
            .defaults("60s")
            .at_least(1e6)
            .describe("timeout of one bulk request; a timed-out request is retried");
    spec.field("flush_timeout", option_kind::duration)
            .defaults("120s")
            .at_least(1e6)
            .describe(
                    "after a stop request (SIGINT), how long to keep trying to index what is "
                    "held before it is marked not delivered and the run ends with an error");

    spec.check([](const options& opts, diagnostics_collector& out) {
        const auto url = opts.get_string("url");
        if (!starts_with(url, "http://") && !starts_with(url, "https://")) {
            // A URL may carry user:password@; never echo that part.
            const auto at = url.rfind('@');
            const std::string shown = at == std::string::npos ? url : "…@" + url.substr(at + 1);
            out.add(opts.error(
                    "url",
                    "invalid-value",
                    fmt::format("'url' must start with http:// or https://, got '{}'", shown)));
        }
        if (opts.is_set("password") != opts.is_set("username")) {
            out.add(opts.error(opts.is_set("password") ? "password" : "username",
                               "cross-field",
                               "'username' and 'password' go together (basic auth)"));
        }
        if (opts.is_set("api_key") && opts.is_set("username")) {
            out.add(opts.error("api_key",
                               "cross-field",
                               "use either 'api_key' or 'username'/'password', not both"));
        }
        const auto pending = opts.get_int("max_pending_bytes");
        const auto bytes = opts.get_int("max_bytes");
        if (pending < bytes) {
            out.add(opts.error(
                    "max_pending_bytes",
                    "cross-field",
                    fmt::format("'max_pending_bytes' ({}) must be at least 'max_bytes' ({})",
                                pending,
                                bytes)));
        }
        const auto backoff = opts.child("retry");
        if (backoff.get_duration("max_backoff") < backoff.get_duration("initial_backoff")) {
            out.add(opts.error(
                    "retry.max_backoff",
                    "cross-field",
                    fmt::format("'max_backoff' ({}) must not be below 'initial_backoff' ({})",
                                format_duration(backoff.get_duration("max_backoff")),
                                format_duration(backoff.get_duration("initial_backoff")))));
        }
        std::string error;
        if (!index_pattern::parse(opts.get_string("index"), error)) {
            out.add(opts.error("index", "invalid-value", error));
        }
        if (opts.is_set("id") && !id_template::parse(opts.get_string("id"), error)) {
            out.add(opts.error("id", "invalid-value", error));
        }
        for (const auto& [column, type] : opts.child("template").get_string_map("mappings")) {
            if (!known_field_type(type)) {
                out.add(opts.error(
                        "template.mappings." + column,
                        "invalid-value",
                        fmt::format("mapping of '{}' has unknown field type '{}' (known: {})",
                                    column,
                                    type,
                                    known_field_types())));
            }
        }
    });
}

sink_config read_sink_config(const options& opts) {
    sink_config c;
    c.http.base_url = opts.get_string("url");
    c.http.username = opts.is_set("username") ? opts.get_string("username") : "";
    c.http.password = opts.is_set("password") ? opts.get_string("password") : "";
    c.http.api_key = opts.is_set("api_key") ? opts.get_string("api_key") : "";
    const auto tls = opts.child("tls");
    c.http.ca_file = tls.is_set("ca_file") ? tls.get_string("ca_file") : "";
    c.http.verify = tls.get_bool("verify");
    c.http.connect_timeout = to_ms(opts.get_duration("connect_timeout"));
    c.http.request_timeout = to_ms(opts.get_duration("request_timeout"));
    c.http.gzip = opts.get_string("compression") == "gzip";

    c.body.index = opts.get_string("index");
    c.body.id = opts.is_set("id") ? opts.get_string("id") : "";
    c.body.time_field = opts.is_set("time_field") ? opts.get_string("time_field") : "";
    c.body.timestamps = opts.get_string("timestamp_format") == "iso8601"
                                ? json_timestamp_format::iso8601
                                : json_timestamp_format::epoch_ms;

    const auto tmpl = opts.child("template");
    c.index_template.create = tmpl.get_bool("create");
    c.index_template.mappings = tmpl.get_string_map("mappings");
    c.index_template.shards = tmpl.get_int("shards");
    c.index_template.replicas = tmpl.get_int("replicas");
    if (tmpl.is_set("refresh_interval")) {
        c.index_template.refresh_interval_ms = to_ms(tmpl.get_duration("refresh_interval")).count();
    }
    if (tmpl.is_set("translog_durability")) {
        c.index_template.translog_durability = tmpl.get_string("translog_durability");
    }
    c.index_template.priority = tmpl.get_int("priority");
    std::string error;
    if (const auto pattern = index_pattern::parse(c.body.index, error)) {
        c.index_template.pattern = pattern->wildcard();
    }
    // The default name follows the index pattern, not the sink id: an existing template is
    // left alone, so a name shared by two patterns would leave the second index unmapped.
    std::string from_pattern;
    for (const char ch : c.index_template.pattern) {
        from_pattern += ch == '*' ? std::string("star") : std::string(1, ch);
    }
    c.index_template.name =
            tmpl.is_set("name") ? tmpl.get_string("name") : fmt::format("sluice-{}", from_pattern);

    const auto retry = opts.child("retry");
    c.retry.initial_backoff = retry.get_duration("initial_backoff");
    c.retry.max_backoff = retry.get_duration("max_backoff");
    c.retry.max_retries = static_cast<std::uint32_t>(retry.get_int("max_retries"));

    c.max_docs = static_cast<std::size_t>(opts.get_int("max_docs"));
    c.max_bytes = static_cast<std::size_t>(opts.get_int("max_bytes"));
    c.max_latency = opts.get_duration("max_latency");
    c.concurrency = static_cast<std::size_t>(opts.get_int("concurrency"));
    c.max_pending_bytes = static_cast<std::size_t>(opts.get_int("max_pending_bytes"));
    c.flush_timeout = opts.get_duration("flush_timeout");
    return c;
}

}  // namespace sluice::es_detail
