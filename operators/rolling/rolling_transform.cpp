// The `rolling` transform: each reading against its key's recent history.

#include <sluice/core/duration.hpp>
#include <sluice/core/error.hpp>
#include <sluice/operator/options.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/rolling.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <list>
#include <optional>

namespace sluice {

namespace {

constexpr std::size_t max_history = 100000;

// One key's history of one column: a ring of the last values and their running sums. The sums
// are of (value - shift), with shift a value of the history, so they stay small and the
// variance does not cancel catastrophically; they are recomputed from the ring every `size`
// additions, so the rounding of many add/remove steps never accumulates.
struct history {
    std::uint32_t start = 0;
    std::uint32_t count = 0;
    std::uint32_t since_exact = 0;
    std::uint32_t repeats = 0;  // how many of the newest values are equal to the newest
    double shift = 0.0;
    double sum = 0.0;
    double sumsq = 0.0;
};

struct key_entry {
    std::string key;  // encoded key value (see encode_key)
    std::int64_t newest_ms =
            std::numeric_limits<std::int64_t>::min();  // newest event time of its records
    std::vector<history> columns;                      // one per configured column
    std::vector<double> rings;                         // columns * size values
};

// The keys are short (a sensor id): 8 bytes at a time with a multiply-xorshift mix is a
// fraction of the cost of std::hash's byte-wise Murmur, which was a tenth of this operator.
struct key_hash {
    std::size_t operator()(std::string_view key) const noexcept {
        std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ key.size();
        const char* p = key.data();
        std::size_t n = key.size();
        const auto mix = [&h](std::uint64_t word) {
            h = (h ^ word) * 0xBF58476D1CE4E5B9ULL;
            h ^= h >> 29;
        };
        for (; n >= 8; p += 8, n -= 8) {
            std::uint64_t word = 0;
            std::memcpy(&word, p, 8);
            mix(word);
        }
        if (n != 0) {
            std::uint64_t word = 0;
            std::memcpy(&word, p, n);
            mix(word);
        }
        return static_cast<std::size_t>(h ^ (h >> 32));
    }
};

// The keys' index: open addressing with linear probing over a power-of-two table (a mask, not
// the prime modulo of std::unordered_map, whose division and node hops were most of a lookup).
// Slots hold the hash and the entry; erasure shifts the following run back (no tombstones).
class key_index {
public:
    using entry_ref = std::list<key_entry>::iterator;

    std::size_t size() const noexcept { return size_; }

    /// The entry of `key`, or null.
    const entry_ref* find(std::string_view key, std::size_t hash) const noexcept {
        if (slots_.empty()) {
            return nullptr;
        }
        for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const slot& s = slots_[i];
            if (!s.used) {
                return nullptr;
            }
            if (s.hash == hash && s.entry->key == key) {
                return &s.entry;
            }
        }
    }

    /// Adds `entry` (whose key is not in the index yet).
    void insert(std::size_t hash, entry_ref entry) {
        if (2 * (size_ + 1) > slots_.size()) {
            grow();
        }
        place(hash, entry);
        ++size_;
    }

    void erase(std::string_view key, std::size_t hash) noexcept {
        std::size_t i = hash & mask_;
        while (!(slots_[i].used && slots_[i].hash == hash && slots_[i].entry->key == key)) {
            i = (i + 1) & mask_;
        }
        // Backward-shift: move up every later slot of the run whose home is not between the
        // hole and itself, so that no probe sequence is broken by the hole.
        for (std::size_t j = (i + 1) & mask_; slots_[j].used; j = (j + 1) & mask_) {
            const std::size_t home = slots_[j].hash & mask_;
            const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = slot{};
        --size_;
    }

private:
    struct slot {
        std::size_t hash = 0;
        entry_ref entry{};
        bool used = false;
    };

    void place(std::size_t hash, entry_ref entry) noexcept {
        std::size_t i = hash & mask_;
        while (slots_[i].used) {
            i = (i + 1) & mask_;
        }
        slots_[i] = slot{hash, entry, true};
    }

    void grow() {
        std::vector<slot> old = std::move(slots_);
        slots_.assign(std::max<std::size_t>(16, 2 * old.size()), slot{});
        mask_ = slots_.size() - 1;
        for (const slot& s : old) {
            if (s.used) {
                place(s.hash, s.entry);
            }
        }
    }

    std::vector<slot> slots_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
};

std::string list_names(const schema& s) {
    std::vector<std::string_view> names;
    for (const auto& f : s.fields()) {
        names.push_back(f.name);
    }
    return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

struct rolling_transform::impl {
    rolling_config config;
    schema_ptr input_schema;
    schema_ptr output_schema;
    std::optional<std::size_t> key_column;
    std::vector<std::size_t> value_columns;
    std::optional<std::size_t> time_column;  // resolved `time`; else the batch's event time

    std::list<key_entry> entries;  // least recently seen first
    key_index index;               // the entries by key
    std::string key_buffer;
    std::int64_t clock_ms = std::numeric_limits<std::int64_t>::min();  // newest event time seen
    std::uint64_t evicted_capacity = 0;
    std::uint64_t evicted_ttl = 0;

    void encode_key(const batch& input, std::size_t row) {
        key_buffer.clear();
        if (!key_column) {
            return;  // one global group
        }
        const column& values = input.column_at(*key_column);
        if (!values.is_valid(row)) {
            key_buffer += '\0';  // a missing key is a group of its own
            return;
        }
        key_buffer += '\1';
        if (values.type() == data_type::string) {
            key_buffer.append(values.string_at(row));
        } else {
            const std::int64_t v = values.int64_values()[row];
            key_buffer.append(reinterpret_cast<const char*>(&v), sizeof v);
        }
    }

    void forget_front() {
        const std::string& key = entries.front().key;
        index.erase(key, key_hash{}(key));
        entries.pop_front();
    }

    // The entry of the key in key_buffer, now the most recently seen.
    key_entry& touch() {
        const std::size_t hash = key_hash{}(key_buffer);
        if (const auto* found = index.find(key_buffer, hash); found != nullptr) {
            entries.splice(entries.end(), entries, *found);
            return **found;
        }
        if (index.size() >= config.max_keys) {
            forget_front();
            ++evicted_capacity;
        }
        auto& entry = entries.emplace_back();
        entry.key = key_buffer;
        entry.columns.resize(value_columns.size());
        entry.rings.resize(value_columns.size() * config.size);
        index.insert(hash, std::prev(entries.end()));
        return entry;
    }

    // Ring positions wrap with a compare instead of `%`: start < size and count <= size, so
    // start + count < 2 * size, and a division per step was measurable at millions of rows/s.
    static std::uint32_t wrap(std::uint32_t position, std::uint32_t size) noexcept {
        return position >= size ? position - size : position;
    }

    void add(history& h, double* ring, double x) const {
        const auto size = static_cast<std::uint32_t>(config.size);
        if (h.count == size) {
            const double d = ring[h.start] - h.shift;
            h.sum -= d;
            h.sumsq -= d * d;
            h.start = wrap(h.start + 1, size);
            --h.count;
        }
        if (h.count == 0) {
            h = history{h.start, 0, 0, 0, x, 0.0, 0.0};
        }
        const bool repeated = h.count > 0 && ring[wrap(h.start + h.count - 1, size)] == x;
        h.repeats = repeated ? std::min(h.repeats + 1, size) : 1;
        ring[wrap(h.start + h.count, size)] = x;
        ++h.count;
        const double d = x - h.shift;
        h.sum += d;
        h.sumsq += d * d;
        if (++h.since_exact >= size) {
            h.shift = ring[h.start];
            h.sum = 0.0;
            h.sumsq = 0.0;
            // Oldest to newest, as before: the ring from start, then its wrapped part.
            const std::uint32_t first_end = std::min(size, h.start + h.count);
            for (std::uint32_t i = h.start; i < first_end; ++i) {
                const double e = ring[i] - h.shift;
                h.sum += e;
                h.sumsq += e * e;
            }
            for (std::uint32_t i = 0; i < h.start + h.count - first_end; ++i) {
                const double e = ring[i] - h.shift;
                h.sum += e;
                h.sumsq += e * e;
            }
            h.since_exact = 0;
        }
    }

    void forget_silent_keys() {
        if (config.key_ttl.count() == 0 || clock_ms == std::numeric_limits<std::int64_t>::min()) {
            return;
        }
        const std::int64_t oldest_kept = clock_ms - config.key_ttl.count();
        while (!entries.empty() && entries.front().newest_ms < oldest_kept) {
            forget_front();
            ++evicted_ttl;
        }
    }
};

std::vector<std::string> check_rolling_config(const rolling_config& config) {
    std::vector<std::string> problems;
    if (config.columns.empty()) {
        problems.emplace_back("'columns' must name at least one column");
    }
    if (config.size < 2 || config.size > max_history) {
        problems.push_back(fmt::format("'size' must be 2..{}, got {}", max_history, config.size));
    }
    if (!(config.min_stddev >= 0.0) || !std::isfinite(config.min_stddev)) {
        problems.push_back(fmt::format("'min_stddev' must be a finite number >= 0, got {}",
                                       config.min_stddev));
    }
    if (config.max_keys < 1) {
        problems.emplace_back("'max_keys' must be at least 1, got 0");
    }
    if (config.key_ttl.count() < 0) {
        problems.emplace_back("'key_ttl' must not be negative");
    }
    std::vector<std::string> sorted = config.columns;
    std::sort(sorted.begin(), sorted.end());
    if (const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
        twice != sorted.end()) {
        problems.push_back(fmt::format("'columns' lists '{}' twice", *twice));
    }
    return problems;
}

void rolling_transform::describe(option_spec& spec) {
    spec.field("key", option_kind::string)
            .describe("grouping column (string or int64); absent = one global group");
    spec.field("columns", option_kind::string_list)
            .require()
            .describe(
                    "numeric columns to describe; each adds <c>_recent_mean, <c>_recent_stddev, "
                    "<c>_zscore");
    spec.field("size", option_kind::integer)
            .defaults("60")
            .at_least(2)
            .at_most(static_cast<double>(max_history))
            .describe("history per key and column: the last N values before the current record");
    spec.field("min_stddev", option_kind::number)
            .defaults("0")
            .at_least(0)
            .describe(
                    "floor of the z-score's denominator (e.g. the sensor's resolution), so a flat "
                    "history "
                    "does not divide by ~0");
    spec.field("max_keys", option_kind::integer)
            .defaults("100000")
            .at_least(1)
            .describe(
                    "keys held at most (8 bytes x size x columns each); the least recently seen is "
                    "forgotten");
    spec.field("key_ttl", option_kind::duration)
            .defaults("0s")
            .describe(
                    "forget a key whose newest event time is this far behind the newest seen; 0 = "
                    "never");
    spec.field("time", option_kind::string)
            .describe(
                    "event-time column (timestamp_ms or int64 ms) for key_ttl; default: the "
                    "batch's event time");
    spec.check([](const options& opts, diagnostics_collector& out) {
        const auto columns = opts.get_string_list("columns");
        std::vector<std::string> sorted = columns;
        std::sort(sorted.begin(), sorted.end());
        if (const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
            twice != sorted.end()) {
            out.add(opts.error(
                    "columns", "cross-field", fmt::format("'columns' lists '{}' twice", *twice)));
        }
        if (columns.empty()) {
            out.add(opts.error("columns", "bad-value", "'columns' must name at least one column"));
        }
    });
}

rolling_config rolling_transform::config_from(const options& opts) {
    rolling_config config;
    if (opts.is_set("key")) {
        config.key = opts.get_string("key");
    }
    config.columns = opts.get_string_list("columns");
    config.size = static_cast<std::size_t>(opts.get_int("size"));
    config.min_stddev = opts.get_number("min_stddev");
    config.max_keys = static_cast<std::size_t>(opts.get_int("max_keys"));
    config.key_ttl =
            std::chrono::duration_cast<std::chrono::milliseconds>(opts.get_duration("key_ttl"));
    if (opts.is_set("time")) {
        config.time_column = opts.get_string("time");
    }
    return config;
}

rolling_transform::rolling_transform(rolling_config config)
    : impl_(std::make_unique<impl>()) {
    const auto problems = check_rolling_config(config);
    if (!problems.empty()) {
        std::vector<diagnostic> diagnostics;
        diagnostics.reserve(problems.size());
        for (const auto& p : problems) {
            diagnostics.push_back(diagnostic{{}, "bad-value", fmt::format("rolling: {}", p)});
        }
        throw config_error(std::move(diagnostics));
    }
    impl_->config = std::move(config);
}

rolling_transform::~rolling_transform() = default;

schema_ptr rolling_transform::bind(const schema_ptr& input, bind_context& ctx) {
    auto& s = *impl_;
    const auto& c = s.config;
    s.key_column.reset();
    s.value_columns.clear();
    s.time_column.reset();
    if (!c.key.empty()) {
        const auto found = input->index_of(c.key);
        if (!found) {
            ctx.error("key",
                      "unknown-column",
                      fmt::format(
                              "key: unknown column '{}' (columns: {})", c.key, list_names(*input)));
        } else if (const auto type = input->at(*found).type;
                   type != data_type::string && type != data_type::int64) {
            ctx.error("key",
                      "wrong-type",
                      fmt::format("key column '{}' must be string or int64, found {}",
                                  c.key,
                                  to_string(type)));
        } else {
            s.key_column = found;
        }
    }
    std::vector<field> fields = input->fields();
    for (std::size_t i = 0; i < c.columns.size(); ++i) {
        const auto& name = c.columns[i];
        const auto found = input->index_of(name);
        if (!found) {
            ctx.error(fmt::format("columns.{}", i),
                      "unknown-column",
                      fmt::format("columns: unknown column '{}' (columns: {})",
                                  name,
                                  list_names(*input)));
            continue;
        }
        if (const auto type = input->at(*found).type;
            type != data_type::float64 && type != data_type::int64) {
            ctx.error(fmt::format("columns.{}", i),
                      "wrong-type",
                      fmt::format("column '{}' must be float64 or int64, found {}",
                                  name,
                                  to_string(type)));
            continue;
        }
        s.value_columns.push_back(*found);
        for (const char* suffix : {"_recent_mean", "_recent_stddev", "_zscore"}) {
            const std::string out_name = name + suffix;
            if (input->index_of(out_name)) {
                ctx.error(fmt::format("columns.{}", i),
                          "duplicate-column",
                          fmt::format("output column '{}' is already in the input", out_name));
            }
            fields.push_back({out_name, data_type::float64, true});
        }
    }
    if (!c.time_column.empty()) {
        const auto found = input->index_of(c.time_column);
        if (!found) {
            ctx.error("time",
                      "unknown-column",
                      fmt::format("time: unknown column '{}' (columns: {})",
                                  c.time_column,
                                  list_names(*input)));
        } else if (const auto type = input->at(*found).type;
                   type != data_type::timestamp_ms && type != data_type::int64) {
            ctx.error("time",
                      "wrong-type",
                      fmt::format("time column '{}' must be timestamp_ms or int64, found {}",
                                  c.time_column,
                                  to_string(type)));
        } else {
            s.time_column = found;
        }
    }
    if (ctx.failed()) {
        return nullptr;
    }
    s.input_schema = input;
    s.output_schema = make_schema(std::move(fields));
    return s.output_schema;
}

batch rolling_transform::process(const batch& input, operator_context& ctx) {
    auto& s = *impl_;
    if (!s.output_schema) {
        throw operator_error(ctx.type(), ctx.id(), "process() called before a successful bind()");
    }
    require_bound_schema(input.schema(), s.input_schema, ctx);
    const std::size_t rows = input.num_rows();
    const std::size_t width = s.value_columns.size();
    std::vector<std::shared_ptr<column>> outputs;  // mean, stddev, zscore per value column
    for (std::size_t i = 0; i < 3 * width; ++i) {
        auto out = std::make_shared<column>(data_type::float64);
        out->resize(rows);
        outputs.push_back(std::move(out));
    }
    const auto time_index = s.time_column ? s.time_column : input.event_time_column();
    const column* times = time_index ? &input.column_at(*time_index) : nullptr;
    const double floor = s.config.min_stddev;

    // Per value column, resolved once per batch (not per row): its input values and the three
    // output arrays.
    struct lane {
        const column* values;
        const double* f64;        // float64 input, else null
        const std::int64_t* i64;  // int64 input, else null
        column* mean_out;
        column* stddev_out;
        column* z_out;
        double* mean;
        double* stddev;
        double* z;
    };
    std::vector<lane> lanes(width);
    for (std::size_t j = 0; j < width; ++j) {
        const column& values = input.column_at(s.value_columns[j]);
        const bool is_float = values.type() == data_type::float64;
        lanes[j] = lane{&values,
                        is_float ? values.float64_values().data() : nullptr,
                        is_float ? nullptr : values.int64_values().data(),
                        outputs[3 * j].get(),
                        outputs[3 * j + 1].get(),
                        outputs[3 * j + 2].get(),
                        outputs[3 * j]->mutable_float64().data(),
                        outputs[3 * j + 1]->mutable_float64().data(),
                        outputs[3 * j + 2]->mutable_float64().data()};
    }
    const std::int64_t* time_values = times ? times->int64_values().data() : nullptr;
    const auto size = static_cast<std::uint32_t>(s.config.size);

    const auto evicted_before = s.evicted_capacity + s.evicted_ttl;
    for (std::size_t row = 0; row < rows; ++row) {
        s.encode_key(input, row);
        key_entry& entry = s.touch();
        // A record without an event time counts as arriving at the newest time seen so far.
        std::int64_t t = s.clock_ms;
        if (times && times->is_valid(row)) {
            t = time_values[row];
            s.clock_ms = std::max(s.clock_ms, t);
        }
        entry.newest_ms = std::max(entry.newest_ms, t);
        for (std::size_t j = 0; j < width; ++j) {
            history& h = entry.columns[j];
            const lane& l = lanes[j];
            const bool present = l.values->is_valid(row);
            const double x = !present           ? 0.0
                             : l.f64 != nullptr ? l.f64[row]
                                                : static_cast<double>(l.i64[row]);
            const auto n = static_cast<double>(h.count);
            if (h.count == 0) {
                l.mean_out->set_null(row);
            } else {
                l.mean[row] = h.shift + h.sum / n;
            }
            if (h.count < 2) {
                l.stddev_out->set_null(row);
                l.z_out->set_null(row);
            } else {
                double mean = h.shift + h.sum / n;
                double variance = (h.sumsq - h.sum * h.sum / n) / (n - 1.0);
                if (h.repeats >= h.count) {
                    // A flat history (a stuck sensor): exactly its value and no spread, where the
                    // running sums could leave a rounding residue that a z-score would blow up.
                    mean = entry.rings[j * size + impl::wrap(h.start + h.count - 1, size)];
                    variance = 0.0;
                    l.mean[row] = mean;
                }
                const double stddev = std::sqrt(std::max(0.0, variance));
                l.stddev[row] = stddev;
                const double denominator = std::max(stddev, floor);
                if (present && denominator > 0.0) {
                    l.z[row] = (x - mean) / denominator;
                } else {
                    l.z_out->set_null(row);
                }
            }
            if (present) {
                s.add(h, entry.rings.data() + j * size, x);
            }
        }
    }
    s.forget_silent_keys();
    // Once per batch (metric_set takes a mutex): keys held, and keys forgotten in this batch.
    ctx.metrics().extra.set("keys", static_cast<std::int64_t>(s.index.size()));
    ctx.metrics().extra.add(
            "keys_evicted",
            static_cast<std::int64_t>(s.evicted_capacity + s.evicted_ttl - evicted_before));

    std::vector<column_ptr> columns = input.columns();
    for (auto& out : outputs) {
        columns.push_back(std::move(out));
    }
    batch out(s.output_schema, std::move(columns));
    out.inherit_lineage(input);
    return out;
}

std::size_t rolling_transform::keys() const noexcept {
    return impl_->index.size();
}

std::uint64_t rolling_transform::evicted_for_capacity() const noexcept {
    return impl_->evicted_capacity;
}

std::uint64_t rolling_transform::evicted_for_ttl() const noexcept {
    return impl_->evicted_ttl;
}

void register_rolling_operators(operator_registry& registry) {
    registry.add_transform(
            std::string(rolling_transform::type_name),
            "per-key recent mean, standard deviation and z-score of numeric columns",
            rolling_transform::describe,
            [](const options& opts, build_context&) -> std::unique_ptr<transform> {
                return std::make_unique<rolling_transform>(rolling_transform::config_from(opts));
            });
}

}  // namespace sluice
