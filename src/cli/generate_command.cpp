// `sluice generate`: the sensor simulator written to a Kafka topic or a file, paced or as fast
// as possible, so anyone can feed a pipeline.
#include "cli.hpp"
#include "progress.hpp"

#include <sluice/core/duration.hpp>
#include <sluice/ops/generator.hpp>
#if __has_include(<sluice/ops/kafka.hpp>)
#    include <sluice/ops/kafka.hpp>
#    define SLUICE_GENERATE_KAFKA 1
#endif

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace sluice::cli {
namespace {

using steady = std::chrono::steady_clock;

std::atomic<bool> interrupted{false};

extern "C" void on_generate_signal(int) {
    interrupted.store(true);
}

struct generate_options {
    std::string brokers;      // --kafka: bootstrap brokers ("" = not Kafka)
    std::string topic;        // --topic
    int partitions = 0;       // --partitions: create the topic with this many (0 = leave it)
    std::string output;       // --output: NDJSON file ("-" = stdout)
    double rate = 0;          // --rate: records/s, 0 = as fast as possible
    std::uint64_t count = 0;  // --count: 0 = no limit
    std::chrono::nanoseconds duration{0};  // --duration: 0 = no limit
    simulator_config simulation;           // --sensors, --seed, --anomaly-rate
    bool quiet = false;                    // --quiet: no progress line
};

template <typename T>
bool parse_number(const std::string& text, T& out) {
    if constexpr (std::is_floating_point_v<T>) {
        try {
            std::size_t used = 0;
            out = static_cast<T>(std::stod(text, &used));
            return used == text.size();
        } catch (...) {
            return false;
        }
    } else {
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
        return ec == std::errc{} && end == text.data() + text.size();
    }
}

std::optional<generate_options> parse(const arguments& args) {
    generate_options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= args.size()) {
                print_error(fmt::format("'{}' needs a value", a));
                return std::nullopt;
            }
            return args[++i];
        };
        const auto bad = [&](const std::string& v, const char* what) {
            print_error(fmt::format("'{}' must be {}, got '{}'", a, what, v));
            return std::nullopt;
        };
        if (a == "--quiet") {
            o.quiet = true;
            continue;
        }
        const auto v = value();
        if (!v) {
            return std::nullopt;
        }
        if (a == "--kafka") {
            o.brokers = *v;
        } else if (a == "--topic") {
            o.topic = *v;
        } else if (a == "--partitions") {
            if (!parse_number(*v, o.partitions) || o.partitions < 1) {
                return bad(*v, "a positive integer");
            }
        } else if (a == "--output") {
            o.output = *v;
        } else if (a == "--rate") {
            if (!parse_number(*v, o.rate) || o.rate < 0) {
                return bad(*v, "a number >= 0 (records per second; 0 = as fast as possible)");
            }
        } else if (a == "--count") {
            if (!parse_number(*v, o.count)) {
                return bad(*v, "a whole number >= 0");
            }
        } else if (a == "--duration") {
            const auto d = parse_duration(*v);
            if (!d) {
                return bad(*v, "a duration such as 30s or 5m");
            }
            o.duration = *d;
        } else if (a == "--sensors") {
            if (!parse_number(*v, o.simulation.sensors) || o.simulation.sensors < 1 ||
                o.simulation.sensors > 1'000'000) {
                return bad(*v, "a whole number in 1..1000000");
            }
        } else if (a == "--seed") {
            if (!parse_number(*v, o.simulation.seed)) {
                return bad(*v, "a whole number >= 0");
            }
        } else if (a == "--anomaly-rate") {
            if (!parse_number(*v, o.simulation.anomaly_rate) || o.simulation.anomaly_rate < 0 ||
                o.simulation.anomaly_rate > 1) {
                return bad(*v, "a number in 0..1");
            }
        } else {
            print_error(fmt::format("unknown option '{}' (see sluice --help)", a));
            return std::nullopt;
        }
    }
    if (o.brokers.empty() == o.output.empty()) {
        print_error("give either --kafka BROKERS --topic TOPIC or --output FILE");
        return std::nullopt;
    }
    if (!o.brokers.empty() && o.topic.empty()) {
        print_error("--kafka needs --topic TOPIC");
        return std::nullopt;
    }
    if (o.count == 0 && o.duration.count() == 0 && o.output != "-" && o.brokers.empty()) {
        print_error("writing a file needs --count N or --duration D (it would grow without end)");
        return std::nullopt;
    }
    return o;
}

/// Where generated messages go.
class generate_target {
public:
    virtual ~generate_target() = default;
    virtual void send(std::string_view key, std::string_view value) = 0;
    /// Serves delivery reports; returns "delivered N, failed M" for the progress line.
    virtual std::string status() = 0;
    /// Waits until everything is written; returns an error text or "".
    virtual std::string finish() = 0;
};

class file_target final : public generate_target {
public:
    explicit file_target(const std::string& path)
        : path_(path) {
        if (path != "-") {
            // As the file sink does: parent directories are created.
            const auto parent = std::filesystem::path(path).parent_path();
            std::error_code ignored;  // fopen below reports what matters
            if (!parent.empty()) {
                std::filesystem::create_directories(parent, ignored);
            }
        }
        file_ = path == "-" ? stdout : std::fopen(path.c_str(), "wb");
        if (file_ == nullptr) {
            throw std::runtime_error(
                    fmt::format("cannot open '{}' for writing: {}", path, std::strerror(errno)));
        }
        buffer_.reserve(1 << 20);
    }
    // Owns file_: a copy would close it twice.
    file_target(const file_target&) = delete;
    file_target& operator=(const file_target&) = delete;
    file_target(file_target&&) = delete;
    file_target& operator=(file_target&&) = delete;
    ~file_target() override {
        if (file_ != nullptr && file_ != stdout) {
            // finish() flushed and reported errors; a destructor has no one to report to.
            (void)std::fclose(file_);
        }
    }
    void send(std::string_view, std::string_view value) override {
        buffer_.append(value);
        buffer_.push_back('\n');
        if (buffer_.size() >= (1 << 20)) {
            flush();
        }
    }
    std::string status() override {
        flush();
        return {};
    }
    std::string finish() override {
        flush();
        if (std::fflush(file_) != 0 || error_) {
            return fmt::format("cannot write '{}'", path_);
        }
        return {};
    }

private:
    void flush() {
        if (!buffer_.empty() &&
            std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
            error_ = true;
        }
        buffer_.clear();
    }
    std::string path_;
    std::FILE* file_ = nullptr;
    std::string buffer_;
    bool error_ = false;
};

#if SLUICE_GENERATE_KAFKA
class kafka_target final : public generate_target {
public:
    explicit kafka_target(const generate_options& o)
        : producer_({o.brokers, o.topic, {}}) {}
    void send(std::string_view key, std::string_view value) override { producer_.send(key, value); }
    std::string status() override {
        producer_.poll();
        return fmt::format(" | delivered {} | failed {}",
                           human_count(static_cast<double>(producer_.delivered())),
                           producer_.failed());
    }
    std::string finish() override {
        const auto left = producer_.flush(std::chrono::seconds(60));
        if (left != 0) {
            return fmt::format("{} message(s) still undelivered after 60 s", left);
        }
        if (producer_.failed() != 0) {
            return fmt::format("{} message(s) could not be delivered: {}",
                               producer_.failed(),
                               producer_.first_error());
        }
        return {};
    }

private:
    kafka_producer producer_;
};
#endif

int generate_command(const arguments& args) {
    const auto parsed = parse(args);
    if (!parsed) {
        return exit_invalid;
    }
    const generate_options& o = *parsed;
    std::unique_ptr<generate_target> target;
    try {
        if (!o.output.empty()) {
            target = std::make_unique<file_target>(o.output);
        } else {
#if SLUICE_GENERATE_KAFKA
            if (o.partitions > 0) {
                const auto error = create_kafka_topic(o.brokers, o.topic, o.partitions);
                if (!error.empty()) {
                    print_error(fmt::format("cannot create topic '{}': {}", o.topic, error));
                    return exit_failure;
                }
            }
            target = std::make_unique<kafka_target>(o);
#else
            print_error("this sluice was built without Kafka support (SLUICE_WITH_KAFKA=OFF)");
            return exit_invalid;
#endif
        }
    } catch (const std::exception& e) {
        print_error(e.what());
        return exit_failure;
    }
    struct sigaction action {};
    action.sa_handler = on_generate_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);

    sensor_simulator simulator(o.simulation);
    std::string value;
    const auto started = steady::now();
    auto next_report = started + std::chrono::seconds(1);
    std::uint64_t produced = 0;
    std::uint64_t last_reported = 0;
    auto last_report_time = started;
    int code = exit_ok;
    try {
        while (!interrupted.load() && (o.count == 0 || produced < o.count)) {
            // Work in slices of up to 1024 records; pace by sleeping until the slice is due.
            std::uint64_t slice = 1024;
            if (o.count != 0) {
                slice = std::min(slice, o.count - produced);
            }
            auto now = steady::now();
            if (o.duration.count() > 0 && now - started >= o.duration) {
                break;
            }
            if (o.rate > 0) {
                const double elapsed = std::chrono::duration<double>(now - started).count();
                const auto due = static_cast<std::uint64_t>(elapsed * o.rate) + 1;
                if (due <= produced) {
                    // Wake at most every millisecond and send what is due then: at 10,000/s
                    // waking per record cost a quarter of a core in sleeps and librdkafka
                    // wake-ups, taken from the broker and pipeline it measures.
                    std::this_thread::sleep_for(std::chrono::microseconds(std::clamp<std::int64_t>(
                            static_cast<std::int64_t>(1e6 / o.rate) + 1, 1'000, 50'000)));
                    slice = 0;
                } else {
                    slice = std::min(slice, due - produced);
                }
            }
            for (std::uint64_t i = 0; i < slice; ++i) {
                const sensor_reading reading = simulator.next();
                value.clear();
                simulator.append_json(value, reading);
                target->send(simulator.sensor_id(reading.sensor), value);
            }
            produced += slice;
            now = steady::now();
            if (now >= next_report) {
                const std::string extra = target->status();
                const double seconds =
                        std::chrono::duration<double>(now - last_report_time).count();
                if (!o.quiet) {
                    (void)std::fprintf(
                            stderr,
                            "[%4llds] generated %s (%s/s)%s\n",
                            static_cast<long long>(
                                    std::chrono::duration_cast<std::chrono::seconds>(now - started)
                                            .count()),
                            human_count(static_cast<double>(produced)).c_str(),
                            human_count(static_cast<double>(produced - last_reported) / seconds)
                                    .c_str(),
                            extra.c_str());
                }
                last_reported = produced;
                last_report_time = now;
                next_report += std::chrono::seconds(1);
            }
        }
        const std::string error = target->finish();
        if (!error.empty()) {
            print_error(error);
            code = exit_failure;
        }
    } catch (const std::exception& e) {
        print_error(e.what());
        code = exit_failure;
    }
    const double seconds = std::chrono::duration<double>(steady::now() - started).count();
    if (!o.quiet) {
        (void)std::fprintf(
                stderr,
                "generated %llu records in %.2f s (%s/s)%s\n",
                static_cast<unsigned long long>(produced),
                seconds,
                human_count(static_cast<double>(produced) / std::max(seconds, 1e-9)).c_str(),
                target->status().c_str());
    }
    return code;
}

}  // namespace

void register_generate_command() {
    register_command(
            {"generate",
             "generate (--kafka BROKERS --topic T [--partitions N] | --output FILE) [--rate N] "
             "[--count N] [--duration D] [--sensors N] [--seed N] [--anomaly-rate X] [--quiet]",
             "write simulated sensor readings (JSON, keyed by sensor_id) to a Kafka topic or a "
             "file",
             generate_command});
}

}  // namespace sluice::cli
