#include "kafka_common.hpp"

#include <sluice/core/log.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string_view>

namespace sluice::kafka_detail {

void describe_connection(option_spec& spec) {
    spec.field("brokers", option_kind::string)
            .defaults("127.0.0.1:9092")
            .describe("bootstrap brokers, host:port[,host:port...] (librdkafka bootstrap.servers)");
    spec.field("librdkafka", option_kind::string_map)
            .defaults("{}")
            .describe(
                    "further librdkafka properties passed through as is, e.g. "
                    "{fetch.max.bytes: 52428800, security.protocol: ssl}");
}

namespace {

/// Whether a property's value may be a secret (a password, a private key, an OAuth secret).
bool sensitive_property(std::string_view name) {
    constexpr std::string_view markers[] = {
            "password", "secret", "key", "pem", "oauthbearer", "jaas", "token"};
    return std::any_of(std::begin(markers), std::end(markers), [name](std::string_view m) {
        return name.find(m) != std::string_view::npos;
    });
}

/// Sets one property; returns "" if accepted, else what to tell the user: the name, and the
/// value only when it helps and cannot be a secret. An unknown name (often a misspelled
/// `sasl.password`) never shows its value, since the value is what a typo would leak.
std::string set_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
    char error[512] = {0};
    const auto result = rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof(error));
    if (result == RD_KAFKA_CONF_OK) {
        return {};
    }
    const std::string reason = error[0] != '\0' ? std::string(error) : "rejected";
    if (result == RD_KAFKA_CONF_UNKNOWN) {
        return fmt::format("librdkafka rejected '{}' (value not shown): {}", name, reason);
    }
    if (sensitive_property(name)) {
        // librdkafka's text may quote the value: none of it is shown.
        return fmt::format("librdkafka rejected '{}' (value not shown): an invalid value", name);
    }
    return fmt::format("librdkafka rejected '{}: {}': {}", name, value, reason);
}

}  // namespace

conf_ptr build_conf(const options& opts,
                    const property_list& defaults,
                    const property_list& forced,
                    const property_list& reserved) {
    // Values first, diagnostics after: building a diagnostic locates a key in the YAML tree.
    const std::string brokers = opts.get_string("brokers");
    const auto user_properties = opts.get_string_map("librdkafka");
    conf_ptr conf(rd_kafka_conf_new());
    diagnostics_collector out;
    if (const auto error = set_property(conf.get(), "bootstrap.servers", brokers); !error.empty()) {
        out.add(opts.error("brokers", "invalid-value", error));
    }
    for (const auto& [name, value] : defaults) {
        // Defaults are known-good; a failure here would be a librdkafka build without a
        // feature (e.g. no zstd), which the user may still fix through `librdkafka`.
        (void)set_property(conf.get(), name, value);
    }
    for (const auto& [name, value] : user_properties) {
        // The location goes to the `librdkafka` mapping: property names hold dots, which the
        // option locator reads as nesting. (An init-capture: clang 14, the clang-tidy of
        // `make lint`, cannot capture a structured binding.)
        const auto hit =
                std::find_if(reserved.begin(), reserved.end(), [&wanted = name](const auto& r) {
                    return r.first == wanted;
                });
        if (hit != reserved.end()) {
            out.add(opts.error(
                    "librdkafka",
                    "reserved-property",
                    fmt::format(
                            "librdkafka property '{}' cannot be set here: {}", name, hit->second)));
            continue;
        }
        if (const auto error = set_property(conf.get(), name, value); !error.empty()) {
            out.add(opts.error("librdkafka", "invalid-value", error));
        }
    }
    for (const auto& [name, value] : forced) {
        (void)set_property(conf.get(), name, value);
    }
    out.throw_if_any();
    return conf;
}

conf_ptr build_conf(const property_list& properties) {
    conf_ptr conf(rd_kafka_conf_new());
    for (const auto& [name, value] : properties) {
        if (const auto error = set_property(conf.get(), name, value); !error.empty()) {
            throw std::runtime_error(error);
        }
    }
    return conf;
}

namespace {

/// Error texts repeat for as long as a broker is down; keep one line per code per interval.
bool should_log(int code) {
    static std::mutex mutex;
    static std::map<int, std::chrono::steady_clock::time_point> last;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex);
    auto& at = last[code];
    if (at.time_since_epoch().count() != 0 && now - at < std::chrono::seconds(5)) {
        return false;
    }
    at = now;
    return true;
}

const std::string& who_of(const rd_kafka_t* rk) {
    static const std::string unknown = "kafka";
    const auto* context = static_cast<const handle_context*>(rd_kafka_opaque(rk));
    return context != nullptr ? context->who : unknown;
}

extern "C" void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
    // syslog levels: 0..4 warning (librdkafka retries what it logs as an error, e.g. a refused
    // connection; what is fatal reaches the operator through its API), 5..6 info, 7 debug.
    const log_level mapped = level <= 4   ? log_level::warning
                             : level <= 6 ? log_level::info
                                          : log_level::debug;
    log(mapped, fmt::format("{}: librdkafka {}: {}", who_of(rk), facility, message));
}

extern "C" void on_error(rd_kafka_t* rk, int err, const char* reason, void*) {
    const auto code = static_cast<rd_kafka_resp_err_t>(err);
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
        char text[512] = {0};
        rd_kafka_fatal_error(rk, text, sizeof(text));
        log(log_level::error, fmt::format("{}: fatal: {}", who_of(rk), text));
        return;
    }
    if (should_log(err)) {
        // Transport errors and "all brokers down" are retried by librdkafka: a warning.
        log(log_level::warning,
            fmt::format("{}: {} ({}); librdkafka keeps retrying",
                        who_of(rk),
                        reason,
                        rd_kafka_err2name(code)));
    }
}

}  // namespace

void route_logs(rd_kafka_conf_t* conf, handle_context* context) {
    rd_kafka_conf_set_opaque(conf, context);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_error_cb(conf, on_error);
}

int to_timeout_ms(std::chrono::nanoseconds value) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(value).count();
    return static_cast<int>(std::clamp<long long>(ms, 0, INT_MAX));
}

}  // namespace sluice::kafka_detail
