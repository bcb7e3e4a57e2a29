#include <sluice/core/column.hpp>
#include <sluice/ops/generator.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <vector>

namespace sluice {

namespace {

constexpr std::int64_t ms_per_day = 86'400'000;
constexpr std::int64_t ms_per_hour = 3'600'000;

// Fault rates per reading. Small enough that most of the fleet is healthy at any time, large
// enough that a day of 100 sensors shows each fault many times.
// As thresholds on 21-bit uniforms (one 64-bit draw serves all three).
constexpr std::uint64_t dropout_start_threshold = 419;   // 0.0002 * 2^21
constexpr std::uint64_t stuck_start_threshold = 210;     // 0.0001 * 2^21
constexpr std::uint64_t label_noise_threshold = 10'486;  // 0.005 * 2^21
constexpr double spiky_sensor_fraction = 0.2;
constexpr std::size_t sensors_per_building = 25;

// splitmix64: tiny, fast, and good enough for simulation; the same on every platform, unlike
// the std distributions.
struct random_stream {
    std::uint64_t state;

    std::uint64_t next() noexcept {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, 1).
    double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    /// Uniform integer in [0, n).
    std::uint64_t below(std::uint64_t n) noexcept { return n == 0 ? 0 : next() % n; }
    /// Approximately standard normal (Irwin–Hall with four 16-bit uniforms: mean 0, sd 1,
    /// bounded by ±3.46). One draw instead of Box–Muller's logarithm and cosine.
    double normal() noexcept {
        const std::uint64_t r = next();
        const auto sum = static_cast<double>((r & 0xFFFF) + ((r >> 16) & 0xFFFF) +
                                             ((r >> 32) & 0xFFFF) + (r >> 48));
        return (sum * (1.0 / 65536.0) - 2.0) * 1.7320508075688772;
    }
};

constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    const std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Rounds half away from zero without a libm call (the values are far inside int64 range).
inline std::int64_t round_to_int(double value) noexcept {
    return static_cast<std::int64_t>(value + (value >= 0 ? 0.5 : -0.5));
}

constexpr char digit_pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";

// Writes `value` in decimal at `p`; returns the end.
char* write_uint(char* p, std::uint64_t value) noexcept {
    char digits[20];
    char* end = digits + sizeof digits;
    char* q = end;
    while (value >= 100) {
        const auto pair = static_cast<std::size_t>(value % 100) * 2;
        value /= 100;
        q -= 2;
        q[0] = digit_pairs[pair];
        q[1] = digit_pairs[pair + 1];
    }
    if (value >= 10) {
        const auto pair = static_cast<std::size_t>(value) * 2;
        q -= 2;
        q[0] = digit_pairs[pair];
        q[1] = digit_pairs[pair + 1];
    } else {
        *--q = static_cast<char>('0' + value);
    }
    const auto n = static_cast<std::size_t>(end - q);
    std::memcpy(p, q, n);
    return p + n;
}

char* write_int(char* p, std::int64_t value) noexcept {
    if (value < 0) {
        *p++ = '-';
        return write_uint(p, 0 - static_cast<std::uint64_t>(value));
    }
    return write_uint(p, static_cast<std::uint64_t>(value));
}

// Writes a value that is an exact multiple of 1/scale (scale 10 or 100) in its shortest
// round-trip form, ".0" kept for integral values: the text row_json's append_json_double
// gives, without the general algorithm.
char* write_fixed(char* p, double value, std::int64_t scale) noexcept {
    std::int64_t units = round_to_int(value * static_cast<double>(scale));
    if (units < 0) {
        *p++ = '-';
        units = -units;
    }
    p = write_uint(p, static_cast<std::uint64_t>(units / scale));
    *p++ = '.';
    const auto fraction = static_cast<unsigned>(units % scale);
    if (scale == 100) {
        *p++ = static_cast<char>('0' + fraction / 10);
        if (fraction % 10 != 0) {
            *p++ = static_cast<char>('0' + fraction % 10);
        }
    } else {
        *p++ = static_cast<char>('0' + fraction);
    }
    return p;
}

template <std::size_t N>
char* write_literal(char* p, const char (&text)[N]) noexcept {
    std::memcpy(p, text, N - 1);
    return p + N - 1;
}

char* write_text(char* p, const std::string& text) noexcept {
    return std::copy_n(text.data(), text.size(), p);  // no terminator: the JSON goes on
}

struct sensor_state {
    // Fixed at start.
    double base_temperature = 21;  // °C
    double daily_amplitude = 2;    // °C, half the peak-to-trough swing
    double drift_per_day = 0;      // °C per day
    double noise_sd = 0.2;         // °C
    double base_humidity = 45;     // %
    double coupling = 1.5;         // % humidity lost per °C above base
    double spike_probability = 0;  // per reading
    // Fault state, in ticks.
    std::int64_t dropout_until = -1;
    std::int64_t stuck_until = -1;
    double stuck_temperature = 0;
    double stuck_humidity = 0;
};

struct delayed_reading {
    std::int64_t release_ms;  // delivered before the first in-order reading at or after this
    std::uint64_t order;      // generation order: ties are broken the same way every run
    sensor_reading reading;
};

struct later_release {
    bool operator()(const delayed_reading& a, const delayed_reading& b) const noexcept {
        return a.release_ms != b.release_ms ? a.release_ms > b.release_ms : a.order > b.order;
    }
};

}  // namespace

struct sensor_simulator::impl {
    simulator_config config;
    random_stream rng{0};
    std::vector<sensor_state> sensors;
    // Each sensor's event-time offset within the interval: staggered so that in-order event
    // time never decreases (and precomputed: a division per reading is measurable).
    std::vector<std::int64_t> offsets;
    std::vector<std::string> ids;
    std::vector<std::string> locations;
    std::vector<std::string> json_prefixes;  // {"sensor_id":"...","temperature":
    std::vector<std::string> json_suffixes;  // ,"location":"...","is_anomaly":
    std::size_t max_affix = 0;               // longest prefix + suffix

    std::int64_t tick = 0;
    std::size_t index = 0;  // next sensor within the tick
    std::int64_t cached_tick = -1;
    double cycle = 0;          // daily cycle of the current tick, -1..1
    double weekend_shift = 0;  // °C
    double days_elapsed = 0;   // since start_time, for the drift

    std::vector<delayed_reading> delayed;  // min-heap on release time
    std::uint64_t generated = 0;
    std::uint64_t produced = 0;
    std::int64_t max_event_time = no_watermark;
    std::string scratch;

    explicit impl(simulator_config c)
        : config(c) {
        config.sensors = std::clamp<std::size_t>(config.sensors, 1, 1'000'000);
        config.interval_ms = std::max<std::int64_t>(config.interval_ms, 1);
        config.floors = std::max<std::size_t>(config.floors, 1);
        config.anomaly_rate = std::clamp(config.anomaly_rate, 0.0, 1.0);
        config.out_of_order = std::clamp(config.out_of_order, 0.0, 1.0);
        config.max_delay_ms = std::max<std::int64_t>(config.max_delay_ms, 0);
        if (config.buildings == 0) {
            config.buildings = (config.sensors + sensors_per_building - 1) / sensors_per_building;
        }
        rng.state = config.seed ^ 0x5EED5EED5EED5EEDULL;
        build_fleet();
    }

    void build_fleet() {
        const std::size_t n = config.sensors;
        const std::size_t width = std::max<std::size_t>(4, fmt::formatted_size("{}", n));
        sensors.resize(n);
        offsets.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            offsets[i] = static_cast<std::int64_t>(i) * config.interval_ms /
                         static_cast<std::int64_t>(n);
        }
        ids.reserve(n);
        locations.reserve(n);
        double weight_sum = 0;
        std::vector<double> weights(n);
        for (std::size_t i = 0; i < n; ++i) {
            // Each sensor's traits come from its own stream, so they do not depend on the
            // fleet size or on the order readings are drawn in.
            random_stream traits{config.seed * 0x9E3779B97F4A7C15ULL + i * 0xD1B54A32D192ED03ULL};
            traits.next();
            const std::size_t place = i % (config.buildings * config.floors);
            const std::size_t building = place / config.floors + 1;
            const std::size_t floor = place % config.floors + 1;
            sensor_state& s = sensors[i];
            s.base_temperature =
                    21.0 + 0.25 * static_cast<double>(floor - 1) + 1.2 * traits.normal();
            if (traits.uniform() < 0.1) {
                s.base_temperature +=
                        6.5;  // a server room or a sunny corner: warnings, errors in the afternoon
            }
            s.daily_amplitude = 1.0 + 3.0 * traits.uniform();
            s.drift_per_day = 0.05 * traits.normal();
            s.noise_sd = 0.15 + 0.25 * traits.uniform();
            s.base_humidity = 45.0 + 8.0 * traits.normal();
            s.coupling = 1.0 + 1.5 * traits.uniform();
            weights[i] = traits.uniform() < spiky_sensor_fraction ? 4.0 : 0.25;
            weight_sum += weights[i];

            ids.push_back(fmt::format("sensor-{:0{}}", i + 1, width));
            locations.push_back(fmt::format("building-{}/floor-{}", building, floor));
            json_prefixes.push_back(
                    fmt::format(R"({{"sensor_id":"{}","temperature":)", ids.back()));
            json_suffixes.push_back(
                    fmt::format(R"(,"location":"{}","is_anomaly":)", locations.back()));
            max_affix =
                    std::max(max_affix, json_prefixes.back().size() + json_suffixes.back().size());
        }
        // Normalise so the fleet's mean spike probability is exactly anomaly_rate.
        for (std::size_t i = 0; i < n; ++i) {
            sensors[i].spike_probability = std::min(
                    1.0, config.anomaly_rate * weights[i] * static_cast<double>(n) / weight_sum);
        }
    }

    std::int64_t timestamp_of(std::int64_t t, std::size_t i) const noexcept {
        return config.start_time_ms + t * config.interval_ms + offsets[i];
    }

    void prepare_tick(std::int64_t t) {
        cached_tick = t;
        const std::int64_t at = config.start_time_ms + t * config.interval_ms;
        const std::int64_t days = floor_div(at, ms_per_day);
        const double day_fraction = static_cast<double>(at - days * ms_per_day) / ms_per_day;
        // Peak at 15:00, trough at 03:00.
        cycle = std::sin(2.0 * std::numbers::pi * (day_fraction - 0.375));
        const std::int64_t weekday = ((days + 3) % 7 + 7) % 7;  // 1970-01-01 was a Thursday
        weekend_shift = weekday >= 5 ? -1.0 : 0.0;              // heating set back at weekends
        days_elapsed = static_cast<double>(at - config.start_time_ms) / ms_per_day;
    }

    // Thresholds on slightly noisy observations plus a little label noise: learnable, but not
    // perfectly. `flip` is a uniform 21-bit number.
    std::int64_t status_of(double temperature, double humidity, std::uint64_t flip) {
        // Two triangular noises (sd 1) from one draw: cheaper than two normals.
        const std::uint64_t bits = rng.next();
        const auto half = [](std::uint64_t b) {
            return (static_cast<double>((b & 0xFFFF) + ((b >> 16) & 0xFFFF)) * (1.0 / 65536.0) -
                    1.0) *
                   2.449489742783178;
        };
        const double t = temperature + 0.4 * half(bits);
        const double h = humidity + 1.5 * half(bits >> 32);
        std::int64_t status = 0;
        if (t > 30.0 || t < 12.0 || h > 75.0 || h < 20.0) {
            status = 2;
        } else if (t > 25.5 || t < 17.5 || h > 62.0 || h < 30.0) {
            status = 1;
        }
        if (flip < label_noise_threshold) {
            status = (status + 1 + static_cast<std::int64_t>(flip & 1)) % 3;
        }
        return status;
    }

    // Generates the reading of sensor `i` at tick `t`; false if the sensor is silent.
    bool generate(std::int64_t t, std::size_t i, sensor_reading& r) {
        sensor_state& s = sensors[i];
        if (t < s.dropout_until) {
            return false;
        }
        // One draw, three 21-bit uniforms for the rare events: dropout, stuck, label noise.
        const std::uint64_t rare = rng.next();
        if ((rare & 0x1FFFFF) < dropout_start_threshold) {
            s.dropout_until = t + 30 + static_cast<std::int64_t>(rng.below(571));
            return false;
        }
        if (t != cached_tick) {
            prepare_tick(t);
        }
        r.sensor = static_cast<std::uint32_t>(i);
        r.timestamp_ms = timestamp_of(t, i);
        const std::int64_t days = floor_div(r.timestamp_ms, ms_per_day);
        r.hour_of_day = (r.timestamp_ms - days * ms_per_day) / ms_per_hour;
        r.day_of_week = ((days + 3) % 7 + 7) % 7;
        r.is_anomaly = rng.uniform() < s.spike_probability;

        double temperature = 0;
        double humidity = 0;
        if (t < s.stuck_until && !r.is_anomaly) {
            temperature = s.stuck_temperature;
            humidity = s.stuck_humidity;
        } else {
            const double normal_temperature = s.base_temperature + s.daily_amplitude * cycle +
                                              weekend_shift + s.drift_per_day * days_elapsed;
            temperature = normal_temperature + s.noise_sd * rng.normal();
            humidity = s.base_humidity - s.coupling * (temperature - s.base_temperature) +
                       rng.normal();
            if (r.is_anomaly) {
                const std::uint64_t bits = rng.next();
                const double magnitude = 8.0 + 12.0 * static_cast<double>(bits >> 40) * 0x1.0p-24;
                temperature += (bits & 0xFF) < 205 ? magnitude : -magnitude;  // mostly upward
                if ((bits & 0x100) != 0) {
                    const double jump =
                            10.0 + 20.0 * static_cast<double>((bits >> 12) & 0xFFFF) / 65536.0;
                    humidity += (bits & 0x200) != 0 ? jump : -jump;
                }
            }
            humidity = std::clamp(humidity, 0.0, 100.0);
            temperature = static_cast<double>(round_to_int(temperature * 100.0)) / 100.0;
            humidity = static_cast<double>(round_to_int(humidity * 10.0)) / 10.0;
            if (!r.is_anomaly && ((rare >> 21) & 0x1FFFFF) < stuck_start_threshold) {
                s.stuck_until = t + 60 + static_cast<std::int64_t>(rng.below(1741));
                s.stuck_temperature = temperature;
                s.stuck_humidity = humidity;
            }
        }
        r.temperature = temperature;
        r.humidity = humidity;
        r.status_flag = status_of(temperature, humidity, (rare >> 42) & 0x1FFFFF);
        return true;
    }

    sensor_reading deliver(const sensor_reading& r) {
        ++produced;
        max_event_time = std::max(max_event_time, r.timestamp_ms);
        return r;
    }

    sensor_reading next() {
        const bool may_delay = config.out_of_order > 0 && config.max_delay_ms > 0;
        sensor_reading r;
        for (;;) {
            // A held-back reading goes out just before the first in-order reading at or after
            // its release time, so it is never more than max_delay behind what went before.
            if (!delayed.empty() && delayed.front().release_ms <= timestamp_of(tick, index)) {
                std::pop_heap(delayed.begin(), delayed.end(), later_release{});
                r = delayed.back().reading;
                delayed.pop_back();
                return deliver(r);
            }
            const std::int64_t t = tick;
            const std::size_t i = index;
            if (++index == config.sensors) {
                index = 0;
                ++tick;
            }
            if (!generate(t, i, r)) {
                continue;
            }
            ++generated;
            if (may_delay && rng.uniform() < config.out_of_order) {
                const auto delay = 1 + static_cast<std::int64_t>(rng.below(
                                               static_cast<std::uint64_t>(config.max_delay_ms)));
                delayed.push_back({r.timestamp_ms + delay, generated, r});
                std::push_heap(delayed.begin(), delayed.end(), later_release{});
                continue;
            }
            return deliver(r);
        }
    }

    /// Longest JSON text of one reading: prefix, suffix and the longest numbers.
    std::size_t max_json_size() const noexcept { return max_affix + 160; }

    /// Writes the JSON of `r` at `p` (max_json_size() bytes available); returns the end.
    char* write_json(char* p, const sensor_reading& r) const noexcept {
        p = write_text(p, json_prefixes[r.sensor]);
        p = write_fixed(p, r.temperature, 100);
        p = write_literal(p, R"(,"humidity":)");
        p = write_fixed(p, r.humidity, 10);
        p = write_literal(p, R"(,"timestamp":)");
        p = write_int(p, r.timestamp_ms);
        p = write_literal(p, R"(,"hour_of_day":)");
        p = write_int(p, r.hour_of_day);
        p = write_literal(p, R"(,"day_of_week":)");
        p = write_int(p, r.day_of_week);
        p = write_literal(p, R"(,"status_flag":)");
        p = write_int(p, r.status_flag);
        p = write_text(p, json_suffixes[r.sensor]);
        return r.is_anomaly ? write_literal(p, "true}") : write_literal(p, "false}");
    }

    void append_json(std::string& out, const sensor_reading& r) const {
        const std::size_t old = out.size();
        out.resize(old + max_json_size());
        char* end = write_json(out.data() + old, r);
        out.resize(static_cast<std::size_t>(end - out.data()));
    }
};

sensor_simulator::sensor_simulator(simulator_config config)
    : impl_(std::make_unique<impl>(config)) {}
sensor_simulator::~sensor_simulator() = default;
sensor_simulator::sensor_simulator(sensor_simulator&&) noexcept = default;
sensor_simulator& sensor_simulator::operator=(sensor_simulator&&) noexcept = default;

const simulator_config& sensor_simulator::config() const noexcept {
    return impl_->config;
}

sensor_reading sensor_simulator::next() {
    return impl_->next();
}

std::uint64_t sensor_simulator::produced() const noexcept {
    return impl_->produced;
}

std::int64_t sensor_simulator::max_event_time_ms() const noexcept {
    return impl_->max_event_time;
}

std::string_view sensor_simulator::sensor_id(std::uint32_t sensor) const {
    return impl_->ids.at(sensor);
}

std::string_view sensor_simulator::location(std::uint32_t sensor) const {
    return impl_->locations.at(sensor);
}

void sensor_simulator::append_json(std::string& out, const sensor_reading& reading) const {
    impl_->append_json(out, reading);
}

const schema_ptr& sensor_simulator::columns_schema() {
    static const schema_ptr columns = make_schema({
            {"sensor_id", data_type::string, false},
            {"temperature", data_type::float64, false},
            {"humidity", data_type::float64, false},
            {"timestamp", data_type::timestamp_ms, false},
            {"hour_of_day", data_type::int64, false},
            {"day_of_week", data_type::int64, false},
            {"status_flag", data_type::int64, false},
            {"location", data_type::string, false},
            {"is_anomaly", data_type::boolean, false},
    });
    return columns;
}

const schema_ptr& sensor_simulator::json_schema() {
    static const schema_ptr json = make_schema({
            {"key", data_type::string, false},
            {"value", data_type::string, false},
    });
    return json;
}

batch sensor_simulator::next_columns(std::size_t count) {
    auto sensor_ids = std::make_shared<column>(data_type::string);
    auto temperature = std::make_shared<column>(data_type::float64);
    auto humidity = std::make_shared<column>(data_type::float64);
    auto timestamp = std::make_shared<column>(data_type::timestamp_ms);
    auto hour = std::make_shared<column>(data_type::int64);
    auto weekday = std::make_shared<column>(data_type::int64);
    auto status = std::make_shared<column>(data_type::int64);
    auto locations = std::make_shared<column>(data_type::string);
    auto anomaly = std::make_shared<column>(data_type::boolean);
    sensor_ids->reserve(count, count * (impl_->ids.front().size()));
    locations->reserve(count, count * (impl_->locations.back().size()));
    for (auto* c : {temperature.get(),
                    humidity.get(),
                    timestamp.get(),
                    hour.get(),
                    weekday.get(),
                    status.get(),
                    anomaly.get()}) {
        c->resize(count);
    }
    double* t = temperature->mutable_float64().data();
    double* h = humidity->mutable_float64().data();
    std::int64_t* ts = timestamp->mutable_int64().data();
    std::int64_t* hd = hour->mutable_int64().data();
    std::int64_t* dw = weekday->mutable_int64().data();
    std::int64_t* st = status->mutable_int64().data();
    std::uint8_t* an = anomaly->mutable_bool().data();
    for (std::size_t k = 0; k < count; ++k) {
        const sensor_reading r = impl_->next();
        sensor_ids->push_string(impl_->ids[r.sensor]);
        locations->push_string(impl_->locations[r.sensor]);
        t[k] = r.temperature;
        h[k] = r.humidity;
        ts[k] = r.timestamp_ms;
        hd[k] = r.hour_of_day;
        dw[k] = r.day_of_week;
        st[k] = r.status_flag;
        an[k] = r.is_anomaly ? 1 : 0;
    }
    batch out(columns_schema(),
              {std::move(sensor_ids),
               std::move(temperature),
               std::move(humidity),
               std::move(timestamp),
               std::move(hour),
               std::move(weekday),
               std::move(status),
               std::move(locations),
               std::move(anomaly)});
    out.set_event_time_column(timestamp_column);
    return out;
}

batch sensor_simulator::next_json(std::size_t count) {
    auto keys = std::make_shared<column>(data_type::string);
    auto values = std::make_shared<column>(data_type::string);
    keys->reserve(count, count * impl_->ids.front().size());
    values->reserve(count, count * 200);
    std::string& json = impl_->scratch;
    json.resize(impl_->max_json_size());
    for (std::size_t k = 0; k < count; ++k) {
        const sensor_reading r = impl_->next();
        const char* end = impl_->write_json(json.data(), r);
        keys->push_string(impl_->ids[r.sensor]);
        values->push_string(
                std::string_view(json.data(), static_cast<std::size_t>(end - json.data())));
    }
    return batch(json_schema(), {std::move(keys), std::move(values)});
}

}  // namespace sluice
