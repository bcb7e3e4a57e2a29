#include <sluice/core/edit_distance.hpp>
#include <sluice/core/row_json.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/json.hpp>

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <iterator>
#include <limits>
#include <span>
#include <unordered_map>

namespace sluice {

namespace ondemand = simdjson::ondemand;

// ---------------------------------------------------------------------------------------------
// The plan: what the hot loop needs to know about the schema, computed once.
// ---------------------------------------------------------------------------------------------

struct json_decode_transform::plan {
    struct slot {
        std::string name;
        std::string padded_name;  // name + 16 NUL bytes, for word-wise compares
        data_type type = data_type::string;
        bool required = true;
    };

    std::vector<slot> slots;
    std::size_t words = 0;                     // 64-bit words of a per-row field bitset
    std::vector<std::uint64_t> required_mask;  // bit per required slot
    std::vector<std::uint64_t> numeric_mask;   // bit per slot stored by index (not string)
    std::vector<std::uint32_t> string_slots;
    // Only built for wide schemas: a linear scan of a few names is faster than hashing.
    std::unordered_map<std::string_view, std::uint32_t> by_name;

    static constexpr std::size_t linear_limit = 16;

    // Bytes per row each string slot held in the last batch decoded, to reserve the next
    // batch's columns close to their size: too little reallocates while decoding, too much
    // stays allocated in the batch downstream. A hint only (relaxed; races are harmless).
    mutable std::unique_ptr<std::atomic<std::uint32_t>[]> string_bytes_per_row;

    /// The slot called `key`, or -1.
    int find(std::string_view key) const noexcept {
        if (slots.size() <= linear_limit) {
            for (std::size_t i = 0; i < slots.size(); ++i) {
                const auto& name = slots[i].name;
                if (name.size() == key.size() &&
                    std::memcmp(name.data(), key.data(), key.size()) == 0) {
                    return static_cast<int>(i);
                }
            }
            return -1;
        }
        const auto it = by_name.find(key);
        return it == by_name.end() ? -1 : static_cast<int>(it->second);
    }
};

namespace {

// Rejection paths: kept out of line so that the per-value fast path stays small.
#if defined(__GNUC__)
#    define SLUICE_JSON_COLD [[gnu::cold, gnu::noinline]]
#else
#    define SLUICE_JSON_COLD
#endif

constexpr std::string_view type_list = "float64, int64, bool, string, timestamp_ms";
// Integers above this are not all exactly representable as doubles, so a non-integer literal
// (`1e17`, `3.0e16`) beyond it could stand for several int64 values: reject rather than guess.
constexpr double max_exact_double_integer = 9007199254740992.0;  // 2^53
// How much of an offending value a rejection reason quotes.
constexpr std::size_t max_quoted_bytes = 48;

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) {
            out += ", ";
        }
        out += n;
    }
    return out;
}

std::string type_suggestion(std::string_view text) {
    // Spellings parse_data_type accepts, each with the canonical name to suggest: "floot" is
    // one edit from the alias "float" but three from "float64".
    static constexpr std::pair<std::string_view, std::string_view> names[] = {
            {"float64", "float64"},
            {"double", "float64"},
            {"float", "float64"},
            {"int64", "int64"},
            {"int", "int64"},
            {"bool", "bool"},
            {"boolean", "bool"},
            {"string", "string"},
            {"timestamp_ms", "timestamp_ms"},
            {"timestamp", "timestamp_ms"}};
    std::string_view best;
    std::size_t best_distance = 3;  // a typo changes a character or two
    for (const auto& [spelling, canonical] : names) {
        const auto d = edit_distance(text, spelling);
        if (d < best_distance) {
            best_distance = d;
            best = canonical;
        }
    }
    return best.empty() ? std::string() : fmt::format("; did you mean '{}'?", best);
}

using report_fn = std::function<void(std::string_view key, std::string code, std::string message)>;

// Checks that need only the config (shared by the option spec's check and the constructor).
void validate_config(const json_decode_config& config, const report_fn& report) {
    if (config.field.empty()) {
        report("field", "bad-value", "'field' must name an input column, found ''");
    }
    if (config.schema.empty()) {
        report("schema", "bad-value", "'schema' must declare at least one field");
    }
    std::vector<std::string> names;
    for (const auto& f : config.schema) {
        if (f.name.empty()) {
            report("schema", "bad-value", "'schema' has a field with an empty name");
        } else if (std::find(names.begin(), names.end(), f.name) != names.end()) {
            report("schema." + f.name,
                   "duplicate-field",
                   fmt::format("'schema' declares '{}' twice", f.name));
        }
        names.push_back(f.name);
    }
    std::vector<std::string> kept;
    for (const auto& k : config.keep) {
        if (std::find(names.begin(), names.end(), k) != names.end()) {
            report("keep",
                   "cross-field",
                   fmt::format(
                           "kept column '{}' has the name of a 'schema' field; an output column "
                           "name must be unique",
                           k));
        } else if (std::find(kept.begin(), kept.end(), k) != kept.end()) {
            report("keep", "cross-field", fmt::format("'keep' lists '{}' twice", k));
        }
        kept.push_back(k);
    }
    if (!config.event_time.empty()) {
        const auto it = std::find_if(config.schema.begin(),
                                     config.schema.end(),
                                     [&](const field& f) { return f.name == config.event_time; });
        if (it != config.schema.end()) {
            if (it->type != data_type::timestamp_ms) {
                report("event_time",
                       "cross-field",
                       fmt::format("'event_time' names '{}', which is {} in 'schema'; expected a "
                                   "timestamp_ms field",
                                   config.event_time,
                                   to_string(it->type)));
            }
        } else if (std::find(config.keep.begin(), config.keep.end(), config.event_time) ==
                   config.keep.end()) {
            report("event_time",
                   "cross-field",
                   fmt::format(
                           "'event_time' names '{}', which is neither a 'schema' field nor a kept "
                           "column (schema: {})",
                           config.event_time,
                           join(names)));
        }
    }
}

// Reads the options into a config, reporting what the spec's per-field validation cannot see.
json_decode_config config_from_options(const options& opts, diagnostics_collector& out) {
    json_decode_config config;
    config.field = opts.get_string("field");
    const auto schema_text = opts.get_string_map("schema");
    for (const auto& [name, type_text] : schema_text) {
        const auto type = parse_data_type(type_text);
        if (!type) {
            out.add(opts.error("schema." + name,
                               "bad-type",
                               fmt::format("schema field '{}': expected one of {}; found '{}'{}",
                                           name,
                                           type_list,
                                           type_text,
                                           type_suggestion(type_text))));
            continue;
        }
        config.schema.push_back(field{name, *type, false});
    }
    if (opts.is_set("required")) {
        const auto required = opts.get_string_list("required");
        for (const auto& r : required) {
            const auto in_schema = std::any_of(schema_text.begin(),
                                               schema_text.end(),
                                               [&](const auto& item) { return item.first == r; });
            if (!in_schema) {
                std::vector<std::string> names;
                for (const auto& item : schema_text) {
                    names.push_back(item.first);
                }
                out.add(opts.error(
                        "required",
                        "cross-field",
                        fmt::format("'required' names '{}', which is not in 'schema' (fields: {})",
                                    r,
                                    join(names))));
            }
        }
        for (auto& f : config.schema) {
            f.nullable = std::find(required.begin(), required.end(), f.name) == required.end();
        }
    }
    config.keep = opts.get_string_list("keep");
    if (opts.is_set("event_time")) {
        config.event_time = opts.get_string("event_time");
        if (config.event_time.empty()) {
            out.add(opts.error(
                    "event_time", "bad-value", "'event_time' must name a column, found ''"));
        }
    }
    validate_config(config, [&](std::string_view key, std::string code, std::string message) {
        out.add(opts.error(key, std::move(code), std::move(message)));
    });
    return config;
}

std::string_view error_name(simdjson::error_code code) noexcept {
    using namespace simdjson;
    switch (code) {
        case SUCCESS:
            return "SUCCESS";
        case CAPACITY:
            return "CAPACITY";
        case MEMALLOC:
            return "MEMALLOC";
        case TAPE_ERROR:
            return "TAPE_ERROR";
        case DEPTH_ERROR:
            return "DEPTH_ERROR";
        case STRING_ERROR:
            return "STRING_ERROR";
        case T_ATOM_ERROR:
            return "T_ATOM_ERROR";
        case F_ATOM_ERROR:
            return "F_ATOM_ERROR";
        case N_ATOM_ERROR:
            return "N_ATOM_ERROR";
        case NUMBER_ERROR:
            return "NUMBER_ERROR";
        case UTF8_ERROR:
            return "UTF8_ERROR";
        case UNINITIALIZED:
            return "UNINITIALIZED";
        case EMPTY:
            return "EMPTY";
        case UNESCAPED_CHARS:
            return "UNESCAPED_CHARS";
        case UNCLOSED_STRING:
            return "UNCLOSED_STRING";
        case UNSUPPORTED_ARCHITECTURE:
            return "UNSUPPORTED_ARCHITECTURE";
        case INCORRECT_TYPE:
            return "INCORRECT_TYPE";
        case NUMBER_OUT_OF_RANGE:
            return "NUMBER_OUT_OF_RANGE";
        case INDEX_OUT_OF_BOUNDS:
            return "INDEX_OUT_OF_BOUNDS";
        case NO_SUCH_FIELD:
            return "NO_SUCH_FIELD";
        case IO_ERROR:
            return "IO_ERROR";
        case INVALID_JSON_POINTER:
            return "INVALID_JSON_POINTER";
        case INVALID_URI_FRAGMENT:
            return "INVALID_URI_FRAGMENT";
        case UNEXPECTED_ERROR:
            return "UNEXPECTED_ERROR";
        case PARSER_IN_USE:
            return "PARSER_IN_USE";
        case OUT_OF_ORDER_ITERATION:
            return "OUT_OF_ORDER_ITERATION";
        case INSUFFICIENT_PADDING:
            return "INSUFFICIENT_PADDING";
        case INCOMPLETE_ARRAY_OR_OBJECT:
            return "INCOMPLETE_ARRAY_OR_OBJECT";
        case SCALAR_DOCUMENT_AS_VALUE:
            return "SCALAR_DOCUMENT_AS_VALUE";
        case OUT_OF_BOUNDS:
            return "OUT_OF_BOUNDS";
        case TRAILING_CONTENT:
            return "TRAILING_CONTENT";
        default:
            return "UNKNOWN_ERROR";
    }
}

std::string_view json_type_name(ondemand::json_type type) noexcept {
    switch (type) {
        case ondemand::json_type::array:
            return "array";
        case ondemand::json_type::object:
            return "object";
        case ondemand::json_type::number:
            return "number";
        case ondemand::json_type::string:
            return "string";
        case ondemand::json_type::boolean:
            return "bool";
        case ondemand::json_type::null:
            return "null";
    }
    return "value";
}

// At most `max_quoted_bytes` of `text`, cut at a UTF-8 character boundary, trailing
// whitespace dropped (simdjson's raw tokens run up to the next structural character).
std::string quoted_excerpt(std::string_view text) {
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                             text.back() == '\r')) {
        text.remove_suffix(1);
    }
    if (text.size() <= max_quoted_bytes) {
        return std::string(text);
    }
    std::size_t cut = max_quoted_bytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
        --cut;
    }
    return fmt::format("{}...", text.substr(0, cut));
}

// One simdjson parser and one padded copy buffer per thread: `process` runs concurrently on
// TBB workers, and an on-demand parser serves one document at a time. Both keep the capacity
// of the largest record the thread has seen.
struct thread_state {
    ondemand::parser parser;
    std::unique_ptr<char[]> buffer;
    std::size_t capacity = 0;

    // The batch path: the whole string column copied once, and a second parser so that a
    // record retried alone (with `parser`) leaves the stream of the batch where it was.
    ondemand::parser stream_parser;
    std::unique_ptr<char[]> batch;
    std::size_t batch_capacity = 0;

    thread_state() {
#ifdef SIMDJSON_THREADS_ENABLED
        // document_stream would run stage 1 of the next window on a helper thread; each
        // window here holds a whole chunk, so there is never a next window to prepare.
        stream_parser.threaded = false;
#endif
    }

    // Copies `bytes` into a buffer followed by SIMDJSON_PADDING zero bytes, then a quote and
    // more zeros: a string left open by a broken last record stops at that quote instead of
    // running past the buffer (the record is then rejected by the per-record path).
    char* padded_batch(std::span<const char> bytes) {
        const std::size_t needed = bytes.size() + 2 * simdjson::SIMDJSON_PADDING + 1;
        if (needed > batch_capacity) {
            batch_capacity = std::max<std::size_t>({needed, batch_capacity * 2, 1U << 16});
            batch = std::make_unique<char[]>(batch_capacity);
        }
        if (!bytes.empty()) {
            std::memcpy(batch.get(), bytes.data(), bytes.size());
        }
        std::memset(batch.get() + bytes.size(), 0, 2 * simdjson::SIMDJSON_PADDING + 1);
        batch[bytes.size() + simdjson::SIMDJSON_PADDING] = '"';
        return batch.get();
    }

    char* padded_copy(std::string_view json) {
        const std::size_t needed = json.size() + simdjson::SIMDJSON_PADDING;
        if (needed > capacity) {
            capacity = std::max<std::size_t>({needed, capacity * 2, 4096});
            buffer = std::make_unique<char[]>(capacity);
        }
        if (!json.empty()) {
            std::memcpy(buffer.get(), json.data(), json.size());  // an empty view may be null
        }
        // simdjson may read past the end of the document (it relies on padding, as a
        // padded_string has): zero it so that no byte of an earlier, longer record can
        // pass for a closing brace or a digit.
        std::memset(buffer.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
        return buffer.get();
    }
};

thread_state& local_state() {
    thread_local thread_state state;
    return state;
}

// True if the first `size` bytes of `a` and `b` are equal. Reads whole 8-byte words, so both
// must be readable up to `size` rounded up to 8: keys lie in the padded document, hint names
// carry 16 NUL bytes. Beats a memcmp call for keys longer than 16 bytes.
inline bool same_bytes(const char* a, const char* b, std::size_t size) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t x = 0;
        std::uint64_t y = 0;
        std::memcpy(&x, a + i, 8);
        std::memcpy(&y, b + i, 8);
        if (x != y) {
            return false;
        }
    }
    if (i == size) {
        return true;
    }
    std::uint64_t x = 0;
    std::uint64_t y = 0;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    const auto tail_bits = static_cast<unsigned>(size - i) * 8;  // 8..56
    const std::uint64_t mask = std::endian::native == std::endian::little
                                       ? (std::uint64_t{1} << tail_bits) - 1
                                       : ~std::uint64_t{0} << (64 - tail_bits);
    return ((x ^ y) & mask) == 0;
}

// Where the decoded values of one slot go: numeric and bool columns are resized to the
// input's row count and written by output row index; strings are appended row by row.
struct slot_sink {
    data_type type = data_type::string;  // copied from the plan: one cache line per value
    column* target = nullptr;
    double* f64 = nullptr;
    std::int64_t* i64 = nullptr;
    std::uint8_t* flag = nullptr;
};

// The first `bytes` (0..8) bytes of a word loaded with memcpy.
constexpr std::uint64_t prefix_mask(std::size_t bytes) noexcept {
    if (bytes >= 8) {
        return ~std::uint64_t{0};
    }
    if (bytes == 0) {
        return 0;
    }
    return std::endian::native == std::endian::little ? (std::uint64_t{1} << (bytes * 8)) - 1
                                                      : ~std::uint64_t{0} << (64 - bytes * 8);
}

std::uint64_t load_word(const char* p) noexcept {
    std::uint64_t w = 0;
    std::memcpy(&w, p, 8);
    return w;
}

// Remembers, per key position in an object, which key was there in the previous record:
// records of one stream mostly share their key order, so one compare usually finds the slot.
// Keys of up to 16 bytes are compared as two masked words, without a loop.
struct key_hint {
    std::uint64_t word0 = 0;  // the name's first 16 bytes, zero-padded
    std::uint64_t word1 = 0;
    std::uint64_t mask0 = 0;  // which of them belong to the name
    std::uint64_t mask1 = 0;
    const char* name = nullptr;  // padded name, for names longer than 16 bytes
    std::uint32_t size = std::numeric_limits<std::uint32_t>::max();  // max = no hint
    int slot = -1;                                                   // -1 = ignored key

    // Reads up to 16 bytes (or `size` rounded up to 8) at `raw`, and raw[size]: the caller
    // guarantees they are readable (a key inside a document with SIMDJSON_PADDING).
    bool matches(const char* raw) const noexcept {
        if (size <= 16) {
            const std::uint64_t diff =
                    ((load_word(raw) ^ word0) & mask0) | ((load_word(raw + 8) ^ word1) & mask1);
            return diff == 0 && raw[size] == '"';
        }
        return size < simdjson::SIMDJSON_PADDING && raw[size] == '"' && same_bytes(raw, name, size);
    }
};

// Decodes the rows of one batch. Lives for one `process` call on one thread.
class row_decoder {
public:
    row_decoder(const json_decode_transform::plan& plan, std::vector<slot_sink>& sinks)
        : plan_(plan)
        , sinks_(sinks)
        , state_(local_state())
        , present_(plan.words)
        , nulled_(plan.words)
        , strings_(plan.slots.size()) {}

    /// Decodes `json` into output row `out_row`. On failure returns false and `reason()`
    /// says why; the values written for the row are overwritten by the next accepted row.
    bool decode(std::string_view json, std::size_t out_row) {
        json_ = json;
        current_row_ = out_row;
        buffer_ = state_.padded_copy(json);
        auto parsed = state_.parser.iterate(buffer_, json.size(), state_.capacity);
        if (parsed.error() != simdjson::SUCCESS) {
            return fail_document(parsed.error());
        }
        ondemand::document& doc = parsed.value_unsafe();
        if (!decode_members(doc, out_row)) {
            return false;
        }
        // The object is complete; anything after it is not part of this record. (simdjson
        // 3.0 has no document::at_end(): current_location() is OUT_OF_BOUNDS at the end.)
        if (const auto where = doc.current_location(); where.error() == simdjson::SUCCESS) {
            reason_.clear();
            fmt::format_to(std::back_inserter(reason_),
                           "invalid JSON: trailing content at byte {} after the object: {}",
                           where.value_unsafe() - buffer_,
                           quoted_excerpt(json.substr(
                                   static_cast<std::size_t>(where.value_unsafe() - buffer_))));
            return false;
        }
        return commit(out_row);
    }

    /// The batch path: decodes `doc`, a document of a stream over the batch's bytes that
    /// starts where record `json` does, its copy at `record` in the batch buffer. The record
    /// counts as this document only if the next document starts at `next` (the next record's
    /// first byte that is not blank), or, with `next` null, if no document follows. Returns
    /// false when the record is rejected or does not match the document; the caller then
    /// decodes it alone with decode(), for the exact reason, and that overwrites the row.
    bool decode_streamed(ondemand::document& doc,
                         std::string_view json,
                         const char* record,
                         const char* next,
                         std::size_t out_row) {
        json_ = json;
        current_row_ = out_row;
        buffer_ = record;
        if (!decode_members(doc, out_row)) {
            return false;
        }
        const auto where = doc.current_location();
        if (next == nullptr ? where.error() != simdjson::OUT_OF_BOUNDS
                            : where.error() != simdjson::SUCCESS || where.value_unsafe() != next) {
            return false;
        }
        return commit(out_row);
    }

    const std::string& reason() const noexcept { return reason_; }

private:
    static constexpr int key_failed = -2;

    // The root object's members, into row `out_row` (not committed yet).
    bool decode_members(ondemand::document& doc, std::size_t out_row) {
        ondemand::object object;
        if (const auto error = doc.get_object().get(object); error != simdjson::SUCCESS) {
            return fail_root(error, doc);
        }
        std::fill(present_.begin(), present_.end(), 0);
        std::fill(nulled_.begin(), nulled_.end(), 0);
        std::uint32_t ordinal = 0;
        for (auto member : object) {
            if (member.error() != simdjson::SUCCESS) {
                return fail_at(member.error(), doc, {});
            }
            ondemand::field& field = member.value_unsafe();
            const int slot = match_key(field, ordinal++, doc);
            if (slot == key_failed) {
                return false;
            }
            if (slot < 0) {
                continue;  // not in the schema: simdjson skips the value
            }
            if (!read_value(field.value(), static_cast<std::size_t>(slot), out_row, doc)) {
                return false;
            }
        }
        return true;
    }

    bool commit(std::size_t out_row) {
        for (std::size_t w = 0; w < plan_.words; ++w) {
            if (const auto missing = plan_.required_mask[w] & ~present_[w]; missing != 0) {
                const auto bit = static_cast<std::size_t>(std::countr_zero(missing));
                const auto& name = plan_.slots[w * 64 + bit].name;
                reason_.clear();
                if (((nulled_[w] >> bit) & 1U) != 0) {
                    fmt::format_to(std::back_inserter(reason_), "field '{}' is null", name);
                } else {
                    fmt::format_to(
                            std::back_inserter(reason_), "missing required field '{}'", name);
                }
                return false;
            }
        }
        for (const auto slot : plan_.string_slots) {
            if (((present_[slot >> 6] >> (slot & 63)) & 1U) != 0) {
                sinks_[slot].target->push_string(strings_[slot]);
            } else {
                sinks_[slot].target->push_null();
            }
        }
        for (std::size_t w = 0; w < plan_.words; ++w) {
            for (auto absent = plan_.numeric_mask[w] & ~present_[w]; absent != 0;
                 absent &= absent - 1) {
                const auto slot = w * 64 + static_cast<std::size_t>(std::countr_zero(absent));
                sinks_[slot].target->set_null(out_row);
            }
        }
        return true;
    }

    int match_key(ondemand::field& field, std::uint32_t ordinal, ondemand::document& doc) {
        const char* raw = field.key().raw();
        // The reads of matches() stay inside the document or its zeroed padding: raw points
        // into the document and hinted names are shorter than the padding.
        if (ordinal < hints_.size() && hints_[ordinal].matches(raw)) {
            return hints_[ordinal].slot;
        }
        // Stage 1 validated the strings, so the key's closing quote is inside the document.
        const char* end = buffer_ + json_.size();
        const auto* quote = static_cast<const char*>(
                std::memchr(raw, '"', static_cast<std::size_t>(end - raw)));
        const std::string_view key(raw, static_cast<std::size_t>(quote - raw));
        if (key.find('\\') != std::string_view::npos) {
            // An escaped key (rare): compare its unescaped form, and do not cache it.
            std::string_view unescaped;
            if (const auto error = field.unescaped_key().get(unescaped);
                error != simdjson::SUCCESS) {
                fail_at(error, doc, {});
                return key_failed;
            }
            return plan_.find(unescaped);
        }
        const int slot = plan_.find(key);
        remember(ordinal, key, slot);
        return slot;
    }

    void remember(std::uint32_t ordinal, std::string_view key, int slot) {
        if (key.size() >= simdjson::SIMDJSON_PADDING || ordinal >= max_hints) {
            return;
        }
        const char* name = nullptr;
        if (slot >= 0) {
            name = plan_.slots[static_cast<std::size_t>(slot)].padded_name.data();
        } else if (ignored_names_.size() < max_ignored_names) {
            // Padded like the slot names; a deque keeps earlier names where they are.
            auto& stored = ignored_names_.emplace_back(key);
            stored.append(16, '\0');
            name = stored.data();
        } else {
            return;
        }
        if (ordinal >= hints_.size()) {
            hints_.resize(ordinal + 1);
        }
        auto& hint = hints_[ordinal];
        hint.word0 = load_word(name);
        hint.word1 = load_word(name + 8);
        hint.mask0 = prefix_mask(key.size());
        hint.mask1 = key.size() > 8 ? prefix_mask(key.size() - 8) : 0;
        hint.name = name;
        hint.size = static_cast<std::uint32_t>(key.size());
        hint.slot = slot;
    }

    // The fast path is one typed get per value; only when it fails is the value's JSON type
    // looked at, to tell a null from a type error from a malformed or out-of-range value.
    // (A failed scalar get leaves the on-demand iterator where it was.)
    bool read_value(ondemand::value& value,
                    std::size_t slot,
                    std::size_t out_row,
                    ondemand::document& doc) {
        const auto& sink = sinks_[slot];
        switch (sink.type) {
            case data_type::float64:
                if (value.get_double().get(sink.f64[out_row]) != simdjson::SUCCESS) {
                    return read_failed(value, slot, doc);
                }
                break;
            case data_type::int64:
            case data_type::timestamp_ms:
                if (value.get_int64().get(sink.i64[out_row]) != simdjson::SUCCESS) {
                    return read_failed(value, slot, doc);
                }
                break;
            case data_type::boolean: {
                bool flag = false;
                if (value.get_bool().get(flag) != simdjson::SUCCESS) {
                    return read_failed(value, slot, doc);
                }
                sink.flag[out_row] = flag ? 1 : 0;
                break;
            }
            case data_type::string:
                // The view points into the parser's string buffer, valid until the next
                // document: commit() copies it into the column.
                if (value.get_string().get(strings_[slot]) != simdjson::SUCCESS) {
                    return read_failed(value, slot, doc);
                }
                break;
        }
        mark_present(slot);
        return true;
    }

    // `nulled_` is left alone: commit() only reads it for slots that end up without a value.
    void mark_present(std::size_t slot) noexcept {
        present_[slot >> 6] |= std::uint64_t{1} << (slot & 63);
    }

    // The slow path of read_value: null, the other accepted spellings (a whole number written
    // as a double, an ISO-8601 timestamp), or a precise reason for the rejection.
    SLUICE_JSON_COLD bool read_failed(ondemand::value& value,
                                      std::size_t slot,
                                      ondemand::document& doc) {
        const auto& spec = plan_.slots[slot];
        auto kind_result = value.type();
        if (kind_result.error() != simdjson::SUCCESS) {
            return fail_at(kind_result.error(), doc, spec.name);
        }
        const auto kind = kind_result.value_unsafe();
        if (kind == ondemand::json_type::null) {
            bool is_null = false;
            if (value.is_null().get(is_null) != simdjson::SUCCESS || !is_null) {
                return fail_literal(value, spec.name);
            }
            const std::uint64_t bit = std::uint64_t{1} << (slot & 63);
            present_[slot >> 6] &= ~bit;  // the last occurrence of a key wins, null included
            nulled_[slot >> 6] |= bit;
            return true;
        }
        switch (spec.type) {
            case data_type::float64:
                if (kind == ondemand::json_type::number) {
                    return fail_number(value, spec, "not a valid number or out of range");
                }
                break;
            case data_type::int64:
            case data_type::timestamp_ms:
                if (kind == ondemand::json_type::number) {
                    if (!read_whole_double(value, spec, sinks_[slot].i64[current_row_])) {
                        return false;
                    }
                    mark_present(slot);
                    return true;
                }
                if (spec.type == data_type::timestamp_ms && kind == ondemand::json_type::string) {
                    std::string_view text;
                    if (const auto error = value.get_string().get(text);
                        error != simdjson::SUCCESS) {
                        return fail_at(error, doc, spec.name);
                    }
                    const auto ms = parse_iso8601_ms(text);
                    if (!ms) {
                        reason_.clear();
                        fmt::format_to(std::back_inserter(reason_),
                                       "field '{}': expected timestamp_ms (integer ms since the "
                                       "epoch or an "
                                       "ISO-8601 string), found string \"{}\"",
                                       spec.name,
                                       quoted_excerpt(text));
                        return false;
                    }
                    sinks_[slot].i64[current_row_] = *ms;
                    mark_present(slot);
                    return true;
                }
                break;
            case data_type::boolean:
                if (kind == ondemand::json_type::boolean) {
                    return fail_literal(value, spec.name);
                }
                break;
            case data_type::string:
                if (kind == ondemand::json_type::string) {
                    // It is a string, so the get failed on its content (a bad escape).
                    const auto error = value.get_string().error();
                    return fail_at(error != simdjson::SUCCESS ? error : simdjson::STRING_ERROR,
                                   doc,
                                   spec.name);
                }
                break;
        }
        return fail_type(value, kind, spec);
    }

    // int64 and timestamp_ms written as a number that get_int64 refused: accepted if it is a
    // whole number that a double holds exactly (`7.0`, `1e3`: producers that only have
    // doubles write these), rejected if it has a fraction or is out of range.
    SLUICE_JSON_COLD bool read_whole_double(ondemand::value& value,
                                            const json_decode_transform::plan::slot& spec,
                                            std::int64_t& out) {
        double number = 0;
        if (value.get_double().get(number) != simdjson::SUCCESS) {
            return fail_number(value, spec, "not a valid number or out of range");
        }
        if (std::trunc(number) != number) {
            return fail_number(value, spec, "not a whole number");
        }
        if (std::fabs(number) >= max_exact_double_integer) {
            return fail_number(value, spec, "out of range");
        }
        out = static_cast<std::int64_t>(number);
        return true;
    }

    SLUICE_JSON_COLD bool fail_number(ondemand::value& value,
                                      const json_decode_transform::plan::slot& spec,
                                      std::string_view what) {
        reason_.clear();
        fmt::format_to(std::back_inserter(reason_),
                       "field '{}': expected {}, found {} ({})",
                       spec.name,
                       to_string(spec.type),
                       quoted_excerpt(value.raw_json_token()),
                       what);
        return false;
    }

    SLUICE_JSON_COLD bool fail_type(ondemand::value& value,
                                    ondemand::json_type kind,
                                    const json_decode_transform::plan::slot& spec) {
        reason_.clear();
        fmt::format_to(std::back_inserter(reason_),
                       "field '{}': expected {}, found {}",
                       spec.name,
                       to_string(spec.type),
                       json_type_name(kind));
        // A container's raw token is only its opening bracket: naming the kind says enough.
        if (kind != ondemand::json_type::object && kind != ondemand::json_type::array) {
            fmt::format_to(
                    std::back_inserter(reason_), " {}", quoted_excerpt(value.raw_json_token()));
        }
        return false;
    }

    SLUICE_JSON_COLD bool fail_literal(ondemand::value& value, std::string_view name) {
        reason_.clear();
        fmt::format_to(std::back_inserter(reason_),
                       "invalid JSON: field '{}': bad literal {}",
                       name,
                       quoted_excerpt(value.raw_json_token()));
        return false;
    }

    SLUICE_JSON_COLD bool fail_document(simdjson::error_code error) {
        reason_.clear();
        if (error == simdjson::EMPTY) {
            reason_ = "invalid JSON: empty record";
        } else {
            fmt::format_to(std::back_inserter(reason_),
                           "invalid JSON: {}: {}",
                           error_name(error),
                           simdjson::error_message(error));
        }
        return false;
    }

    SLUICE_JSON_COLD bool fail_at(simdjson::error_code error,
                                  ondemand::document& doc,
                                  std::string_view field_name) {
        reason_.clear();
        reason_ += "invalid JSON: ";
        if (!field_name.empty()) {
            fmt::format_to(std::back_inserter(reason_), "field '{}': ", field_name);
        }
        fmt::format_to(std::back_inserter(reason_), "{}", error_name(error));
        if (const auto where = doc.current_location(); where.error() == simdjson::SUCCESS) {
            const auto offset = where.value_unsafe() - buffer_;
            if (offset >= 0 && static_cast<std::size_t>(offset) <= json_.size()) {
                fmt::format_to(std::back_inserter(reason_), " at byte {}", offset);
            }
        }
        fmt::format_to(std::back_inserter(reason_), ": {}", simdjson::error_message(error));
        return false;
    }

    // The root is valid so far but not an object (or the object is cut short).
    SLUICE_JSON_COLD bool fail_root(simdjson::error_code error, ondemand::document& doc) {
        if (error != simdjson::INCORRECT_TYPE) {
            return fail_at(error, doc, {});
        }
        std::string_view text = json_;
        const auto first = text.find_first_not_of(" \t\n\r");
        text = first == std::string_view::npos ? std::string_view() : text.substr(first);
        const auto last = text.find_last_not_of(" \t\n\r");
        text = text.substr(0, last == std::string_view::npos ? 0 : last + 1);
        const char c = text.empty() ? '\0' : text.front();
        std::string_view found;
        if (c == '[') {
            found = "an array";
        } else if (c == '"') {
            found = "a string";
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            found = "a number";
        } else if (text == "true" || text == "false") {
            found = "a bool";
        } else if (text == "null") {
            found = "null";
        }
        reason_.clear();
        if (found.empty()) {
            fmt::format_to(std::back_inserter(reason_),
                           "invalid JSON: not a JSON value: {}",
                           quoted_excerpt(text));
        } else {
            fmt::format_to(std::back_inserter(reason_),
                           "expected a JSON object, found {}: {}",
                           found,
                           quoted_excerpt(text));
        }
        return false;
    }

    static constexpr std::size_t max_hints = 256;
    static constexpr std::size_t max_ignored_names = 256;

    const json_decode_transform::plan& plan_;
    std::vector<slot_sink>& sinks_;
    thread_state& state_;
    std::vector<std::uint64_t> present_;  // slot has a value in this row
    std::vector<std::uint64_t>
            nulled_;  // slot was seen as JSON null in this row (if absent now: last)
    std::vector<std::string_view> strings_;
    std::vector<key_hint> hints_;
    std::deque<std::string> ignored_names_;
    std::string reason_;
    std::string_view json_;
    const char* buffer_ = nullptr;
    std::size_t current_row_ = 0;
};

// Batches smaller than this are decoded record by record: a stream's set-up is not worth it.
constexpr std::size_t min_streamed_rows = 8;
// Records per stream (one stage 1 pass each). A record that does not decode as its own
// document ends the stream early and the next one starts after it, so this bounds the bytes
// scanned again; 128 seed records (~24 KB) also keep the structural index in L1/L2.
constexpr std::size_t max_streamed_rows = 128;
// Streams a batch may end early before the rest of it is decoded record by record: a batch
// of mostly broken records costs a few extra stage 1 passes, not one per record.
constexpr int max_stream_restarts = 24;
constexpr std::uint32_t blank_record = std::numeric_limits<std::uint32_t>::max();

bool is_json_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The batch path. Records of a string column lie back to back, so stage 1 (the SIMD scan
// for structural characters, ~1/3 of the work per record) runs once over up to
// `max_streamed_rows` records with simdjson's document_stream, instead of once per record
// with its per-document set-up. A record is taken from the stream only if exactly one
// document starts at its first non-blank byte and the next one at the next record's: then
// the structural characters seen inside it are those it has alone (stage 1 carries state
// from byte to byte only forward, and a document can only start outside a string), and it
// decodes as decode() would. Anything else - a stream error, a document that does not line
// up, any rejection - sends that record to `decode_alone` (the per-record path, which
// words every rejection) and restarts the stream after it, since a broken record (an open
// string, a missing brace) can change how the stream reads the records that follow.
template <typename DecodeAlone>
void decode_streamed(const column& raw,
                     std::size_t rows,
                     row_decoder& decoder,
                     std::size_t& accepted,
                     DecodeAlone&& decode_alone) {
    auto& state = local_state();
    const auto bytes = raw.string_bytes();
    const auto offsets = raw.string_offsets();
    char* const buf = state.padded_batch(bytes);
    // Each record's first non-blank byte. Records that cannot be one object alone (null,
    // blank, not starting with '{' or not ending with '}') are decoded alone, and blanked
    // here so that the stream does not see them. The test on the last byte also keeps out
    // trailing bytes that stage 1 of a stream's last window would drop unseen (an
    // incomplete UTF-8 character at the very end).
    std::vector<std::uint32_t> first(rows, blank_record);
    for (std::size_t row = 0; row < rows; ++row) {
        std::uint32_t at = offsets[row];
        std::uint32_t end = offsets[row + 1];
        if (raw.is_valid(row)) {
            while (at < end && is_json_space(buf[at])) {
                ++at;
            }
            while (end > at && is_json_space(buf[end - 1])) {
                --end;
            }
            if (end - at >= 2 && buf[at] == '{' && buf[end - 1] == '}') {
                first[row] = at;
                continue;
            }
        }
        std::memset(buf + offsets[row], ' ', offsets[row + 1] - offsets[row]);
    }

    // Decodes rows [begin, end) from one stream. Returns the first row it could not take
    // (end if none), and whether stage 1 failed for the whole range.
    struct stop {
        std::size_t row;
        bool whole_range;
    };
    const auto stream_range = [&](std::size_t begin, std::size_t end) -> stop {
        const std::size_t from = offsets[begin];
        const std::size_t len = offsets[end] - from;
        std::size_t row = begin;
        if (len == 0) {
            for (; row < end; ++row) {
                decode_alone(row);  // all empty
            }
            return {row, false};
        }
        auto& parser = state.stream_parser;
        // The window holds the whole range (one stage 1 pass, no helper thread). Growing
        // it in powers of two, never shrinking, spares a reallocation per stream.
        const std::size_t window = std::max<std::size_t>(
                parser.capacity(), std::bit_ceil(std::max<std::size_t>(len, 1U << 15)));
        ondemand::document_stream stream;
        if (parser.iterate_many(buf + from, len, window).get(stream) != simdjson::SUCCESS) {
            return {row, true};
        }
        auto it = stream.begin();
        // streaming_final stage 1 silently drops an incomplete last document.
        const bool tail_complete = stream.truncated_bytes() == 0;
        bool first_document = true;
        while (row < end) {
            if (first[row] == blank_record) {
                decode_alone(row);
                ++row;
                continue;
            }
            std::size_t next = row + 1;
            while (next < end && first[next] == blank_record) {
                ++next;
            }
            if (!(it != stream.end())) {
                return {row, false};
            }
            auto current = *it;
            if (current.error() != simdjson::SUCCESS) {
                return {row, first_document};
            }
            first_document = false;
            ondemand::document& doc = current.value_unsafe();
            const auto at = doc.current_location();
            if (at.error() != simdjson::SUCCESS || at.value_unsafe() != buf + first[row]) {
                return {row, false};
            }
            if (next == end && !tail_complete) {
                return {row, false};
            }
            const char* following = next < end ? buf + first[next] : nullptr;
            const std::string_view json(bytes.data() + offsets[row],
                                        offsets[row + 1] - offsets[row]);
            if (!decoder.decode_streamed(doc, json, buf + offsets[row], following, accepted)) {
                return {row, false};
            }
            ++accepted;
            ++row;
            ++it;
        }
        return {row, false};
    };

    std::size_t row = 0;
    std::size_t range = max_streamed_rows;
    int restarts = 0;
    while (row < rows) {
        if (restarts >= max_stream_restarts) {
            decode_alone(row++);
            continue;
        }
        const std::size_t end = std::min(rows, row + range);
        const auto [stopped, whole_range] = stream_range(row, end);
        row = stopped;  // rows before it are done (blank ones alone)
        if (row == end) {
            range = std::min(max_streamed_rows, range * 2);
            continue;
        }
        ++restarts;
        if (whole_range && end - row > 1) {
            // Stage 1 refused the range (bad UTF-8, a control character in a string): halve
            // it until the broken record is alone, then decode that one alone.
            range = (end - row) / 2;
            continue;
        }
        decode_alone(row++);
        range = max_streamed_rows;
    }
}

std::unique_ptr<json_decode_transform::plan> make_plan(const json_decode_config& config) {
    auto p = std::make_unique<json_decode_transform::plan>();
    p->slots.reserve(config.schema.size());
    p->words = (config.schema.size() + 63) / 64;
    p->required_mask.assign(p->words, 0);
    p->numeric_mask.assign(p->words, 0);
    for (const auto& f : config.schema) {
        const auto index = p->slots.size();
        p->slots.push_back({f.name, f.name + std::string(16, '\0'), f.type, !f.nullable});
        const std::uint64_t bit = std::uint64_t{1} << (index & 63);
        if (!f.nullable) {
            p->required_mask[index >> 6] |= bit;
        }
        if (f.type == data_type::string) {
            p->string_slots.push_back(static_cast<std::uint32_t>(index));
        } else {
            p->numeric_mask[index >> 6] |= bit;
        }
    }
    p->string_bytes_per_row = std::make_unique<std::atomic<std::uint32_t>[]>(p->slots.size());
    for (std::size_t i = 0; i < p->slots.size(); ++i) {
        p->string_bytes_per_row[i].store(16,
                                         std::memory_order_relaxed);  // until a batch says better
    }
    if (p->slots.size() > json_decode_transform::plan::linear_limit) {
        for (std::size_t i = 0; i < p->slots.size(); ++i) {
            p->by_name.emplace(p->slots[i].name, static_cast<std::uint32_t>(i));
        }
    }
    return p;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// json_decode_transform
// ---------------------------------------------------------------------------------------------

void json_decode_transform::describe(option_spec& spec) {
    spec.field("field", option_kind::string)
            .defaults("value")
            .describe("input string column holding one JSON object per row");
    spec.field("schema", option_kind::string_map)
            .require()
            .describe(
                    "output fields in order, name: type (float64, int64, bool, string, "
                    "timestamp_ms); "
                    "other keys of the JSON objects are ignored");
    spec.field("required", option_kind::string_list)
            .describe(
                    "schema fields a record must hold with a non-null value, else it is rejected; "
                    "default: every schema field. Other fields may be absent or null (a missing "
                    "value)");
    spec.field("keep", option_kind::string_list)
            .defaults("[]")
            .describe(
                    "input columns passed through after the decoded fields, e.g. [partition, "
                    "offset]");
    spec.field("event_time", option_kind::string)
            .describe(
                    "timestamp_ms column marked as the batch's event time; default: the first "
                    "timestamp_ms field of schema");
    spec.check([](const options& opts, diagnostics_collector& out) {
        (void)config_from_options(opts, out);
    });
}

json_decode_config json_decode_transform::read_config(const options& opts) {
    diagnostics_collector out;
    auto config = config_from_options(opts, out);
    out.throw_if_any();
    return config;
}

json_decode_transform::json_decode_transform(json_decode_config config)
    : config_(std::move(config)) {
    diagnostics_collector out;
    // Built in code, so there is no YAML position or id to name: the messages name the option.
    validate_config(config_, [&](std::string_view, std::string code, std::string message) {
        out.add(source_location{}, std::move(code), fmt::format("json_decode: {}", message));
    });
    out.throw_if_any();
    plan_ = make_plan(config_);
}

json_decode_transform::~json_decode_transform() = default;

operator_traits json_decode_transform::traits() const {
    return {concurrency::parallel, false};
}

schema_ptr json_decode_transform::bind(const schema_ptr& input, bind_context& ctx) {
    bool ok = true;
    const auto raw = input->index_of(config_.field);
    if (!raw || input->at(*raw).type != data_type::string) {
        ctx.error("field",
                  "schema-mismatch",
                  fmt::format("expected a string column '{}'; the input has {}",
                              config_.field,
                              input->to_string()));
        ok = false;
    }
    std::vector<field> fields = config_.schema;
    for (const auto& k : config_.keep) {
        const auto index = input->index_of(k);
        if (!index) {
            ctx.error("keep",
                      "schema-mismatch",
                      fmt::format("kept column '{}' is not in the input; the input has {}",
                                  k,
                                  input->to_string()));
            ok = false;
            continue;
        }
        fields.push_back(input->at(*index));
    }
    std::optional<std::size_t> event_time;
    if (!config_.event_time.empty()) {
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (fields[i].name == config_.event_time) {
                event_time = i;
            }
        }
        if (event_time && fields[*event_time].type != data_type::timestamp_ms) {
            ctx.error("event_time",
                      "schema-mismatch",
                      fmt::format("'event_time' names the kept column '{}', which is {}; expected "
                                  "timestamp_ms",
                                  config_.event_time,
                                  to_string(fields[*event_time].type)));
            ok = false;
        }
    } else {
        for (std::size_t i = 0; i < config_.schema.size(); ++i) {
            if (config_.schema[i].type == data_type::timestamp_ms) {
                event_time = i;
                break;
            }
        }
    }
    if (!ok) {
        return nullptr;
    }
    output_schema_ = make_schema(std::move(fields));
    event_time_index_ = event_time;
    return output_schema_;
}

batch json_decode_transform::process(const batch& input, operator_context& ctx) {
    if (!output_schema_) {
        throw operator_error(ctx.type(), ctx.id(), "process() called before a successful bind()");
    }
    const auto& in_schema = *input.schema();
    const auto raw_index = in_schema.index_of(config_.field);
    if (!raw_index || in_schema.at(*raw_index).type != data_type::string) {
        throw operator_error(ctx.type(),
                             ctx.id(),
                             fmt::format("input batch has no string column '{}' (it has {})",
                                         config_.field,
                                         in_schema.to_string()));
    }
    std::vector<std::size_t> keep_index;
    keep_index.reserve(config_.keep.size());
    for (const auto& k : config_.keep) {
        const auto index = in_schema.index_of(k);
        if (!index) {
            throw operator_error(ctx.type(),
                                 ctx.id(),
                                 fmt::format("input batch has no column '{}' to keep (it has {})",
                                             k,
                                             in_schema.to_string()));
        }
        keep_index.push_back(*index);
    }

    const column& raw = input.column_at(*raw_index);
    const std::size_t rows = input.num_rows();
    const auto bytes = raw.string_bytes();
    const auto offsets = raw.string_offsets();
    ctx.metrics().bytes_in.fetch_add(bytes.size(), std::memory_order_relaxed);

    const auto& slots = plan_->slots;
    std::vector<std::shared_ptr<column>> decoded;
    std::vector<slot_sink> sinks(slots.size());
    decoded.reserve(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i) {
        auto c = std::make_shared<column>(slots[i].type);
        auto& sink = sinks[i];
        sink.type = slots[i].type;
        sink.target = c.get();
        switch (slots[i].type) {
            case data_type::float64:
                c->resize(rows);
                sink.f64 = c->mutable_float64().data();
                break;
            case data_type::int64:
            case data_type::timestamp_ms:
                c->resize(rows);
                sink.i64 = c->mutable_int64().data();
                break;
            case data_type::boolean:
                c->resize(rows);
                sink.flag = c->mutable_bool().data();
                break;
            case data_type::string: {
                const auto per_row = plan_->string_bytes_per_row[i].load(std::memory_order_relaxed);
                c->reserve(rows, rows * per_row + rows * per_row / 8 + 64);
                break;
            }
        }
        decoded.push_back(std::move(c));
    }

    row_decoder decoder(*plan_, sinks);
    std::vector<std::uint8_t> selection(rows, 1);
    std::vector<source_position> positions;
    bool have_positions = false;
    std::size_t accepted = 0;
    const auto record = [&](std::size_t row) {
        return std::string_view(bytes.data() + offsets[row], offsets[row + 1] - offsets[row]);
    };
    // One record on its own: the reference path, and the one that words every rejection.
    const auto decode_alone = [&](std::size_t row) {
        const auto json = record(row);
        if (raw.is_valid(row) && decoder.decode(json, accepted)) {
            ++accepted;
            return;
        }
        selection[row] = 0;
        if (!have_positions) {
            positions = input.source_positions();
            have_positions = true;
        }
        if (raw.is_valid(row)) {
            ctx.reject(json, decoder.reason(), false, positions);
        } else {
            ctx.reject(json,
                       fmt::format("input column '{}' is null", config_.field),
                       false,
                       positions);
        }
    };
    if (rows < min_streamed_rows) {
        for (std::size_t row = 0; row < rows; ++row) {
            decode_alone(row);
        }
    } else {
        decode_streamed(raw, rows, decoder, accepted, decode_alone);
    }

    std::vector<column_ptr> columns;
    columns.reserve(output_schema_->size());
    for (std::size_t i = 0; i < slots.size(); ++i) {
        if (slots[i].type != data_type::string) {
            decoded[i]->resize(accepted);  // drop the slots of rejected rows at the end
        } else if (accepted != 0) {
            const auto per_row = (decoded[i]->string_bytes().size() + accepted - 1) / accepted;
            plan_->string_bytes_per_row[i].store(
                    static_cast<std::uint32_t>(std::min<std::size_t>(per_row, 1U << 20)),
                    std::memory_order_relaxed);
        }
        columns.push_back(std::move(decoded[i]));
    }
    for (const auto index : keep_index) {
        if (accepted == rows) {
            columns.push_back(input.shared_column(index));  // nothing rejected: share, never copy
        } else {
            columns.push_back(
                    std::make_shared<const column>(input.column_at(index).filter(selection)));
        }
    }
    batch out(output_schema_, std::move(columns));
    out.inherit_lineage(input, selection);
    if (event_time_index_) {
        out.set_event_time_column(event_time_index_);
    }
    return out;
}

void register_json_operators(operator_registry& registry) {
    registry.add_transform(
            std::string(json_decode_transform::type_name),
            "decodes one JSON object per row of a string column into typed columns (simdjson)",
            &json_decode_transform::describe,
            [](const options& opts, build_context&) -> std::unique_ptr<transform> {
                return std::make_unique<json_decode_transform>(
                        json_decode_transform::read_config(opts));
            });
}

}  // namespace sluice
