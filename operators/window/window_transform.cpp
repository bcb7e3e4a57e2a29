// The window operator: key lookup, window state, timers, emission and held acknowledgements.

#include "closest_name.hpp"
#include "key_table.hpp"
#include "slot_array.hpp"

#include <sluice/core/duration.hpp>
#include <sluice/core/error.hpp>
#include <sluice/core/row_json.hpp>
#include <sluice/ops/window.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace sluice {

namespace {

std::int64_t system_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
}

std::string iso(std::int64_t ms) {
    std::string out;
    append_iso8601_ms(out, ms);
    return out;
}

// One value of a key column, kept for the output rows of the key's windows.
struct key_value {
    bool valid = false;
    double f = 0;
    std::int64_t i = 0;
    std::string s;
};

struct key_entry {
    // What a record's lookup reads comes first (one cache line): the last slot, the hash and the
    // key bytes.
    std::uint32_t recent = std::numeric_limits<std::uint32_t>::max();  // last slot used (fast path)
    std::uint64_t hash = 0;                                            // hash_key_bytes(encoded)
    std::string encoded;                 // index key: typed bytes of every key value
    std::vector<std::uint32_t> windows;  // slots of this key's open windows
    // Tumbling/hopping: the start of each of `windows` (same order), so finding a record's
    // windows reads no slot (sessions change their starts and do not use it).
    std::vector<std::int64_t> window_starts;
    std::vector<std::uint32_t> panes;  // hopping with panes: this key's panes
    std::uint32_t recent_pane = std::numeric_limits<std::uint32_t>::max();
    std::string id_prefix;  // escaped key values, each followed by '/'
    std::vector<key_value> values;
};

struct window_slot {
    std::int64_t start = 0;
    std::int64_t end = 0;
    std::uint32_t key = 0;
    std::uint32_t generation = 0;  // bumped on free, so stale timers are recognised
    bool alive = false;
    bool fired = false;     // emitted at least once
    bool dirty = false;     // changed since the last emission (late records, merges)
    bool emitting = false;  // already chosen for the current output
    std::uint64_t last_batch = std::numeric_limits<std::uint64_t>::max();
    std::vector<std::uint64_t> pending;  // ids of held input batches with records here
    aggregate_state agg;
};

// Hopping windows with panes: the aggregates of the records in [start, start + pane), where pane
// = gcd(size, slide), so every window is a whole number of panes. A record updates its one pane
// instead of each of its size/slide windows; a window's result merges its panes when it is
// emitted. The window slots keep the bookkeeping (fired, dirty, acknowledgements, timers).
struct pane_slot {
    std::int64_t start = 0;
    std::uint32_t key = 0;
    bool alive = false;
    aggregate_state agg;
};

enum class timer_kind : std::uint8_t {
    fire = 0,
    purge = 1
};

struct timer {
    std::int64_t time;
    timer_kind kind;
    std::uint32_t slot;
    std::uint32_t generation;
    bool operator>(const timer& other) const noexcept {
        return time != other.time ? time > other.time : kind > other.kind;
    }
};

// An input batch whose acknowledgement waits for the windows holding its records.
struct held_batch {
    std::vector<ack_ref> acks;
    std::size_t windows = 0;               // open windows that hold records of it
    std::uint64_t last_output = 0;         // output number it was last attached to (no duplicates)
    std::int64_t last_end = no_watermark;  // largest end of an emitted window holding its records
};

// end - lateness, saturating at no_watermark.
std::int64_t minus_lateness(std::int64_t end, std::int64_t lateness) noexcept {
    return end < std::numeric_limits<std::int64_t>::min() + lateness ? no_watermark
                                                                     : end - lateness;
}

// Which of the window's outputs the sinks accepted, and the input acknowledgements that wait for
// it. Shared with the release callbacks of the outputs' tokens: they run on sink threads and may
// outlive the operator (pipeline teardown).
//
// Windows fire in watermark order, so once outputs 0..k are all accepted, every window ending at
// or before output k's watermark F_k is durable downstream, and every window ending at or before
// F_k - allowed_lateness is final too (a late record can only update a window in an output whose
// input watermark was below end + allowed_lateness, i.e. in output k or before). That bound,
// `closed_through`, is published in the pipeline's resume state, and an input batch's
// acknowledgement is dropped only once it covers every window holding the batch's records:
// "a position is acknowledged => every window containing it ends at or before closed_through".
// A source storing the resume state with its commits thereby lets the next run suppress exactly
// the windows whose records it may not replay in full.
struct delivery_progress {
    explicit delivery_progress(std::int64_t allowed_lateness)
        : lateness(allowed_lateness) {}

    const std::int64_t lateness;
    std::mutex mutex;
    std::uint64_t next_accept = 0;  // lowest output index not accepted yet
    std::map<std::uint64_t, std::int64_t>
            accepted;                            // accepted after a gap: index -> fired watermark
    std::int64_t fired_accepted = no_watermark;  // E: largest F_k with outputs 0..k accepted
    std::int64_t closed_through = no_watermark;  // E - allowed_lateness
    bool failed = false;                         // an output was not delivered: E stays
    std::multimap<std::int64_t, std::vector<ack_ref>> waiting;  // last window end -> acks
    std::shared_ptr<resume_state> resume;                       // set by the first process() call
    std::string key;                                            // the operator id

    // Output `index`, fired up to `fired`, was accepted by every sink (or not: `delivered`).
    void on_output(std::uint64_t index, std::int64_t fired, bool delivered) {
        std::vector<std::vector<ack_ref>> release;  // dropped after the lock
        std::lock_guard lock(mutex);
        if (!delivered) {
            // Nothing behind a lost output may be committed: positions still waiting never are.
            failed = true;
            for (auto& [end, acks] : waiting) {
                for (const auto& a : acks) {
                    a->fail("a window output holding these records was not delivered");
                }
                release.push_back(std::move(acks));
            }
            waiting.clear();
            return;
        }
        accepted.emplace(index, fired);
        while (!accepted.empty() && accepted.begin()->first == next_accept) {
            fired_accepted = std::max(fired_accepted, accepted.begin()->second);
            accepted.erase(accepted.begin());
            ++next_accept;
        }
        if (failed) {
            return;
        }
        const std::int64_t closed = minus_lateness(fired_accepted, lateness);
        if (closed <= closed_through) {
            return;
        }
        closed_through = closed;
        // Published before any acknowledgement it allows is dropped: a commit that follows those
        // acknowledgements reads at least this value.
        if (resume) {
            resume->advance(key, closed_through);
        }
        const auto end = waiting.upper_bound(closed_through);
        for (auto it = waiting.begin(); it != end; ++it) {
            release.push_back(std::move(it->second));
        }
        waiting.erase(waiting.begin(), end);
    }

    // The acks of an input batch whose windows (the last ending at `last_end`) were all emitted.
    void park(std::vector<ack_ref> acks, std::int64_t last_end) {
        {
            std::lock_guard lock(mutex);
            if (!failed && last_end > closed_through) {
                waiting.emplace(last_end, std::move(acks));
                return;
            }
            if (failed) {
                for (const auto& a : acks) {
                    a->fail("a window output holding these records was not delivered");
                }
            }
        }
        // `acks` is dropped after the lock: the last reference calls into the source.
    }

    std::vector<ack_ref> take_all() {
        std::lock_guard lock(mutex);
        std::vector<ack_ref> all;
        for (auto& [end, acks] : waiting) {
            all.insert(all.end(), acks.begin(), acks.end());
        }
        waiting.clear();
        return all;
    }

    std::size_t parked() {
        std::lock_guard lock(mutex);
        return waiting.size();
    }
};

// A record's fate in assign_*.
enum class assigned : std::uint8_t {
    accepted,
    late,
    suppressed
};

// The escaped text of one key value inside a window_id: '%', '/' and '~' are percent-encoded
// so that the id is injective; a missing value is "~".
void append_id_part(std::string& out, const column& values, std::size_t row) {
    if (!values.is_valid(row)) {
        out += '~';
        return;
    }
    switch (values.type()) {
        case data_type::string:
            for (const char c : values.string_at(row)) {
                if (c == '%' || c == '/' || c == '~') {
                    out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
                } else {
                    out += c;
                }
            }
            break;
        case data_type::float64:
            out += fmt::format("{}", values.float64_values()[row]);
            break;
        case data_type::int64:
        case data_type::timestamp_ms:
            out += fmt::format("{}", values.int64_values()[row]);
            break;
        case data_type::boolean:
            out += values.bool_values()[row] != 0 ? "true" : "false";
            break;
    }
}

std::int64_t to_ms(std::chrono::milliseconds d) {
    return d.count();
}

}  // namespace

std::vector<std::string> check_window_config(const window_config& c) {
    std::vector<std::string> problems;
    if (!c.processing_time && c.time_column.empty()) {
        problems.emplace_back("'time' needs a 'column' or 'processing: true'");
    }
    if (c.max_out_of_orderness.count() < 0 || c.idle_timeout.count() < 0 ||
        c.allowed_lateness.count() < 0) {
        problems.emplace_back("durations must not be negative");
    }
    switch (c.kind) {
        case window_kind::tumbling:
        case window_kind::hopping:
            if (c.size.count() < 1) {
                problems.emplace_back("'size' must be at least 1ms");
            }
            if (c.kind == window_kind::hopping && (c.slide.count() < 1 || c.slide > c.size)) {
                problems.push_back(fmt::format("'slide' ({}) must be between 1ms and 'size' ({})",
                                               detail::window::describe_ms(c.slide.count()),
                                               detail::window::describe_ms(c.size.count())));
            }
            break;
        case window_kind::session:
            if (c.gap.count() < 1) {
                problems.emplace_back("'gap' must be at least 1ms");
            }
            break;
    }
    if (c.aggregates.empty()) {
        problems.emplace_back("at least one aggregate is required");
    }
    std::set<std::string, std::less<>> names(c.key.begin(), c.key.end());
    for (const char* reserved : {"window_start", "window_end", "window_id", "is_update"}) {
        if (names.count(reserved) != 0) {
            problems.push_back(
                    fmt::format("key column '{}' clashes with an output column", reserved));
        }
        names.insert(reserved);
    }
    for (const auto& a : c.aggregates) {
        if (!names.insert(a.name).second) {
            problems.push_back(
                    fmt::format("aggregate '{}' has the name of another output column", a.name));
        }
        if (a.function == aggregate_function::quantile && !(a.q > 0 && a.q < 1)) {
            problems.push_back(
                    fmt::format("aggregate '{}': 'q' must be between 0 and 1 (exclusive), got {}",
                                a.name,
                                a.q));
        }
        if (a.function == aggregate_function::quantile &&
            !(a.relative_error > 0 && a.relative_error < 1)) {
            problems.push_back(fmt::format(
                    "aggregate '{}': 'relative_error' must be between 0 and 1", a.name));
        }
        if (a.column == "*" && a.function != aggregate_function::count) {
            problems.push_back(
                    fmt::format("aggregate '{}': \"*\" is only allowed with count", a.name));
        }
    }
    return problems;
}

struct window_transform::impl {
    explicit impl(window_config c)
        : config(std::move(c))
        , lateness(to_ms(config.allowed_lateness))
        , assigner(config.kind,
                   config.kind == window_kind::session ? to_ms(config.gap) : to_ms(config.size),
                   config.kind == window_kind::hopping ? to_ms(config.slide) : to_ms(config.size))
        , tracker(to_ms(config.max_out_of_orderness), to_ms(config.idle_timeout)) {
        if (!config.clock) {
            config.clock = system_now_ms;
        }
        bounds.resize(assigner.max_windows());
        if (config.kind == window_kind::hopping) {
            const std::int64_t size = to_ms(config.size);
            const std::int64_t slide = to_ms(config.slide);
            pane_ms = std::gcd(size, slide);
            // Panes pay off when a record is in several windows and a window has few panes
            // (each emission merges size/pane of them).
            use_panes = slide < size && size / pane_ms <= max_panes_per_window;
        }
        progress = std::make_shared<delivery_progress>(lateness);
    }

    window_config config;
    std::int64_t lateness;
    window_assigner assigner;
    watermark_tracker tracker;

    // Set by bind().
    schema_ptr input_schema;
    schema_ptr output_schema;
    std::vector<std::size_t> key_columns;
    std::optional<std::size_t> time_column;
    std::vector<aggregate_binding> bindings;
    std::optional<row_json_writer> json;
    std::size_t window_end_index = 0;

    // Hopping with panes (see pane_slot).
    static constexpr std::int64_t max_panes_per_window = 64;
    bool use_panes = false;
    std::int64_t pane_ms = 0;
    detail::window::slot_array<pane_slot> panes;
    std::vector<std::uint32_t> free_panes;
    std::size_t open_panes = 0;
    std::vector<std::pair<std::int64_t, std::uint32_t>> pane_order;  // merge_panes scratch

    // Window state.
    detail::window::slot_array<window_slot> slots;  // slot references stay valid while it grows
    std::vector<std::uint32_t> free_slots;
    std::vector<key_entry> keys;
    std::vector<std::uint32_t> free_keys;
    detail::window::key_table key_index;
    std::priority_queue<timer, std::vector<timer>, std::greater<>> timers;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> dirty;  // (slot, generation)
    std::unordered_map<std::uint64_t, held_batch> held;
    std::size_t open = 0;
    std::uint64_t next_batch_id = 0;
    std::uint64_t next_output = 1;
    std::uint64_t outputs_made = 0;  // index of the next output's delivery token
    std::shared_ptr<delivery_progress> progress;
    std::optional<std::int64_t>
            resumed;           // windows ending at or before it were emitted before a restart
    bool resume_read = false;  // resumed was read (at the first batch with records)
    std::uint64_t seq = 0;     // arrival number of the next record
    std::int64_t processing_watermark = no_watermark;

    // Per-batch scratch, kept to avoid allocations.
    std::vector<window_bounds> bounds;
    std::vector<std::int64_t> times;
    std::vector<std::uint8_t> skip;  // 1: missing event time, 2: late, 3: suppressed (resumed)
    std::vector<std::uint32_t> pair_rows;
    std::vector<aggregate_state*> pair_targets;
    std::string key_buffer;
    std::string key_arena;  // tumbling/hopping: the batch's encoded keys, back to back
    std::vector<std::uint32_t> key_ends;  // end of each live row's key in key_arena
    std::vector<std::uint64_t> row_hashes;
    std::vector<std::uint32_t> live_rows;  // rows with an open window
    std::vector<std::uint32_t> row_keys;
    std::uint64_t key_hash = 0;  // hash of key_buffer
    held_batch* current_held = nullptr;
    std::uint64_t current_batch = 0;

    // The token of the next output: released when every sink accepted it.
    ack_ref delivery_token(std::int64_t fired) {
        const std::uint64_t index = outputs_made++;
        return std::make_shared<ack_token>(
                std::vector<source_position>{},
                [progress = progress, index, fired](const std::vector<source_position>&,
                                                    bool delivered) {
                    progress->on_output(index, fired, delivered);
                });
    }

    std::int64_t watermark() const noexcept {
        return config.processing_time ? processing_watermark : tracker.current();
    }

    // A window ending at `end` no longer accepts records once the watermark reached end +
    // allowed lateness (saturating: no overflow near the ends of the int64 range).
    static bool closed(std::int64_t end, std::int64_t lateness, std::int64_t watermark) noexcept {
        if (watermark == no_watermark) {
            return false;
        }
        const std::int64_t limit = end > std::numeric_limits<std::int64_t>::max() - lateness
                                           ? std::numeric_limits<std::int64_t>::max()
                                           : end + lateness;
        return limit <= watermark;
    }

    void encode_key(const batch& input, std::size_t row) {
        key_buffer.clear();
        encode_key_into(key_buffer, input, row);
    }

    // Appends the typed bytes of the row's key values to `out`.
    void encode_key_into(std::string& out, const batch& input, std::size_t row) const {
        for (const auto index : key_columns) {
            const column& values = input.column_at(index);
            if (!values.is_valid(row)) {
                out += '\0';
                continue;
            }
            out += '\1';
            switch (values.type()) {
                case data_type::string: {
                    const auto text = values.string_at(row);
                    // A lone key column needs no length prefix to stay injective, and without it
                    // short ids ("sensor-00042") fit std::string's inline buffer: one miss less.
                    if (key_columns.size() > 1) {
                        const auto length = static_cast<std::uint32_t>(text.size());
                        out.append(reinterpret_cast<const char*>(&length), sizeof length);
                    }
                    out.append(text);
                    break;
                }
                case data_type::float64: {
                    double v = values.float64_values()[row];
                    v = v == 0.0 ? 0.0 : v;  // -0.0 and 0.0 are one key
                    out.append(reinterpret_cast<const char*>(&v), sizeof v);
                    break;
                }
                case data_type::int64:
                case data_type::timestamp_ms: {
                    const std::int64_t v = values.int64_values()[row];
                    out.append(reinterpret_cast<const char*>(&v), sizeof v);
                    break;
                }
                case data_type::boolean:
                    out += static_cast<char>(values.bool_values()[row]);
                    break;
            }
        }
    }

    // The key of the row in key_buffer, or nullopt if it has no open window.
    std::optional<std::uint32_t> find_key() {
        key_hash = detail::window::hash_key_bytes(key_buffer);
        const auto found = key_index.find(
                key_hash, [this](std::uint32_t id) { return keys[id].encoded == key_buffer; });
        if (found == detail::window::key_table::npos) {
            return std::nullopt;
        }
        return found;
    }

    std::uint32_t make_key(const batch& input, std::size_t row) {
        std::uint32_t id;
        if (!free_keys.empty()) {
            id = free_keys.back();
            free_keys.pop_back();
        } else {
            id = static_cast<std::uint32_t>(keys.size());
            keys.emplace_back();
        }
        key_entry& k = keys[id];
        k.encoded = key_buffer;
        k.hash = key_hash;
        k.id_prefix.clear();
        k.values.assign(key_columns.size(), key_value{});
        k.windows.clear();
        k.window_starts.clear();
        k.panes.clear();
        k.recent_pane = std::numeric_limits<std::uint32_t>::max();
        for (std::size_t i = 0; i < key_columns.size(); ++i) {
            const column& values = input.column_at(key_columns[i]);
            append_id_part(k.id_prefix, values, row);
            k.id_prefix += '/';
            key_value& v = k.values[i];
            v.valid = values.is_valid(row);
            if (!v.valid) {
                continue;
            }
            switch (values.type()) {
                case data_type::string:
                    v.s.assign(values.string_at(row));
                    break;
                case data_type::float64:
                    v.f = values.float64_values()[row];
                    break;
                case data_type::int64:
                case data_type::timestamp_ms:
                    v.i = values.int64_values()[row];
                    break;
                case data_type::boolean:
                    v.i = values.bool_values()[row];
                    break;
            }
        }
        key_index.insert(k.hash, id);
        return id;
    }

    std::uint32_t make_window(std::uint32_t key, std::int64_t start, std::int64_t end) {
        std::uint32_t id;
        if (!free_slots.empty()) {
            id = free_slots.back();
            free_slots.pop_back();
        } else {
            id = static_cast<std::uint32_t>(slots.size());
            slots.emplace_back();
        }
        window_slot& w = slots[id];
        w.start = start;
        w.end = end;
        w.key = key;
        w.alive = true;
        w.fired = false;
        w.dirty = false;
        w.emitting = false;
        w.last_batch = std::numeric_limits<std::uint64_t>::max();
        w.pending.clear();
        w.agg = use_panes ? aggregate_state{} : aggregate_state(bindings);
        keys[key].windows.push_back(id);
        keys[key].window_starts.push_back(start);
        timers.push({end, timer_kind::fire, id, w.generation});
        ++open;
        return id;
    }

    // The pane of `key` starting at `start`, made if it has none.
    pane_slot& pane_for(std::uint32_t key, std::int64_t start) {
        key_entry& k = keys[key];
        if (k.recent_pane < panes.size()) {
            pane_slot& p = panes[k.recent_pane];
            if (p.alive && p.key == key && p.start == start) {
                return p;
            }
        }
        for (const auto candidate : k.panes) {
            if (panes[candidate].start == start) {
                k.recent_pane = candidate;
                return panes[candidate];
            }
        }
        std::uint32_t id;
        if (!free_panes.empty()) {
            id = free_panes.back();
            free_panes.pop_back();
        } else {
            id = static_cast<std::uint32_t>(panes.size());
            panes.emplace_back();
        }
        pane_slot& p = panes[id];
        p.start = start;
        p.key = key;
        p.alive = true;
        p.agg = aggregate_state(bindings);
        k.panes.push_back(id);
        k.recent_pane = id;
        ++open_panes;
        return p;
    }

    // The result of window `w` from its panes (hopping with panes), merged in start order: the
    // same panes give the same bits whatever order the key's pane list is in (a replay after a
    // restart must reproduce a window exactly).
    void merge_panes(const window_slot& w, aggregate_state& into) {
        into = aggregate_state(bindings);
        pane_order.clear();
        for (const auto id : keys[w.key].panes) {
            const pane_slot& p = panes[id];
            if (p.start >= w.start && p.start < w.end) {
                pane_order.emplace_back(p.start, id);
            }
        }
        std::sort(pane_order.begin(), pane_order.end());
        for (const auto& [start, id] : pane_order) {
            into.merge(panes[id].agg, bindings);
        }
    }

    void free_window(std::uint32_t id) {
        window_slot& w = slots[id];
        key_entry& k = keys[w.key];
        const auto at = std::find(k.windows.begin(), k.windows.end(), id);
        if (at != k.windows.end()) {
            const auto index = static_cast<std::size_t>(at - k.windows.begin());
            k.window_starts[index] = k.window_starts.back();
            k.window_starts.pop_back();
            *at = k.windows.back();
            k.windows.pop_back();
        }
        if (use_panes) {
            // The panes whose last window this is: [start, start + slide). A pane only gets
            // records while that window is open (it ends last), so it exists until it is freed.
            const std::int64_t last_start = w.start + to_ms(config.slide);
            for (std::size_t i = 0; i < k.panes.size();) {
                pane_slot& p = panes[k.panes[i]];
                if (p.start >= w.start && p.start < last_start) {
                    p.alive = false;
                    p.agg = aggregate_state{};
                    free_panes.push_back(k.panes[i]);
                    --open_panes;
                    k.panes[i] = k.panes.back();
                    k.panes.pop_back();
                } else {
                    ++i;
                }
            }
        }
        if (k.windows.empty()) {
            key_index.erase(k.hash, w.key);
            free_keys.push_back(w.key);
            k = key_entry{};
        }
        w.alive = false;
        ++w.generation;
        w.agg = aggregate_state{};
        std::vector<std::uint64_t>().swap(w.pending);
        free_slots.push_back(id);
        --open;
    }

    // Notes that window `w` holds records of the current input batch.
    // NOLINTNEXTLINE(readability-make-member-function-const): a mutator (counts via current_held)
    void hold(window_slot& w) {
        if (current_held == nullptr || w.last_batch == current_batch) {
            return;
        }
        w.last_batch = current_batch;
        w.pending.push_back(current_batch);
        ++current_held->windows;
    }

    void mark_dirty(std::uint32_t id) {
        window_slot& w = slots[id];
        if (w.fired && !w.dirty) {
            w.dirty = true;
            dirty.emplace_back(id, w.generation);
        }
    }

    // A record later than the allowed lateness, when it goes to the dead-letter sink
    // (`late: dead_letter`, or process() called without side outputs).
    void route_late(operator_context& ctx,
                    const std::string& payload,
                    std::int64_t time,
                    std::int64_t watermark_before,
                    const std::vector<source_position>& positions) const {
        ctx.reject(payload,
                   fmt::format("late: event time {} is behind the watermark {} by {} (allowed "
                               "lateness {})",
                               iso(time),
                               iso(watermark_before),
                               format_duration(std::chrono::milliseconds(watermark_before - time)),
                               format_duration(config.allowed_lateness)),
                   true,
                   positions);
    }

    // Tumbling/hopping: the fate of a record at `time` before any key work: accepted if one of
    // its windows is still open (not suppressed by a resume, not closed).
    assigned fixed_fate(std::int64_t time, std::int64_t watermark_before) {
        const std::size_t n = assigner.assign(time, bounds.data());
        bool was_suppressed = false;
        for (std::size_t j = 0; j < n; ++j) {
            if (resumed && bounds[j].end <= *resumed) {
                was_suppressed = true;
                continue;
            }
            if (!closed(bounds[j].end, lateness, watermark_before)) {
                return assigned::accepted;
            }
        }
        return was_suppressed ? assigned::suppressed : assigned::late;
    }

    // Tumbling/hopping: assigns every row of the batch whose skip is 0 to its windows (adding the
    // pairs to pair_rows/pair_targets) or marks it late (2) or suppressed (3).
    //
    // In stages over the whole batch rather than row by row, so that the memory each stage needs
    // (index entry, key entry, window slot, cells) is prefetched a stage ahead: with many keys
    // every one of them is a cache miss, and one row's misses no longer wait for the previous
    // row's. Rows are still handled in order within each stage: keys and windows are created in
    // the same order as before.
    void assign_fixed_batch(const batch& input,
                            std::int64_t watermark_before,
                            std::size_t& late,
                            std::size_t& suppressed) {
        const std::size_t rows = input.num_rows();
        live_rows.clear();
        key_arena.clear();
        key_ends.clear();
        row_hashes.clear();
        for (std::size_t r = 0; r < rows; ++r) {
            if (skip[r] != 0) {
                continue;
            }
            const assigned fate = fixed_fate(times[r], watermark_before);
            if (fate == assigned::late) {
                skip[r] = 2;
                ++late;
                continue;
            }
            if (fate == assigned::suppressed) {
                // Only in windows a run before a restart emitted and saw accepted: dropped
                // silently.
                skip[r] = 3;
                ++suppressed;
                continue;
            }
            const std::size_t begin = key_arena.size();
            encode_key_into(key_arena, input, r);
            key_ends.push_back(static_cast<std::uint32_t>(key_arena.size()));
            const std::uint64_t h = detail::window::hash_key_bytes(
                    std::string_view(key_arena).substr(begin, key_arena.size() - begin));
            row_hashes.push_back(h);
            live_rows.push_back(static_cast<std::uint32_t>(r));
            key_index.prefetch(h);
        }
        const std::size_t live = live_rows.size();
        for (std::size_t i = 0; i < live; ++i) {
            const std::uint32_t candidate = key_index.candidate(row_hashes[i]);
            if (candidate != detail::window::key_table::npos && candidate < keys.size()) {
                __builtin_prefetch(&keys[candidate]);
            }
        }
        row_keys.resize(live);
        for (std::size_t i = 0; i < live; ++i) {
            const std::size_t begin = i == 0 ? 0 : key_ends[i - 1];
            const std::string_view bytes =
                    std::string_view(key_arena).substr(begin, key_ends[i] - begin);
            std::uint32_t id = key_index.find(
                    row_hashes[i], [&](std::uint32_t k) { return keys[k].encoded == bytes; });
            if (id == detail::window::key_table::npos) {
                key_buffer.assign(bytes);
                key_hash = row_hashes[i];
                id = make_key(input, live_rows[i]);
            }
            row_keys[i] = id;
            const key_entry& k = keys[id];
            if (use_panes) {
                // Several windows and panes per record: their lists, then their slots.
                __builtin_prefetch(k.window_starts.data());
                __builtin_prefetch(k.windows.data());
                __builtin_prefetch(k.panes.data());
            } else if (k.recent < slots.size()) {
                __builtin_prefetch(&slots[k.recent]);
            }
        }
        for (std::size_t i = 0; i < live; ++i) {
            assign_fixed(live_rows[i], times[live_rows[i]], watermark_before, row_keys[i]);
        }
    }

    // Tumbling/hopping: adds the row's open windows (of key `key`) to the pair lists.
    void assign_fixed(std::size_t row,
                      std::int64_t time,
                      std::int64_t watermark_before,
                      std::uint32_t key) {
        const std::size_t n = assigner.assign(time, bounds.data());
        for (std::size_t j = 0; j < n; ++j) {
            if (resumed && bounds[j].end <= *resumed) {
                continue;
            }
            if (closed(bounds[j].end, lateness, watermark_before)) {
                continue;
            }
            key_entry& k = keys[key];
            std::uint32_t id = std::numeric_limits<std::uint32_t>::max();
            if (k.recent != id && slots[k.recent].alive && slots[k.recent].key == key &&
                slots[k.recent].start == bounds[j].start && slots[k.recent].end == bounds[j].end) {
                id = k.recent;
            } else {
                for (std::size_t i = 0; i < k.window_starts.size(); ++i) {
                    if (k.window_starts[i] == bounds[j].start) {
                        id = k.windows[i];
                        break;
                    }
                }
            }
            if (id == std::numeric_limits<std::uint32_t>::max()) {
                id = make_window(key, bounds[j].start, bounds[j].end);
            }
            keys[key].recent = id;
            window_slot& w = slots[id];
            hold(w);
            mark_dirty(id);
            if (!use_panes) {
                pair_rows.push_back(static_cast<std::uint32_t>(row));
                pair_targets.push_back(&w.agg);
            }
        }
        if (use_panes) {
            // The caller checked that one of the windows is open; every window containing the
            // pane contains the record.
            pane_slot& p = pane_for(key, floor_div(time, pane_ms) * pane_ms);
            pair_rows.push_back(static_cast<std::uint32_t>(row));
            pair_targets.push_back(&p.agg);
        }
    }

    // Session: merges the row into its key's sessions and adds it at once (a later row of the
    // same batch may merge the session away); false if it is late.
    assigned assign_session(const batch& input,
                            std::size_t row,
                            std::int64_t time,
                            std::int64_t watermark_before) {
        const std::int64_t gap = to_ms(config.gap);
        const std::int64_t new_end = time > std::numeric_limits<std::int64_t>::max() - gap
                                             ? std::numeric_limits<std::int64_t>::max()
                                             : time + gap;
        encode_key(input, row);
        auto key = find_key();
        std::vector<std::uint32_t> overlapping;
        if (key) {
            for (const auto id : keys[*key].windows) {
                const window_slot& w = slots[id];
                if (w.start < new_end && time < w.end) {
                    overlapping.push_back(id);
                }
            }
        }
        std::uint32_t target;
        if (overlapping.empty()) {
            if (resumed && new_end <= *resumed) {
                return assigned::suppressed;
            }
            if (closed(new_end, lateness, watermark_before)) {
                return assigned::late;
            }
            if (!key) {
                key = make_key(input, row);
            }
            target = make_window(*key, time, new_end);
        } else {
            target = *std::min_element(overlapping.begin(), overlapping.end(), [&](auto a, auto b) {
                return slots[a].start < slots[b].start;
            });
            window_slot& t = slots[target];
            const std::int64_t old_end = t.end;
            bool merged_fired = t.fired;
            std::int64_t start = std::min(t.start, time);
            std::int64_t end = std::max(t.end, new_end);
            for (const auto id : overlapping) {
                if (id == target) {
                    continue;
                }
                window_slot& other = slots[id];
                start = std::min(start, other.start);
                end = std::max(end, other.end);
                merged_fired = merged_fired || other.fired;
                t.agg.merge(other.agg, bindings);
                for (const auto batch_id : other.pending) {
                    if (std::find(t.pending.begin(), t.pending.end(), batch_id) !=
                        t.pending.end()) {
                        // One window fewer holds that batch (both merged into one).
                        auto h = held.find(batch_id);
                        if (h != held.end()) {
                            --h->second.windows;
                        }
                    } else {
                        t.pending.push_back(batch_id);
                    }
                }
                if (other.last_batch == current_batch) {
                    t.last_batch = current_batch;
                }
                other.pending.clear();
                free_window(id);
            }
            window_slot& merged = slots[target];
            merged.start = start;
            merged.end = end;
            if (merged_fired && !merged.fired) {
                merged.fired = true;
            }
            if (end != old_end) {
                timers.push({end, timer_kind::fire, target, merged.generation});
            }
        }
        window_slot& w = slots[target];
        hold(w);
        mark_dirty(target);
        aggregate_state* state = &w.agg;
        const auto r = static_cast<std::uint32_t>(row);
        accumulate(bindings, input, {&r, 1}, {&state, 1}, times, seq);
        return assigned::accepted;
    }

    // Adds the acks held for window `w` to `acks` and releases what no window holds any more.
    void release_acks(window_slot& w, std::vector<ack_ref>& acks, std::uint64_t output) {
        for (const auto batch_id : w.pending) {
            auto h = held.find(batch_id);
            if (h == held.end()) {
                continue;
            }
            if (h->second.last_output != output) {
                h->second.last_output = output;
                acks.insert(acks.end(), h->second.acks.begin(), h->second.acks.end());
            }
            h->second.last_end = std::max(h->second.last_end, w.end);
            if (--h->second.windows == 0) {
                progress->park(std::move(h->second.acks), h->second.last_end);
                held.erase(h);
            }
        }
        w.pending.clear();
        w.last_batch = std::numeric_limits<std::uint64_t>::max();
    }

    // Builds the output batch of the windows in `emit` (sorted here).
    batch emit_windows(std::vector<std::uint32_t>& emit,
                       std::vector<ack_ref>& acks,
                       std::uint64_t output) {
        std::sort(emit.begin(), emit.end(), [&](auto a, auto b) {
            const auto& x = slots[a];
            const auto& y = slots[b];
            if (x.end != y.end) {
                return x.end < y.end;
            }
            if (x.start != y.start) {
                return x.start < y.start;
            }
            return keys[x.key].encoded < keys[y.key].encoded;
        });
        const auto& fields = output_schema->fields();
        std::vector<std::shared_ptr<column>> cols;
        cols.reserve(fields.size());
        for (const auto& f : fields) {
            cols.push_back(std::make_shared<column>(f.type));
            cols.back()->reserve(emit.size());
        }
        std::string id;
        aggregate_state merged;
        for (const auto slot_id : emit) {
            window_slot& w = slots[slot_id];
            const key_entry& k = keys[w.key];
            std::size_t c = 0;
            for (const auto& v : k.values) {
                column& out = *cols[c++];
                if (!v.valid) {
                    out.push_null();
                    continue;
                }
                switch (out.type()) {
                    case data_type::string:
                        out.push_string(v.s);
                        break;
                    case data_type::float64:
                        out.push_float64(v.f);
                        break;
                    case data_type::int64:
                    case data_type::timestamp_ms:
                        out.push_int64(v.i);
                        break;
                    case data_type::boolean:
                        out.push_bool(v.i != 0);
                        break;
                }
            }
            cols[c++]->push_int64(w.start);
            cols[c++]->push_int64(w.end);
            const aggregate_state* result = &w.agg;
            if (use_panes) {
                merge_panes(w, merged);
                result = &merged;
            }
            for (std::size_t a = 0; a < bindings.size(); ++a) {
                result->append_result(bindings[a], a, *cols[c++]);
            }
            id = k.id_prefix;
            id += fmt::format("{}", w.start);
            cols[c++]->push_string(id);
            cols[c++]->push_bool(w.fired);
            w.fired = true;
            w.dirty = false;
            w.emitting = false;
            release_acks(w, acks, output);
            timers.push({w.end > std::numeric_limits<std::int64_t>::max() - lateness
                                 ? std::numeric_limits<std::int64_t>::max()
                                 : w.end + lateness,
                         timer_kind::purge,
                         slot_id,
                         w.generation});
        }
        std::vector<column_ptr> shared(cols.begin(), cols.end());
        return {output_schema, std::move(shared)};
    }

    // Fires every window the watermark passed and every updated window, then frees the windows
    // past their lateness. Returns the output batch (lineage not set).
    batch fire(std::int64_t watermark, std::vector<ack_ref>& acks, std::uint64_t output) {
        std::vector<std::uint32_t> emit;
        std::vector<std::pair<std::uint32_t, std::uint32_t>> purge;
        while (watermark != no_watermark && !timers.empty() && timers.top().time <= watermark) {
            const timer t = timers.top();
            timers.pop();
            window_slot& w = slots[t.slot];
            if (!w.alive || w.generation != t.generation) {
                continue;
            }
            if (t.kind == timer_kind::fire) {
                if (t.time == w.end && (!w.fired || w.dirty) && !w.emitting) {
                    w.emitting = true;
                    emit.push_back(t.slot);
                }
            } else {
                purge.emplace_back(t.slot, t.generation);
            }
        }
        for (const auto& [slot_id, generation] : dirty) {
            window_slot& w = slots[slot_id];
            if (w.alive && w.generation == generation && w.dirty && !w.emitting &&
                watermark != no_watermark && w.end <= watermark) {
                w.emitting = true;
                emit.push_back(slot_id);
            }
        }
        dirty.clear();  // windows still ahead of the watermark are found by their fire timer
        batch out = emit_windows(emit, acks, output);
        // Emission scheduled purge timers; those already due (allowed_lateness 0) run now, so a
        // closed window's state is freed with the batch that closed it.
        while (watermark != no_watermark && !timers.empty() && timers.top().time <= watermark) {
            const timer t = timers.top();
            timers.pop();
            if (t.kind == timer_kind::purge) {
                purge.emplace_back(t.slot, t.generation);
            }
        }
        for (const auto& [slot_id, generation] : purge) {
            window_slot& w = slots[slot_id];
            // The purge timer of an older end (a session extended since) is stale.
            if (w.alive && w.generation == generation && closed(w.end, lateness, watermark)) {
                if (!w.pending.empty()) {
                    release_acks(w, acks, output);
                }
                free_window(slot_id);
            }
        }
        return out;
    }
};

window_transform::window_transform(window_config config) {
    const auto problems = check_window_config(config);
    if (!problems.empty()) {
        std::vector<diagnostic> diagnostics;
        diagnostics.reserve(problems.size());
        for (const auto& p : problems) {
            diagnostics.push_back({{}, "invalid-config", "window: " + p});
        }
        throw config_error(std::move(diagnostics));
    }
    impl_ = std::make_unique<impl>(std::move(config));
}

window_transform::~window_transform() = default;

schema_ptr window_transform::bind(const schema_ptr& input, bind_context& ctx) {
    impl& s = *impl_;
    std::vector<std::string> names;
    for (const auto& f : input->fields()) {
        names.push_back(f.name);
    }
    std::vector<field> out_fields;
    s.key_columns.clear();
    for (const auto& k : s.config.key) {
        const auto index = input->index_of(k);
        if (!index) {
            ctx.error("key",
                      "unknown-column",
                      "key: " + detail::window::unknown_column_message(k, names));
            continue;
        }
        s.key_columns.push_back(*index);
        out_fields.push_back({k, input->at(*index).type, true});
    }
    s.time_column.reset();
    if (!s.config.processing_time) {
        const auto index = input->index_of(s.config.time_column);
        if (!index) {
            ctx.error("time.column",
                      "unknown-column",
                      "time.column: " +
                              detail::window::unknown_column_message(s.config.time_column, names));
        } else if (!is_integer_storage(input->at(*index).type)) {
            ctx.error("time.column",
                      "wrong-type",
                      fmt::format("time.column: '{}' is {}, expected timestamp_ms or int64 (ms)",
                                  s.config.time_column,
                                  to_string(input->at(*index).type)));
        } else {
            s.time_column = *index;
        }
    }
    out_fields.push_back({"window_start", data_type::timestamp_ms, false});
    out_fields.push_back({"window_end", data_type::timestamp_ms, false});
    s.window_end_index = out_fields.size() - 1;
    s.bindings.clear();
    for (const auto& a : s.config.aggregates) {
        auto bound = bind_aggregate(a, *input);
        if (auto* message = std::get_if<std::string>(&bound)) {
            const bool unknown = message->rfind("unknown column", 0) == 0;
            ctx.error(fmt::format("aggregates.{}.{}", a.name, to_string(a.function)),
                      unknown ? "unknown-column" : "wrong-type",
                      fmt::format("aggregate '{}': {}", a.name, *message));
            continue;
        }
        auto& b = std::get<aggregate_binding>(bound);
        out_fields.push_back({a.name, b.output_type, true});
        s.bindings.push_back(std::move(b));
    }
    out_fields.push_back({"window_id", data_type::string, false});
    out_fields.push_back({"is_update", data_type::boolean, false});
    if (ctx.failed()) {
        return nullptr;
    }
    s.input_schema = input;
    s.output_schema = make_schema(std::move(out_fields));
    s.json.emplace(*input);
    return s.output_schema;
}

batch window_transform::process(const batch& input, operator_context& ctx) {
    return process_with_side_outputs(input, ctx, {});
}

std::vector<side_output> window_transform::side_outputs() const {
    if (impl_->config.late != late_policy::side_output || !impl_->input_schema) {
        return {};
    }
    return {{"late", impl_->input_schema}};
}

batch window_transform::process_with_side_outputs(const batch& input,
                                                  operator_context& ctx,
                                                  std::span<batch> sides) {
    impl& s = *impl_;
    if (!s.output_schema) {
        throw operator_error(ctx.type(), ctx.id(), "process() called before a successful bind()");
    }
    require_bound_schema(input.schema(), s.input_schema, ctx);
    const std::size_t rows = input.num_rows();
    const std::int64_t now = s.config.clock();
    const std::int64_t before = s.watermark();
    const std::uint64_t output = s.next_output++;
    if (!s.progress->resume) {
        std::lock_guard lock(s.progress->mutex);
        s.progress->resume = ctx.resume();
        s.progress->key = ctx.id();
    }
    if (!s.resume_read && rows != 0) {
        // Sources restore the resume state before they hand out their first record.
        s.resume_read = true;
        s.resumed = ctx.resume()->resumed(ctx.id());
    }

    s.current_batch = s.next_batch_id++;
    s.current_held = nullptr;
    if (!input.acks().empty()) {
        auto& h = s.held[s.current_batch];
        h.acks = input.acks();
        s.current_held = &h;
    }

    s.times.resize(rows);
    s.skip.assign(rows, 0);
    std::int64_t max_time = no_watermark;
    if (s.config.processing_time) {
        const std::int64_t t = before == no_watermark ? now : std::max(now, before);
        std::fill(s.times.begin(), s.times.end(), t);
        max_time = rows == 0 ? no_watermark : t;
    } else {
        const column& time_values = input.column_at(*s.time_column);
        const auto values = time_values.int64_values();
        for (std::size_t r = 0; r < rows; ++r) {
            s.times[r] = values[r];
            if (!time_values.is_valid(r)) {
                s.skip[r] = 1;
            } else {
                max_time = std::max(max_time, values[r]);
            }
        }
    }

    s.pair_rows.clear();
    s.pair_targets.clear();
    std::size_t late = 0;
    std::size_t suppressed = 0;
    if (s.config.kind != window_kind::session) {
        s.assign_fixed_batch(input, before, late, suppressed);
    } else {
        for (std::size_t r = 0; r < rows; ++r) {
            if (s.skip[r] != 0) {
                continue;
            }
            const assigned fate = s.assign_session(input, r, s.times[r], before);
            if (fate == assigned::late) {
                s.skip[r] = 2;
                ++late;
            } else if (fate == assigned::suppressed) {
                // Only in windows a run before a restart emitted and saw accepted: dropped
                // silently.
                s.skip[r] = 3;
                ++suppressed;
            }
        }
    }
    if (suppressed != 0) {
        ctx.metrics().extra.add("replayed_suppressed", static_cast<std::int64_t>(suppressed));
    }
    if (!s.pair_rows.empty()) {
        accumulate(s.bindings, input, s.pair_rows, s.pair_targets, s.times, s.seq);
    }
    s.seq += rows;

    // Late records to the side output when there is one; what is left goes to the dead letters.
    const bool late_to_side =
            late != 0 && s.config.late == late_policy::side_output && !sides.empty();
    if (late_to_side) {
        std::vector<std::uint8_t> selection(rows);
        for (std::size_t r = 0; r < rows; ++r) {
            selection[r] = s.skip[r] == 2 ? 1 : 0;
        }
        sides[0] = input.filter_rows(selection);  // keeps the lineage of the rows it keeps
        ctx.metrics().extra.add("late_records", static_cast<std::int64_t>(late));
    }
    if ((late != 0 && !late_to_side) ||
        std::find(s.skip.begin(), s.skip.end(), 1) != s.skip.end()) {
        const auto positions = input.source_positions();
        auto cursor = s.json->prepare(input);
        std::string payload;
        for (std::size_t r = 0; r < rows; ++r) {
            if (s.skip[r] == 0 || s.skip[r] == 3 || (s.skip[r] == 2 && late_to_side)) {
                continue;
            }
            payload.clear();
            cursor.append_row(payload, r);
            if (s.skip[r] == 1) {
                ctx.reject(payload,
                           fmt::format("missing event time in column '{}'", s.config.time_column),
                           true,
                           positions);
            } else {
                s.route_late(ctx, payload, s.times[r], before, positions);
            }
        }
    }

    std::int64_t after;
    if (s.config.processing_time) {
        s.processing_watermark = before == no_watermark ? now : std::max(before, now);
        after = s.processing_watermark;
    } else {
        after = s.tracker.observe(input.origin().stream, input.watermark_ms(), max_time, now);
    }

    std::vector<ack_ref> acks;
    batch out = s.fire(after, acks, output);
    if (s.current_held != nullptr) {
        auto h = s.held.find(s.current_batch);
        if (h != s.held.end() && h->second.windows == 0) {
            // No window holds records of this batch (all late, or all emitted already).
            if (h->second.last_output != output) {
                acks.insert(acks.end(), h->second.acks.begin(), h->second.acks.end());
            }
            s.held.erase(h);
        }
        s.current_held = nullptr;
    }
    out.set_origin(input.origin());
    out.set_watermark_ms(after);
    out.set_flight(input.flight());
    out.set_event_time_column(s.window_end_index);
    for (auto& a : acks) {
        out.add_ack(std::move(a));
    }
    out.add_ack(s.delivery_token(after));
    return out;
}

std::optional<batch> window_transform::finish(operator_context& ctx) {
    impl& s = *impl_;
    if (!s.output_schema) {
        return std::nullopt;
    }
    (void)ctx;
    const std::uint64_t output = s.next_output++;
    std::vector<std::uint32_t> emit;
    for (std::uint32_t id = 0; id < s.slots.size(); ++id) {
        const window_slot& w = s.slots[id];
        if (w.alive && (!w.fired || w.dirty)) {
            emit.push_back(id);
        }
    }
    std::vector<ack_ref> acks;
    batch out = s.emit_windows(emit, acks, output);
    for (auto& [id, h] : s.held) {
        if (h.last_output != output) {
            acks.insert(acks.end(), h.acks.begin(), h.acks.end());
        }
    }
    s.held.clear();
    // End of the stream: every window was emitted (the open ones from what they had), so the
    // acknowledgements still waiting for the watermark go with this last output, as all others.
    std::unordered_set<const ack_token*> attached;
    for (const auto& a : acks) {
        attached.insert(a.get());
    }
    for (auto& a : s.progress->take_all()) {
        if (attached.insert(a.get()).second) {
            acks.push_back(std::move(a));
        }
    }
    for (std::uint32_t id = 0; id < s.slots.size(); ++id) {
        if (s.slots[id].alive) {
            s.free_window(id);
        }
    }
    s.timers = {};
    s.dirty.clear();
    out.set_watermark_ms(s.watermark());
    out.set_event_time_column(s.window_end_index);
    for (auto& a : acks) {
        out.add_ack(std::move(a));
    }
    out.add_ack(s.delivery_token(s.watermark()));
    return out;
}

std::int64_t window_transform::watermark_ms() const noexcept {
    return impl_->watermark();
}

std::size_t window_transform::open_windows() const noexcept {
    return impl_->open;
}

std::size_t window_transform::held_batches() const noexcept {
    return impl_->held.size();
}

std::size_t window_transform::parked_batches() const noexcept {
    return impl_->progress->parked();
}

std::size_t window_transform::state_bytes() const noexcept {
    const impl& s = *impl_;
    std::size_t bytes = s.slots.size() * sizeof(window_slot) + s.timers.size() * sizeof(timer);
    for (std::size_t i = 0; i < s.slots.size(); ++i) {
        const window_slot& w = s.slots[i];
        if (w.alive) {
            bytes += w.agg.memory_bytes() + w.pending.capacity() * sizeof(std::uint64_t);
        }
    }
    bytes += s.panes.size() * sizeof(pane_slot);
    for (std::size_t i = 0; i < s.panes.size(); ++i) {
        const pane_slot& p = s.panes[i];
        if (p.alive) {
            bytes += p.agg.memory_bytes();
        }
    }
    bytes += s.keys.capacity() * sizeof(key_entry);
    for (const auto& k : s.keys) {
        bytes += (k.windows.capacity() + k.panes.capacity()) * sizeof(std::uint32_t) +
                 k.values.capacity() * sizeof(key_value);
        bytes += (k.encoded.capacity() > 15 ? k.encoded.capacity() : 0) +
                 (k.id_prefix.capacity() > 15 ? k.id_prefix.capacity() : 0);
    }
    bytes += s.key_index.memory_bytes();
    bytes += s.held.size() * (sizeof(held_batch) + 2 * sizeof(void*));
    return bytes;
}

}  // namespace sluice
