// The window operator against a reference implementation (plain loops over every record),
// on randomized streams: many keys, shuffled within a bound, late records, several input
// streams with an idle one, random batch sizes. Also: acknowledgement held until emission,
// processing time, finish(), config errors, and a whole YAML pipeline.
#include "support/sensor_readings.hpp"

#include <sluice/ops/window.hpp>
#include <sluice/sluice.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace sluice;

namespace {

// ---------------------------------------------------------------------------------------------
// Test input

struct record {
    std::int64_t id = 0;       // unique, in the order of arrival at the source side
    std::int64_t arrival = 0;  // the order in which the operator sees it (breaks event-time ties)
    std::string key;
    std::int64_t time = 0;
    bool has_value = true;
    double value = 0;  // a multiple of 0.25: every sum is exact in any order
    std::int64_t ivalue = 0;
    std::string tag;  // "r<id>": first/last are checked exactly
};

struct input_batch {
    std::uint32_t stream = 0;
    std::int64_t watermark = no_watermark;  // what the source says (or none)
    std::int64_t now = 0;                   // processing time when it arrives
    std::vector<record> rows;
};

schema_ptr input_schema() {
    static const schema_ptr s = make_schema({{"key", data_type::string, false},
                                             {"time", data_type::timestamp_ms, false},
                                             {"value", data_type::float64, true},
                                             {"ivalue", data_type::int64, false},
                                             {"tag", data_type::string, false},
                                             {"id", data_type::int64, false}});
    return s;
}

batch make_batch(const input_batch& in) {
    auto key = std::make_shared<column>(data_type::string);
    auto time = std::make_shared<column>(data_type::timestamp_ms);
    auto value = std::make_shared<column>(data_type::float64);
    auto ivalue = std::make_shared<column>(data_type::int64);
    auto tag = std::make_shared<column>(data_type::string);
    auto id = std::make_shared<column>(data_type::int64);
    for (const auto& r : in.rows) {
        key->push_string(r.key);
        time->push_int64(r.time);
        r.has_value ? value->push_float64(r.value) : value->push_null();
        ivalue->push_int64(r.ivalue);
        tag->push_string(r.tag);
        id->push_int64(r.id);
    }
    batch b(input_schema(), {key, time, value, ivalue, tag, id});
    b.set_event_time_column(1);
    b.set_watermark_ms(in.watermark);
    b.set_origin({in.stream, 0, 0});
    return b;
}

struct stream_params {
    window_kind kind = window_kind::tumbling;
    std::int64_t size = 1000;
    std::int64_t slide = 1000;
    std::int64_t gap = 0;
    std::int64_t lateness = 800;
    std::int64_t disorder = 500;  // records arrive up to this much behind the newest (mostly)
    std::int64_t idle_timeout = 60;
    std::size_t min_keys = 5;  // sessions need many keys, or every key's session never ends
};

// Generates records, shuffles them within `disorder`, makes a few very late, splits them over
// three streams (stream 2 falls silent early) and cuts random batches (some empty).
std::vector<input_batch> make_stream(std::mt19937_64& rng,
                                     const stream_params& p,
                                     std::size_t records,
                                     std::size_t keys) {
    std::vector<record> all;
    std::int64_t t = 1'767'225'600'000;
    for (std::size_t i = 0; i < records; ++i) {
        t += static_cast<std::int64_t>(rng() % 60);
        record r;
        r.key = "k" + std::to_string(rng() % keys);
        r.time = t;
        r.has_value = rng() % 20 != 0;
        r.value = static_cast<double>(static_cast<std::int64_t>(rng() % 400) - 200) * 0.25;
        r.ivalue = static_cast<std::int64_t>(rng() % 1000) - 500;
        all.push_back(r);
    }
    // Arrival = event time + delay: mostly within `disorder`, 4 % much later (late records).
    std::vector<std::pair<std::int64_t, std::size_t>> arrival;
    for (std::size_t i = 0; i < all.size(); ++i) {
        std::int64_t delay =
                static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(p.disorder + 1));
        if (rng() % 25 == 0) {
            delay += p.disorder + static_cast<std::int64_t>(rng() % 3000);
        }
        arrival.emplace_back(all[i].time + delay, i);
    }
    std::sort(arrival.begin(), arrival.end());
    std::vector<record> ordered;
    for (const auto& [at, i] : arrival) {
        ordered.push_back(all[i]);
        ordered.back().id = static_cast<std::int64_t>(ordered.size() - 1);
        ordered.back().tag = "r" + std::to_string(ordered.back().id);
    }
    // Streams: 0 and 1 share the records; stream 2 gets some of the first 5 % only.
    std::vector<std::vector<record>> per_stream(3);
    for (const auto& r : ordered) {
        const bool early = static_cast<std::size_t>(r.id) < records / 20;
        per_stream[early && rng() % 3 == 0 ? 2 : rng() % 2].push_back(r);
    }
    std::vector<input_batch> batches;
    std::size_t next[3] = {0, 0, 0};
    std::int64_t max_time[3] = {no_watermark, no_watermark, no_watermark};
    std::int64_t now = 0;
    while (next[0] < per_stream[0].size() || next[1] < per_stream[1].size() ||
           next[2] < per_stream[2].size()) {
        // Interleave by event time so that streams progress together.
        std::uint32_t s = 0;
        std::int64_t best = std::numeric_limits<std::int64_t>::max();
        for (std::uint32_t c = 0; c < 3; ++c) {
            if (next[c] < per_stream[c].size() && per_stream[c][next[c]].time < best) {
                best = per_stream[c][next[c]].time;
                s = c;
            }
        }
        input_batch b;
        b.stream = s;
        now += 1 + static_cast<std::int64_t>(rng() % 5);
        b.now = now;
        const std::size_t n = rng() % 8 == 0 ? 0 : 1 + rng() % 40;
        for (std::size_t i = 0; i < n && next[s] < per_stream[s].size(); ++i) {
            b.rows.push_back(per_stream[s][next[s]++]);
            max_time[s] = std::max(max_time[s], b.rows.back().time);
        }
        // Stream 1 carries no watermark (the operator derives it), the others do.
        if (s != 1 && max_time[s] != no_watermark) {
            b.watermark = max_time[s] - p.disorder;
        }
        batches.push_back(std::move(b));
    }
    std::int64_t arrival_number = 0;
    for (auto& b : batches) {
        for (auto& r : b.rows) {
            r.arrival = arrival_number++;
        }
    }
    return batches;
}

// ---------------------------------------------------------------------------------------------
// Reference implementation: plain loops, every window keeps its records.

struct ref_window {
    std::string key;
    std::int64_t start = 0;
    std::int64_t end = 0;
    std::vector<record> records;
    bool fired = false;
    bool dirty = false;
    std::set<std::size_t> pending_batches;  // input batches with records added since emission
};

struct result_row {
    std::string key;
    std::int64_t start = 0;
    std::int64_t end = 0;
    bool is_update = false;
    std::int64_t n = 0;
    std::int64_t values = 0;
    std::optional<double> sum, mean, stddev, lo, hi, p50, p95;
    std::optional<std::int64_t> ilo;
    std::string first, last;
};

const double alpha = 0.01;

result_row evaluate(const ref_window& w) {
    result_row r;
    r.key = w.key;
    r.start = w.start;
    r.end = w.end;
    r.is_update = w.fired;
    r.n = static_cast<std::int64_t>(w.records.size());
    std::vector<double> v;
    const record* first = nullptr;
    const record* last = nullptr;
    for (const auto& rec : w.records) {
        if (rec.has_value) {
            v.push_back(rec.value);
        }
        if (!r.ilo || rec.ivalue < *r.ilo) {
            r.ilo = rec.ivalue;
        }
        if (!first || rec.time < first->time ||
            (rec.time == first->time && rec.arrival < first->arrival)) {
            first = &rec;
        }
        if (!last || rec.time > last->time ||
            (rec.time == last->time && rec.arrival > last->arrival)) {
            last = &rec;
        }
    }
    r.first = first->tag;
    r.last = last->tag;
    r.values = static_cast<std::int64_t>(v.size());
    if (!v.empty()) {
        double sum = 0;
        long double lsum = 0;
        for (const double x : v) {
            sum += x;
            lsum += x;
        }
        r.sum = sum;
        const long double mean = lsum / static_cast<long double>(v.size());
        r.mean = static_cast<double>(mean);
        if (v.size() >= 2) {
            long double squares = 0;
            for (const double x : v) {
                squares += (x - mean) * (x - mean);
            }
            r.stddev = std::sqrt(
                    static_cast<double>(squares / static_cast<long double>(v.size() - 1)));
        }
        std::sort(v.begin(), v.end());
        r.lo = v.front();
        r.hi = v.back();
        r.p50 = v[static_cast<std::size_t>(std::floor(0.5 * static_cast<double>(v.size() - 1)))];
        r.p95 = v[static_cast<std::size_t>(std::floor(0.95 * static_cast<double>(v.size() - 1)))];
    }
    return r;
}

class reference {
public:
    explicit reference(const stream_params& p)
        : p_(p) {}

    // Processes one batch; returns the rows it emits, by window_id.
    std::map<std::string, result_row> process(const input_batch& b, std::size_t batch_index) {
        const std::int64_t before = watermark_;
        for (const auto& r : b.rows) {
            if (!add(r, before, batch_index)) {
                late_.insert(r.id);
            } else {
                assigned_.insert(r.id);
            }
        }
        update_watermark(b);
        std::map<std::string, result_row> out;
        for (auto& w : windows_) {
            if (watermark_ != no_watermark && w.end <= watermark_ && (!w.fired || w.dirty)) {
                emit(w, out);
            }
        }
        windows_.erase(std::remove_if(windows_.begin(),
                                      windows_.end(),
                                      [&](const ref_window& w) {
                                          if (watermark_ != no_watermark &&
                                              w.end + p_.lateness <= watermark_) {
                                              note_last_end(w);
                                              return true;
                                          }
                                          return false;
                                      }),
                       windows_.end());
        return out;
    }

    std::map<std::string, result_row> finish() {
        std::map<std::string, result_row> out;
        for (auto& w : windows_) {
            if (!w.fired || w.dirty) {
                emit(w, out);
            }
        }
        windows_.clear();
        return out;
    }

    // Input batches no open window waits for, whose last window is also closed for late
    // records (every output is accepted at once here, so the accepted watermark is the
    // watermark).
    bool releasable(std::size_t batch_index) const {
        const auto last = last_end_.find(batch_index);
        return std::none_of(windows_.begin(),
                            windows_.end(),
                            [&](const ref_window& w) {
                                return w.pending_batches.count(batch_index) != 0;
                            }) &&
               (last == last_end_.end() || last->second + p_.lateness <= watermark_);
    }

    const std::set<std::int64_t>& late() const { return late_; }
    const std::set<std::int64_t>& assigned() const { return assigned_; }

private:
    void emit(ref_window& w, std::map<std::string, result_row>& out) {
        out[w.key + "/" + std::to_string(w.start)] = evaluate(w);
        w.fired = true;
        w.dirty = false;
        note_last_end(w);
        w.pending_batches.clear();
    }

    void note_last_end(const ref_window& w) {
        for (const auto b : w.pending_batches) {
            auto [it, inserted] = last_end_.emplace(b, w.end);
            it->second = std::max(it->second, w.end);
        }
    }

    bool add(const record& r, std::int64_t before, std::size_t batch_index) {
        const auto closed = [&](std::int64_t end) {
            return before != no_watermark && end + p_.lateness <= before;
        };
        if (p_.kind == window_kind::session) {
            std::vector<std::size_t> hits;
            for (std::size_t i = 0; i < windows_.size(); ++i) {
                if (windows_[i].key == r.key && windows_[i].start < r.time + p_.gap &&
                    r.time < windows_[i].end) {
                    hits.push_back(i);
                }
            }
            if (hits.empty()) {
                if (closed(r.time + p_.gap)) {
                    return false;
                }
                windows_.push_back({r.key, r.time, r.time + p_.gap, {}, false, false, {}});
                hits.push_back(windows_.size() - 1);
            }
            ref_window merged = windows_[hits.front()];
            for (std::size_t h = 1; h < hits.size(); ++h) {
                const auto& other = windows_[hits[h]];
                merged.start = std::min(merged.start, other.start);
                merged.end = std::max(merged.end, other.end);
                merged.records.insert(
                        merged.records.end(), other.records.begin(), other.records.end());
                merged.fired = merged.fired || other.fired;
                merged.pending_batches.insert(other.pending_batches.begin(),
                                              other.pending_batches.end());
            }
            merged.start = std::min(merged.start, r.time);
            merged.end = std::max(merged.end, r.time + p_.gap);
            merged.records.push_back(r);
            merged.pending_batches.insert(batch_index);
            merged.dirty = merged.fired;
            for (std::size_t h = hits.size(); h-- > 0;) {
                windows_.erase(windows_.begin() + static_cast<std::ptrdiff_t>(hits[h]));
            }
            windows_.push_back(std::move(merged));
            return true;
        }
        bool accepted = false;
        const std::int64_t step = p_.kind == window_kind::hopping ? p_.slide : p_.size;
        const std::int64_t latest =
                (r.time >= 0 ? r.time / step : (r.time - step + 1) / step) * step;
        for (std::int64_t start = latest; start > r.time - p_.size; start -= step) {
            if (closed(start + p_.size)) {
                continue;
            }
            auto it = std::find_if(windows_.begin(), windows_.end(), [&](const ref_window& w) {
                return w.key == r.key && w.start == start;
            });
            if (it == windows_.end()) {
                windows_.push_back({r.key, start, start + p_.size, {}, false, false, {}});
                it = windows_.end() - 1;
            }
            it->records.push_back(r);
            it->pending_batches.insert(batch_index);
            it->dirty = it->fired;
            accepted = true;
        }
        return accepted;
    }

    void update_watermark(const input_batch& b) {
        auto& s = streams_[b.stream];
        s.last_seen = b.now;
        for (const auto& r : b.rows) {
            s.max_time = std::max(s.max_time, r.time);
        }
        std::int64_t own = b.watermark;
        if (own == no_watermark && s.max_time != no_watermark) {
            own = s.max_time - p_.disorder;
        }
        s.watermark = std::max(s.watermark, own);
        std::int64_t combined = std::numeric_limits<std::int64_t>::max();
        bool any = false;
        for (const auto& [id, st] : streams_) {
            if (b.now - st.last_seen > p_.idle_timeout) {
                continue;
            }
            if (st.watermark == no_watermark) {
                return;
            }
            combined = std::min(combined, st.watermark);
            any = true;
        }
        if (any) {
            watermark_ = std::max(watermark_, combined);
        }
    }

    struct stream_state {
        std::int64_t watermark = no_watermark;
        std::int64_t max_time = no_watermark;
        std::int64_t last_seen = 0;
    };

    stream_params p_;
    std::vector<ref_window> windows_;
    std::map<std::uint32_t, stream_state> streams_;
    std::int64_t watermark_ = no_watermark;
    std::set<std::int64_t> late_;
    std::set<std::int64_t> assigned_;  // records added to at least one window
    std::map<std::size_t, std::int64_t>
            last_end_;  // batch -> largest end of a window emitted with it
};

// ---------------------------------------------------------------------------------------------
// Running the operator

class capturing_dead_letter final : public dead_letter_writer {
public:
    void write(const dead_letter_record& r) override {
        std::lock_guard lock(mutex);
        reasons.emplace_back(r.reason);
        payloads.emplace_back(r.payload);
        json.push_back(r.payload_is_json);
    }
    std::mutex mutex;
    std::vector<std::string> reasons;
    std::vector<std::string> payloads;
    std::vector<bool> json;
};

std::int64_t id_of_payload(const std::string& payload) {
    const auto at = payload.rfind("\"id\":");
    REQUIRE(at != std::string::npos);
    return std::stoll(payload.substr(at + 5));
}

window_config make_config(const stream_params& p, std::int64_t* clock) {
    window_config c;
    c.key = {"key"};
    c.time_column = "time";
    c.max_out_of_orderness = std::chrono::milliseconds(p.disorder);
    c.idle_timeout = std::chrono::milliseconds(p.idle_timeout);
    c.kind = p.kind;
    c.size = std::chrono::milliseconds(p.size);
    c.slide = std::chrono::milliseconds(p.slide);
    c.gap = std::chrono::milliseconds(p.gap);
    c.allowed_lateness = std::chrono::milliseconds(p.lateness);
    const auto agg = [](std::string name, aggregate_function f, std::string col, double q = 0.5) {
        aggregate_spec s;
        s.name = std::move(name);
        s.function = f;
        s.column = std::move(col);
        s.q = q;
        s.relative_error = alpha;
        return s;
    };
    c.aggregates = {agg("n", aggregate_function::count, "*"),
                    agg("values", aggregate_function::count, "value"),
                    agg("sum", aggregate_function::sum, "value"),
                    agg("mean", aggregate_function::mean, "value"),
                    agg("sd", aggregate_function::stddev, "value"),
                    agg("lo", aggregate_function::min, "value"),
                    agg("hi", aggregate_function::max, "value"),
                    agg("ilo", aggregate_function::min, "ivalue"),
                    agg("first", aggregate_function::first, "tag"),
                    agg("last", aggregate_function::last, "tag"),
                    agg("p50", aggregate_function::quantile, "value", 0.5),
                    agg("p95", aggregate_function::quantile, "value", 0.95)};
    c.clock = [clock] {
        return *clock;
    };
    return c;
}

std::optional<double> float_at(const batch& b, const std::string& name, std::size_t row) {
    const column* c = b.find_column(name);
    REQUIRE(c != nullptr);
    if (!c->is_valid(row)) {
        return std::nullopt;
    }
    return c->float64_values()[row];
}

// |got - want| <= tolerance * max(|want|, floor); floor > 0 turns the relative bound into an
// absolute one near zero (a mean of exactly 0 may come out as 1e-17).
void check_close(const std::optional<double>& got,
                 const std::optional<double>& want,
                 double tolerance,
                 const char* what,
                 double floor = 1e-300) {
    INFO(what);
    REQUIRE(got.has_value() == want.has_value());
    if (want) {
        INFO("got " << *got << " want " << *want);
        CHECK(std::fabs(*got - *want) <= tolerance * std::max(std::fabs(*want), floor));
    }
}

// Compares one output batch with the reference's rows for the same step.
void compare(const batch& out, const std::map<std::string, result_row>& expected) {
    REQUIRE(out.num_rows() == expected.size());
    const column& ids = *out.find_column("window_id");
    for (std::size_t row = 0; row < out.num_rows(); ++row) {
        const std::string id(ids.string_at(row));
        INFO("window " << id);
        const auto it = expected.find(id);
        REQUIRE(it != expected.end());
        const result_row& want = it->second;
        CHECK(out.find_column("key")->string_at(row) == want.key);
        CHECK(out.find_column("window_start")->int64_values()[row] == want.start);
        CHECK(out.find_column("window_end")->int64_values()[row] == want.end);
        CHECK((out.find_column("is_update")->bool_values()[row] != 0) == want.is_update);
        CHECK(out.find_column("n")->int64_values()[row] == want.n);
        CHECK(out.find_column("values")->int64_values()[row] == want.values);
        // Exact: sums of multiples of 0.25 are exact in any order; min/max/first/last are picks.
        check_close(float_at(out, "sum", row), want.sum, 0.0, "sum");
        check_close(float_at(out, "lo", row), want.lo, 0.0, "min");
        check_close(float_at(out, "hi", row), want.hi, 0.0, "max");
        CHECK(out.find_column("ilo")->int64_values()[row] == *want.ilo);
        CHECK(out.find_column("first")->string_at(row) == want.first);
        CHECK(out.find_column("last")->string_at(row) == want.last);
        check_close(float_at(out, "mean", row), want.mean, 1e-9, "mean", 1.0);
        check_close(float_at(out, "sd", row), want.stddev, 1e-9, "stddev", 1.0);
        check_close(float_at(out, "p50", row), want.p50, alpha * (1 + 1e-12), "p50");
        check_close(float_at(out, "p95", row), want.p95, alpha * (1 + 1e-12), "p95");
    }
}

// A random seed, or WINDOW_TEST_SEED to replay a printed one.
std::uint64_t test_seed() {
    if (const char* fixed = std::getenv("WINDOW_TEST_SEED")) {
        return std::stoull(fixed);
    }
    return std::random_device{}();
}

void run_randomized(const stream_params& p, const char* label) {
    const auto seed = test_seed();
    std::cout << label << " seed " << seed << "\n";
    INFO(label << " seed " << seed);
    std::mt19937_64 rng(seed);
    const std::size_t keys = p.min_keys + rng() % 60;
    const auto batches = make_stream(rng, p, 3000 + rng() % 3000, keys);

    std::int64_t clock = 0;
    window_transform op(make_config(p, &clock));
    diagnostics_collector problems;
    bind_context bctx(
            "window", "w", [](std::string_view) { return source_location{}; }, &problems);
    REQUIRE(op.bind(input_schema(), bctx) != nullptr);
    capturing_dead_letter dead;
    operator_context ctx("window", "w", nullptr, &dead, nullptr);

    reference ref(p);
    std::set<std::size_t> released;  // input batches whose ack token was released
    std::mutex released_mutex;
    std::size_t total_records = 0;
    std::int64_t emitted_rows = 0;
    std::map<std::string, std::int64_t> final_counts;  // window_id -> count(*) of its last emission
    const auto record_rows = [&](const batch& out) {
        for (std::size_t row = 0; row < out.num_rows(); ++row) {
            final_counts[std::string(out.find_column("window_id")->string_at(row))] =
                    out.find_column("n")->int64_values()[row];
        }
    };
    for (std::size_t i = 0; i < batches.size(); ++i) {
        const auto& in = batches[i];
        total_records += in.rows.size();
        clock = in.now;
        batch b = make_batch(in);
        if (!in.rows.empty()) {
            b.add_ack(std::make_shared<ack_token>(
                    std::vector<source_position>{{static_cast<std::int32_t>(in.stream),
                                                  in.rows.front().id,
                                                  in.rows.back().id}},
                    [&released, &released_mutex, i](const std::vector<source_position>&,
                                                    bool delivered) {
                        CHECK(delivered);
                        std::lock_guard lock(released_mutex);
                        released.insert(i);
                    }));
        }
        const auto expected = ref.process(in, i);
        {
            const batch out = op.process(b, ctx);
            b = batch();  // the source side lets go of the input
            INFO("batch " << i);
            compare(out, expected);
            emitted_rows += static_cast<std::int64_t>(out.num_rows());
            record_rows(out);
            CHECK(out.origin().stream == in.stream);
        }  // the output is dropped: a synchronous sink accepted it
        // Acknowledged exactly when no open window waits for the batch any more.
        for (std::size_t j = 0; j <= i; ++j) {
            if (batches[j].rows.empty()) {
                continue;
            }
            INFO("ack of batch " << j << " after batch " << i);
            std::lock_guard lock(released_mutex);
            CHECK((released.count(j) != 0) == ref.releasable(j));
        }
    }
    {
        const auto expected = ref.finish();
        auto out = op.finish(ctx);
        REQUIRE(out.has_value());
        compare(*out, expected);
        record_rows(*out);
    }
    CHECK(op.open_windows() == 0);
    CHECK(op.held_batches() == 0);
    for (std::size_t j = 0; j < batches.size(); ++j) {
        if (!batches[j].rows.empty()) {
            CHECK(released.count(j) == 1);
        }
    }
    // Late records: exactly the reference's, each dead-lettered once with a "late" reason.
    std::set<std::int64_t> dead_ids;
    for (std::size_t k = 0; k < dead.payloads.size(); ++k) {
        CHECK(dead.reasons[k].rfind("late: event time ", 0) == 0);
        CHECK(dead.json[k]);
        CHECK(dead_ids.insert(id_of_payload(dead.payloads[k])).second);
    }
    CHECK(dead_ids == ref.late());
    CHECK(ctx.metrics().rejected.load() == ref.late().size());
    std::cout << label << ": " << total_records << " records, " << keys << " keys, "
              << batches.size() << " batches, " << ref.late().size() << " late, " << emitted_rows
              << " rows emitted\n";
    // Nothing disappears: every record is in a window or dead-lettered, never both.
    for (const auto id : ref.late()) {
        CHECK(ref.assigned().count(id) == 0);
    }
    CHECK(ref.assigned().size() + ref.late().size() == total_records);
    // Tumbling: the operator's last row per window_id counts every record that was not late.
    // (A session's id changes when a late record moves its start, so sessions rely on the
    // row-by-row comparison with the reference above.)
    if (p.kind == window_kind::tumbling) {
        std::int64_t counted = 0;
        for (const auto& [id, n] : final_counts) {
            counted += n;
        }
        CHECK(counted + static_cast<std::int64_t>(ref.late().size()) ==
              static_cast<std::int64_t>(total_records));
    }
    CHECK(!ref.late().empty());
}

}  // namespace

TEST_CASE("tumbling windows match the reference on randomized streams", "[window]") {
    stream_params p;
    p.kind = window_kind::tumbling;
    p.size = 1000;
    p.slide = 1000;
    for (int round = 0; round < 3; ++round) {
        run_randomized(p, "tumbling");
    }
}

TEST_CASE("hopping windows match the reference on randomized streams", "[window]") {
    stream_params p;
    p.kind = window_kind::hopping;
    p.size = 1000;
    p.slide = 250;
    for (int round = 0; round < 2; ++round) {
        run_randomized(p, "hopping");
    }
    p.size = 900;  // a slide that does not divide the size
    p.slide = 400;
    run_randomized(p, "hopping uneven");
}

TEST_CASE("session windows match the reference on randomized streams", "[window]") {
    stream_params p;
    p.kind = window_kind::session;
    p.gap = 1200;
    p.min_keys = 50;  // a key's records are then ~1.5 s apart on average: sessions open and close
    for (int round = 0; round < 3; ++round) {
        run_randomized(p, "session");
    }
}

namespace {

// A small fixture: one key column, a time column and a value, fed batch by batch.
schema_ptr small_schema() {
    return testing::readings_schema();
}

batch small_batch(const std::vector<std::tuple<std::string, std::int64_t, double>>& rows,
                  std::int64_t watermark) {
    return testing::readings_batch(rows, watermark);
}

window_config small_config() {
    window_config c;
    c.key = {"sensor_id"};
    c.time_column = "timestamp";
    c.kind = window_kind::tumbling;
    c.size = std::chrono::milliseconds(1000);
    aggregate_spec mean;
    mean.name = "temperature_mean";
    mean.function = aggregate_function::mean;
    mean.column = "temperature";
    aggregate_spec readings;
    readings.name = "readings";
    readings.function = aggregate_function::count;
    readings.column = "*";
    c.aggregates = {mean, readings};
    return c;
}

std::unique_ptr<window_transform> bound(window_config c) {
    auto op = std::make_unique<window_transform>(std::move(c));
    diagnostics_collector problems;
    bind_context bctx(
            "window", "w", [](std::string_view) { return source_location{}; }, &problems);
    REQUIRE(op->bind(small_schema(), bctx) != nullptr);
    return op;
}

struct ack_probe {
    std::shared_ptr<std::vector<int>> released = std::make_shared<std::vector<int>>();
    std::shared_ptr<std::vector<int>> failed = std::make_shared<std::vector<int>>();
    ack_ref make(int id) {
        auto list = released;
        auto lost = failed;
        return std::make_shared<ack_token>(
                std::vector<source_position>{{0, id, id}},
                [list, lost, id](const std::vector<source_position>&, bool delivered) {
                    (delivered ? list : lost)->push_back(id);
                });
    }
};

// The input acknowledgements an output carries (each output also carries the window's own
// delivery token, which has no positions).
std::vector<ack_ref> source_acks(const batch& b) {
    std::vector<ack_ref> acks;
    std::copy_if(b.acks().begin(), b.acks().end(), std::back_inserter(acks), [](const ack_ref& a) {
        return !a->positions().empty();
    });
    return acks;
}

}  // namespace

TEST_CASE("window fires once per key when the watermark passes its end", "[window]") {
    auto op = bound(small_config());
    operator_context ctx("window", "w", nullptr, nullptr, nullptr);
    auto out = op->process(small_batch({{"a", 100, 20.0}, {"b", 200, 10.0}, {"a", 900, 22.0}}, 500),
                           ctx);
    CHECK(out.num_rows() == 0);
    CHECK(op->open_windows() == 2);
    out = op->process(small_batch({{"a", 1100, 30.0}}, 1000), ctx);
    REQUIRE(out.num_rows() == 2);
    CHECK(out.schema()->to_string() ==
          "{sensor_id: string, window_start: timestamp_ms, window_end: timestamp_ms, "
          "temperature_mean: float64, "
          "readings: int64, window_id: string, is_update: bool}");
    CHECK(out.column_at(0).string_at(0) == "a");
    CHECK(out.column_at(3).float64_values()[0] == 21.0);
    CHECK(out.column_at(4).int64_values()[0] == 2);
    CHECK(out.column_at(5).string_at(0) == "a/0");
    CHECK(out.column_at(5).string_at(1) == "b/0");
    CHECK(out.event_time_column() == std::optional<std::size_t>(2));
    CHECK(out.watermark_ms() == 1000);
    CHECK(op->open_windows() == 1);  // closed windows are freed (no allowed lateness)
    // Nothing fires twice.
    CHECK(op->process(small_batch({}, 1000), ctx).num_rows() == 0);
}

TEST_CASE(
        "window holds acknowledgements until the windows covering a batch are emitted and accepted",
        "[window][ack]") {
    auto op = bound(small_config());
    operator_context ctx("window", "w", nullptr, nullptr, nullptr);
    ack_probe probe;
    // Batch 1 covers windows [0,1000) and [1000,2000); batch 2 covers [1000,2000) only.
    batch b1 = small_batch({{"a", 500, 1.0}, {"a", 1500, 2.0}}, 0);
    b1.add_ack(probe.make(1));
    batch b2 = small_batch({{"a", 1600, 3.0}}, 0);
    b2.add_ack(probe.make(2));
    auto f1 = std::make_shared<flight_slot>([] {});
    std::weak_ptr<flight_slot> watch_flight = f1;
    b1.set_flight(f1);
    f1.reset();
    {
        const auto out = op->process(b1, ctx);
        b1 = batch();
        CHECK(out.num_rows() == 0);
        CHECK(source_acks(out).empty());
    }
    CHECK(watch_flight.expired());  // the flight slot is not held by open windows
    CHECK(source_acks(op->process(b2, ctx)).empty());
    b2 = batch();
    CHECK(probe.released->empty());
    CHECK(op->held_batches() == 2);

    // The watermark passes 1000: window [0,1000) is emitted with batch 1's ack.
    batch out1 = op->process(small_batch({}, 1000), ctx);
    REQUIRE(out1.num_rows() == 1);
    REQUIRE(source_acks(out1).size() == 1);
    CHECK(source_acks(out1)[0]->positions()[0].first == 1);
    // Batch 1 still has records in [1000,2000): its ack must wait for that emission too.
    batch out2 = op->process(small_batch({}, 2000), ctx);
    REQUIRE(out2.num_rows() == 1);
    CHECK(source_acks(out2).size() == 2);
    CHECK(op->held_batches() == 0);
    CHECK(op->parked_batches() == 2);
    // Downstream has not accepted out1 yet: nothing is acknowledged, not even batch 2 whose
    // only window went out with out2 (outputs count as accepted in order only).
    CHECK(probe.released->empty());
    out2 = batch();
    CHECK(probe.released->empty());
    out1 = batch();
    std::sort(probe.released->begin(), probe.released->end());
    CHECK(*probe.released == std::vector<int>{1, 2});
    CHECK(op->parked_batches() == 0);
    CHECK(ctx.resume()->value("w") == std::optional<std::int64_t>(2000));
}

TEST_CASE(
        "late records within the allowed lateness re-fire the window, later ones are dead-lettered",
        "[window]") {
    auto c = small_config();
    c.allowed_lateness = std::chrono::milliseconds(500);
    auto op = bound(c);
    capturing_dead_letter dead;
    operator_context ctx("window", "w", nullptr, &dead, nullptr);
    auto out = op->process(small_batch({{"a", 100, 10.0}}, 1000), ctx);
    REQUIRE(out.num_rows() == 1);
    CHECK(out.find_column("is_update")->bool_values()[0] == 0);
    // Watermark 1000 < end 1000 + lateness 500: the window is corrected and fired again.
    out = op->process(small_batch({{"a", 200, 20.0}}, 1400), ctx);
    REQUIRE(out.num_rows() == 1);
    CHECK(out.find_column("is_update")->bool_values()[0] == 1);
    CHECK(out.find_column("temperature_mean")->float64_values()[0] == 15.0);
    CHECK(out.find_column("window_id")->string_at(0) == "a/0");
    out = op->process(small_batch({}, 1500), ctx);
    CHECK(op->open_windows() == 0);
    // Now it is too late.
    out = op->process(small_batch({{"a", 300, 30.0}, {"b", -1, 1.0}}, 1500), ctx);
    CHECK(out.num_rows() == 0);
    REQUIRE(dead.reasons.size() == 2);
    CHECK(dead.reasons[0] ==
          "late: event time 1970-01-01T00:00:00.300Z is behind the watermark "
          "1970-01-01T00:00:01.500Z by 1200ms "
          "(allowed lateness 500ms)");
    CHECK(dead.payloads[0] == R"({"sensor_id":"a","timestamp":300,"temperature":30.0})");
    CHECK(dead.reasons[1] == "missing event time in column 'timestamp'");
    CHECK(ctx.metrics().rejected.load() == 2);
}

TEST_CASE("an idle input stream stops holding the watermark after idle_timeout", "[window]") {
    auto c = small_config();
    c.idle_timeout = std::chrono::milliseconds(30'000);
    std::int64_t now = 0;
    c.clock = [&now] {
        return now;
    };
    auto op = bound(c);
    operator_context ctx("window", "w", nullptr, nullptr, nullptr);
    auto on = [](batch b, std::uint32_t stream) {
        b.set_origin({stream, 0, 0});
        return b;
    };
    CHECK(op->process(on(small_batch({{"a", 100, 1.0}}, 200), 0), ctx).num_rows() == 0);
    now = 1000;
    CHECK(op->process(on(small_batch({{"a", 5000, 1.0}}, 5000), 1), ctx).num_rows() == 0);
    CHECK(op->watermark_ms() == 200);  // stream 0 holds it
    now = 31'001;
    const auto out = op->process(on(small_batch({}, 5000), 1), ctx);
    CHECK(op->watermark_ms() == 5000);  // stream 0 silent for 31 s > 30 s
    CHECK(out.num_rows() == 1);
}

TEST_CASE("processing-time windows use the clock and fire as it passes their end", "[window]") {
    auto c = small_config();
    c.processing_time = true;
    c.time_column.clear();
    std::int64_t now = 10'100;
    c.clock = [&now] {
        return now;
    };
    auto op = bound(c);
    operator_context ctx("window", "w", nullptr, nullptr, nullptr);
    // The timestamp column is ignored (even a missing value).
    CHECK(op->process(small_batch({{"a", -1, 1.0}, {"a", 5, 3.0}}, no_watermark), ctx).num_rows() ==
          0);
    now = 10'900;
    CHECK(op->process(small_batch({{"a", 5, 5.0}}, no_watermark), ctx).num_rows() == 0);
    now = 11'000;
    const auto out = op->process(small_batch({}, no_watermark), ctx);
    REQUIRE(out.num_rows() == 1);
    CHECK(out.find_column("window_start")->int64_values()[0] == 10'000);
    CHECK(out.find_column("readings")->int64_values()[0] == 3);
    CHECK(out.find_column("temperature_mean")->float64_values()[0] == 3.0);
}

TEST_CASE("finish emits every open window with the acknowledgements still held", "[window][ack]") {
    auto c = small_config();
    c.key.clear();  // one global group
    auto op = bound(c);
    operator_context ctx("window", "w", nullptr, nullptr, nullptr);
    ack_probe probe;
    batch b = small_batch({{"a", 100, 1.0}, {"b", 1100, 2.0}, {"c", 2100, 3.0}}, 1000);
    b.add_ack(probe.make(7));
    auto out = op->process(b, ctx);
    b = batch();
    REQUIRE(out.num_rows() == 1);
    CHECK(out.find_column("window_id")->string_at(0) == "0");
    CHECK(out.schema()->fields().front().name == "window_start");
    out = batch();
    CHECK(probe.released->empty());
    auto flushed = op->finish(ctx);
    REQUIRE(flushed);
    CHECK(flushed->num_rows() == 2);
    CHECK(source_acks(*flushed).size() == 1);
    CHECK(op->open_windows() == 0);
    flushed.reset();
    CHECK(*probe.released == std::vector<int>{7});
}

TEST_CASE("window ids escape key values so that different keys never share an id", "[window]") {
    auto c = small_config();
    auto op = bound(c);
    operator_context ctx("window", "w", nullptr, nullptr, nullptr);
    const auto out = op->process(
            small_batch({{"a/b", 1, 1.0}, {"a%2Fb", 2, 1.0}, {"~", 3, 1.0}}, 1000), ctx);
    REQUIRE(out.num_rows() == 3);
    std::set<std::string> ids;
    for (std::size_t r = 0; r < 3; ++r) {
        ids.insert(std::string(out.find_column("window_id")->string_at(r)));
    }
    CHECK(ids == std::set<std::string>{"a%2Fb/0", "a%252Fb/0", "%7E/0"});
}

TEST_CASE("window config problems are reported with their keys, and bind errors name the column",
          "[window][config]") {
    register_builtin_operators();
    const auto* d = operator_registry::global().find(operator_role::transform, "window");
    REQUIRE(d != nullptr);
    const auto problems = [&](std::vector<std::pair<std::string, std::string>> values) {
        try {
            options::from_values(d->spec, "window", "per_minute", values);
        } catch (const config_error& e) {
            std::vector<std::string> out;
            for (const auto& x : e.diagnostics()) {
                out.push_back(x.code + ": " + x.message);
            }
            return out;
        }
        return std::vector<std::string>{};
    };
    const std::pair<std::string, std::string> time{"time", "{column: timestamp}"};
    const std::pair<std::string, std::string> aggs{"aggregates", "{m: {mean: temperature}}"};
    CHECK(problems({time, aggs, {"window", "{kind: hopping, size: 60s, slide: 90s}"}}) ==
          std::vector<std::string>{
                  "cross-field: window 'per_minute': 'slide' (90s) must not exceed 'size' (60s)"});
    CHECK(problems({time, aggs, {"window", "{kind: tumbling, size: 1m, gap: 5s}"}}) ==
          std::vector<std::string>{"cross-field: window 'per_minute': 'gap' does not apply to "
                                   "tumbling windows (only session windows "
                                   "have a gap)"});
    CHECK(problems({time, aggs, {"window", "{kind: session}"}}) ==
          std::vector<std::string>{
                  "missing-field: window 'per_minute': session windows require 'window.gap'"});
    CHECK(problems({time,
                    {"window", "{kind: tumbling, size: 1m}"},
                    {"aggregates", "{p: {quantile: t, q: 1.5}}"}}) ==
          std::vector<std::string>{"out-of-range: window 'per_minute': aggregate 'p': 'q' must be "
                                   "between 0 and 1 (exclusive), got 1.5"});
    CHECK(problems({time,
                    {"window", "{kind: tumbling, size: 1m}"},
                    {"aggregates", "{p: {mean: t, max: t}}"}}) ==
          std::vector<std::string>{"cross-field: window 'per_minute': aggregate 'p' has 2 "
                                   "functions (mean, max); give exactly one"});
    CHECK(problems({{"time", "{processing: true}"}, {"window", "{kind: tumbling, size: 1m}"}, aggs})
                  .empty());
    CHECK(problems({{"time", "{}"}, {"window", "{kind: tumbling, size: 1m}"}, aggs}) ==
          std::vector<std::string>{"missing-field: window 'per_minute': time: requires 'column' "
                                   "(event time) or 'processing: true'"});

    // Bind: unknown columns get a suggestion; numeric aggregates need numbers.
    auto opts =
            options::from_values(d->spec,
                                 "window",
                                 "w",
                                 {{"key", "[sensor]"},
                                  time,
                                  {"window", "{kind: tumbling, size: 1m}"},
                                  {"aggregates", "{m: {mean: sensor_id}, x: {max: temprature}}"}});
    auto op = std::make_unique<window_transform>(window_transform::config_from(opts));
    diagnostics_collector out;
    bind_context bctx(
            "window",
            "w",
            [](std::string_view key) {
                return source_location{std::string(key), 1, 1};
            },
            &out);
    CHECK(op->bind(small_schema(), bctx) == nullptr);
    REQUIRE(out.items().size() == 3);
    CHECK(out.items()[0].where.file == "key");
    CHECK(out.items()[0].message ==
          "window 'w': key: unknown column 'sensor'; did you mean 'sensor_id'?");
    CHECK(out.items()[1].where.file == "aggregates.m.mean");
    CHECK(out.items()[1].message ==
          "window 'w': aggregate 'm': mean needs a numeric column, but 'sensor_id' is string");
    CHECK(out.items()[2].message ==
          "window 'w': aggregate 'x': unknown column 'temprature'; did you mean 'temperature'?");
}

namespace {

// Keeps every batch it is given (a synchronous sink: accepted when consume returns).
class batch_collector final : public sink {
public:
    explicit batch_collector(std::vector<batch>* into)
        : into_(into) {}
    void bind(const schema_ptr&, bind_context&) override {}
    void consume(const batch& input, operator_context&) override {
        batch copy(input.schema(), input.columns());  // no lineage: acks go when consume returns
        into_->push_back(std::move(copy));
    }

private:
    std::vector<batch>* into_;
};

std::vector<batch>& collected() {
    static std::vector<batch> batches;
    return batches;
}

}  // namespace

TEST_CASE("a YAML pipeline generator -> window -> sink aggregates every reading",
          "[window][pipeline]") {
    register_builtin_operators();
    auto& registry = operator_registry::global();
    if (registry.find(operator_role::sink, "window_test_collector") == nullptr) {
        registry.add_sink(
                "window_test_collector",
                "test sink keeping batches in memory",
                [](option_spec&) {},
                [](const options&, build_context&) -> std::unique_ptr<sink> {
                    return std::make_unique<batch_collector>(&collected());
                });
    }
    collected().clear();
    const std::string yaml = R"(name: window_e2e
sources:
  sensors: {type: generator, count: 6000, sensors: 20, interval: 1s, emit: columns, out_of_order: 0.05, max_delay: 3s, batch: {max_records: 128}}
transforms:
  per_sensor_minute:
    type: window
    inputs: [sensors]
    key: [sensor_id]
    time: {column: timestamp, max_out_of_orderness: 5s, idle_timeout: 30s}
    window: {kind: tumbling, size: 60s, allowed_lateness: 10s}
    aggregates:
      temperature_mean: {mean: temperature}
      temperature_p95: {quantile: temperature, q: 0.95}
      readings: {count: "*"}
      lo: {min: temperature}
      hi: {max: temperature}
sinks:
  out: {type: window_test_collector, inputs: [per_sensor_minute]}
)";
    auto p = load_pipeline_from_string(yaml, "window_e2e.yaml");
    const auto summary = p->run();
    CHECK(summary.records_read == 6000);
    CHECK(summary.records_rejected == 0);  // the generator's delays stay within its watermark
    std::set<std::string> ids;
    std::int64_t readings = 0;
    std::size_t rows = 0;
    for (const auto& b : collected()) {
        for (std::size_t r = 0; r < b.num_rows(); ++r) {
            ++rows;
            readings += b.find_column("readings")->int64_values()[r];
            CHECK(b.find_column("is_update")->bool_values()[r] == 0);
            CHECK(ids.insert(std::string(b.find_column("window_id")->string_at(r))).second);
            const double mean = b.find_column("temperature_mean")->float64_values()[r];
            const double p95 = b.find_column("temperature_p95")->float64_values()[r];
            const double lo = b.find_column("lo")->float64_values()[r];
            const double hi = b.find_column("hi")->float64_values()[r];
            CHECK(lo <= mean);
            CHECK(mean <= hi);
            CHECK(p95 >= lo - 0.01 * std::fabs(lo));
            CHECK(p95 <= hi + 0.01 * std::fabs(hi));
        }
    }
    // 6000 readings of 20 sensors every second: about 5 minutes × 20 sensors (dropouts may
    // push some readings into a sixth minute); each window once, every reading counted once.
    CHECK(ids.size() >= 100);
    CHECK(rows == ids.size());
    CHECK(readings == 6000);
    CHECK(ids.count("sensor-0001/1767225600000") == 1);
    collected().clear();
}

TEST_CASE("the accepted watermark advances only over outputs accepted without a gap",
          "[window][ack]") {
    auto op = bound(small_config());
    operator_context ctx("window", "w", nullptr, nullptr, nullptr);
    ack_probe probe;
    batch in = small_batch({{"a", 100, 1.0}, {"a", 1100, 2.0}, {"a", 2100, 3.0}}, 0);
    in.add_ack(probe.make(1));
    batch o0 = op->process(in, ctx);
    in = batch();
    batch o1 = op->process(small_batch({}, 1000), ctx);
    batch o2 = op->process(small_batch({}, 2000), ctx);
    batch o3 = op->process(small_batch({}, 3000), ctx);
    CHECK(o1.num_rows() == 1);
    CHECK(o2.num_rows() == 1);
    CHECK(o3.num_rows() == 1);
    CHECK(op->parked_batches() == 1);
    // Accepted out of order: 2 first, then 0, then 3, then 1.
    o2 = batch();
    CHECK_FALSE(ctx.resume()->value("w"));
    o0 = batch();
    CHECK(ctx.resume()->value("w") == std::optional<std::int64_t>(0));
    o3 = batch();
    CHECK(ctx.resume()->value("w") == std::optional<std::int64_t>(0));
    CHECK(probe.released->empty());
    o1 = batch();
    CHECK(ctx.resume()->value("w") == std::optional<std::int64_t>(3000));
    CHECK(*probe.released == std::vector<int>{1});
    CHECK(probe.failed->empty());
}

TEST_CASE(
        "an output a sink could not deliver stops the accepted watermark and fails the waiting "
        "acknowledgements",
        "[window][ack]") {
    auto op = bound(small_config());
    operator_context ctx("window", "w", nullptr, nullptr, nullptr);
    ack_probe probe;
    batch in = small_batch({{"a", 100, 1.0}, {"a", 1100, 2.0}}, 0);
    in.add_ack(probe.make(1));
    op->process(in, ctx);
    in = batch();
    batch o1 = op->process(small_batch({}, 1000), ctx);
    batch o2 = op->process(small_batch({}, 2000), ctx);
    REQUIRE(o1.num_rows() == 1);
    for (const auto& a : o1.acks()) {
        a->fail("the sink is down");
    }
    o2 = batch();
    CHECK(ctx.resume()->value("w") == std::optional<std::int64_t>(0));
    o1 = batch();
    CHECK(ctx.resume()->value("w") == std::optional<std::int64_t>(0));
    CHECK(probe.released->empty());
    CHECK(*probe.failed == std::vector<int>{1});
}

TEST_CASE(
        "acknowledgements wait until the accepted watermark passes their last window plus the "
        "allowed lateness",
        "[window][ack]") {
    auto c = small_config();
    c.allowed_lateness = std::chrono::milliseconds(500);
    auto op = bound(c);
    operator_context ctx("window", "w", nullptr, nullptr, nullptr);
    ack_probe probe;
    batch in = small_batch({{"a", 100, 1.0}}, 0);
    in.add_ack(probe.make(1));
    op->process(in, ctx);
    in = batch();
    batch fired = op->process(small_batch({}, 1000), ctx);
    REQUIRE(fired.num_rows() == 1);
    fired = batch();
    // Accepted, but a late record may still change window [0,1000) until the watermark 1500.
    CHECK(ctx.resume()->value("w") == std::optional<std::int64_t>(500));
    CHECK(probe.released->empty());
    CHECK(op->parked_batches() == 1);
    batch late = small_batch({{"a", 200, 3.0}}, 1200);
    late.add_ack(probe.make(2));
    batch refired = op->process(late, ctx);
    late = batch();
    REQUIRE(refired.num_rows() == 1);
    CHECK(refired.find_column("is_update")->bool_values()[0] == 1);
    refired = batch();
    CHECK(probe.released->empty());
    op->process(small_batch({}, 1500), ctx);  // accepted at once
    CHECK(ctx.resume()->value("w") == std::optional<std::int64_t>(1000));
    std::sort(probe.released->begin(), probe.released->end());
    CHECK(*probe.released == std::vector<int>{1, 2});
}

namespace {

// Hopping windows over a stream with out-of-order records, in batches of 5 (one ack each).
struct replay_stream {
    std::vector<std::vector<std::tuple<std::string, std::int64_t, double>>> batches;
    std::vector<std::int64_t> watermarks;
};

replay_stream make_replay_stream(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::tuple<std::string, std::int64_t, double>> rows;
    for (int i = 0; i < 400; ++i) {
        const std::int64_t t = 10'000 + i * 37 + static_cast<std::int64_t>(rng() % 400) - 200;
        rows.emplace_back("k" + std::to_string(rng() % 3), t, static_cast<double>(rng() % 17));
    }
    replay_stream s;
    std::int64_t max_time = no_watermark;
    for (std::size_t i = 0; i < rows.size(); i += 5) {
        s.batches.emplace_back(
                rows.begin() + static_cast<std::ptrdiff_t>(i),
                rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), i + 5)));
        for (const auto& r : s.batches.back()) {
            max_time = std::max(max_time, std::get<1>(r));
        }
        s.watermarks.push_back(max_time - 300);
    }
    return s;
}

struct window_result {
    std::int64_t end = 0;
    std::int64_t readings = 0;
    double mean = 0;
    bool operator==(const window_result&) const = default;
};

// Keeps the last emission of every window id.
void collect(const batch& out, std::map<std::string, window_result>& into) {
    for (std::size_t r = 0; r < out.num_rows(); ++r) {
        into[std::string(out.find_column("window_id")->string_at(r))] = {
                out.find_column("window_end")->int64_values()[r],
                out.find_column("readings")->int64_values()[r],
                out.find_column("temperature_mean")->float64_values()[r]};
    }
}

window_config hopping_config(std::int64_t lateness) {
    auto c = small_config();
    c.kind = window_kind::hopping;
    c.size = std::chrono::milliseconds(1000);
    c.slide = std::chrono::milliseconds(250);
    c.allowed_lateness = std::chrono::milliseconds(lateness);
    return c;
}

}  // namespace

TEST_CASE(
        "after a restart from the committed positions, a resumed window emits exactly what a full "
        "run emits "
        "for the windows ending after the resumed watermark",
        "[window][ack][resume]") {
    for (const std::int64_t lateness : {0, 400}) {
        INFO("allowed lateness " << lateness);
        const auto stream = make_replay_stream(42 + static_cast<std::uint64_t>(lateness));
        const auto feed = [&](window_transform& op,
                              operator_context& ctx,
                              std::size_t from,
                              std::size_t to,
                              ack_probe* probe,
                              std::map<std::string, window_result>& results) {
            for (std::size_t i = from; i < to; ++i) {
                batch in = small_batch(stream.batches[i], stream.watermarks[i]);
                if (probe != nullptr) {
                    in.add_ack(probe->make(static_cast<int>(i)));
                }
                collect(op.process(in, ctx), results);  // every output accepted at once
            }
        };

        // A full run without a crash.
        std::map<std::string, window_result> full;
        {
            auto op = bound(hopping_config(lateness));
            operator_context ctx("window", "w", nullptr, nullptr, nullptr);
            feed(*op, ctx, 0, stream.batches.size(), nullptr, full);
        }

        // A run that crashes after 50 of 80 batches: the source commits the acknowledged prefix
        // with the resume state as it is at that moment.
        std::map<std::string, window_result> before_crash;
        ack_probe probe;
        std::optional<std::int64_t> stored;
        std::size_t committed = 0;
        {
            auto op = bound(hopping_config(lateness));
            operator_context ctx("window", "w", nullptr, nullptr, nullptr);
            feed(*op, ctx, 0, 50, &probe, before_crash);
            const std::set<int> released(probe.released->begin(), probe.released->end());
            while (released.count(static_cast<int>(committed)) != 0) {
                ++committed;
            }
            stored = ctx.resume()->value("w");
            const auto decoded = resume_state::decode(resume_state::encode(ctx.resume()->values()));
            REQUIRE(decoded);
            CHECK(decoded->at("w") == *stored);
        }  // kill -9: whatever the operator releases from here on comes too late to be committed
        REQUIRE(stored);
        REQUIRE(committed > 0);
        REQUIRE(committed < 50);  // some windows emitted before the crash hold replayed records

        // The restart: replays from the committed position, resumed at the stored value.
        const auto replay = [&](bool resumed, std::map<std::string, window_result>& after) {
            auto op = bound(hopping_config(lateness));
            operator_context ctx("window", "w", nullptr, nullptr, nullptr);
            if (resumed) {
                ctx.resume()->restore("w", *stored);
            }
            feed(*op, ctx, committed, stream.batches.size(), nullptr, after);
            return ctx.metrics().extra.value("replayed_suppressed");
        };
        std::map<std::string, window_result> after;
        const auto suppressed = replay(true, after);
        CHECK(suppressed > 0);
        std::size_t checked_after = 0;
        for (const auto& [id, w] : full) {
            INFO("window " << id << " ends at " << w.end << ", resumed at " << *stored);
            if (w.end <= *stored) {
                // Emitted (final) and accepted before the crash; never again.
                CHECK(after.count(id) == 0);
                REQUIRE(before_crash.count(id) == 1);
                CHECK(before_crash.at(id) == w);
            } else {
                REQUIRE(after.count(id) == 1);
                CHECK(after.at(id) == w);
                ++checked_after;
            }
        }
        CHECK(after.size() == checked_after);

        // Without the resumed value, some windows come out again from part of their records:
        // the failure this guards against.
        std::map<std::string, window_result> unguarded;
        replay(false, unguarded);
        std::size_t wrong = 0;
        for (const auto& [id, w] : unguarded) {
            wrong += full.at(id) == w ? 0 : 1;
        }
        CHECK(wrong > 0);
    }
}
