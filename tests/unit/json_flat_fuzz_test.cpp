// Differential fuzz test of json_decode's flat path (row_decoder::decode_flat, flat_scan.hpp).
//
// The flat path reads plain records without simdjson and declines every other form to the
// per-record simdjson path; its contract is that for every record it either declines or
// produces exactly what the per-record path produces: the same accept/reject decision, the
// same values (doubles bit for bit), the same nulls, the same string bytes, the same
// dead-letter reason. Here every record is decoded twice: inside a batch of 8 rows (the
// smallest the batch route takes; with fewer than 8 rows left after any row the batch never
// hands over to the stream path, so every row meets the flat path first) and alone in a
// batch of one row (the per-record path). A second part runs long batches, one mutated
// record per 16 rows, so that the scanner's key hints carry across many records; a third
// runs batches of mutated records only, which the batch route hands over to the stream path
// after a few declines.
//
// The records are seed-like sensor records mutated at every level: values at the edges of
// each type, wrong types, nulls, escapes, unicode and invalid UTF-8, unknown keys with
// nested values, duplicate and escaped keys, key order, whitespace, then bytes truncated,
// flipped, inserted, deleted and appended. Seeds are fixed: a run is reproducible.
// A discrepancy is reduced to a smaller record that still shows it before it is reported.

#include "support/json_decode_support.hpp"

#include <sluice/core/batch.hpp>
#include <sluice/operator/context.hpp>
#include <sluice/ops/json.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace sluice;
using sluice::testing::collecting_dead_letters;
using sluice::testing::escaped_bytes;
using sluice::testing::json_decode_config_of;
using sluice::testing::render_row;

namespace {

using record = std::optional<std::string>;  // nullopt: a null input row
using option_values = testing::json_option_values;

/// The record's bytes with everything but printable ASCII written as \xNN, for messages.
std::string escaped(const record& r) {
    return r ? escaped_bytes(*r) : "<null row>";
}

/// What one row became: its decoded values (doubles as bits), or its dead letter.
struct row_result {
    bool accepted = false;
    std::string text;  // values rendered, or "rejected: <reason>"

    bool operator==(const row_result&) const = default;
};

/// One json_decode transform bound to a batch of (value: string, offset: int64), keeping
/// `offset` (the input row index) so that each output row names the input row it came from.
class decoder_under_test {
public:
    explicit decoder_under_test(option_values options)
        : op_(json_decode_config_of(with_kept_offset(std::move(options))))
        , input_schema_(make_schema({{"value", data_type::string}, {"offset", data_type::int64}})) {
        diagnostics_collector diagnostics;
        bind_context bind_ctx("json_decode", "fuzz", nullptr, &diagnostics);
        REQUIRE(op_.bind(input_schema_, bind_ctx) != nullptr);
        REQUIRE(diagnostics.empty());
        fields_ = op_.config().schema.size();
    }

    /// Each row of `rows` decoded in one batch, in input order.
    std::vector<row_result> decode(const std::vector<record>& rows) {
        dead_.items.clear();
        const batch out = op_.process(make_input(rows), ctx_);
        std::vector<row_result> results(rows.size());
        std::vector<bool> accepted(rows.size(), false);
        // Checked once per batch, not per row: a million assertions would dominate the run.
        REQUIRE(out.num_rows() + dead_.items.size() == rows.size());
        const auto offsets = out.column_at(fields_).int64_values();
        bool in_order = true;
        for (std::size_t r = 0; r < out.num_rows(); ++r) {
            const auto in = static_cast<std::size_t>(offsets[r]);
            in_order = in_order && in < rows.size() && (r == 0 || offsets[r - 1] < offsets[r]);
            if (in_order) {
                accepted[in] = true;
                results[in] = {true, render_row(out, r, fields_)};
            }
        }
        REQUIRE(in_order);
        // Dead letters come in input order: the rejected rows are the ones not in the output.
        std::size_t next_dead = 0;
        for (std::size_t in = 0; in < rows.size(); ++in) {
            if (accepted[in]) {
                continue;
            }
            const auto& item = dead_.items[next_dead++];
            results[in] = {false, "rejected: " + item.reason};
            if (item.payload != rows[in].value_or(item.payload)) {
                results[in].text +=
                        " (dead letter holds other bytes: " + escaped(item.payload) + ")";
            }
        }
        return results;
    }

    /// `r` decoded alone: a batch of one row, which always takes the per-record path.
    row_result decode_alone(const record& r) { return decode({r}).front(); }

private:
    static option_values with_kept_offset(option_values options) {
        options.emplace_back("keep", "[offset]");
        return options;
    }

    // The string column's bytes are allocated exactly as long as the records, so that a read
    // past the last record is a heap overflow AddressSanitizer reports (a vector's spare
    // capacity would hide it).
    batch make_input(const std::vector<record>& rows) const {
        std::size_t total = 0;
        bool any_null = false;
        for (const auto& r : rows) {
            total += r ? r->size() : 0;
            any_null = any_null || !r;
        }
        std::vector<char> bytes;
        bytes.reserve(total);
        std::vector<std::uint32_t> offsets{0};
        std::vector<std::uint64_t> validity;
        if (any_null) {
            validity.assign((rows.size() + 63) / 64, ~std::uint64_t{0});
        }
        auto index = std::make_shared<column>(data_type::int64);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (rows[i]) {
                bytes.insert(bytes.end(), rows[i]->begin(), rows[i]->end());
            } else {
                validity[i / 64] &= ~(std::uint64_t{1} << (i % 64));
            }
            offsets.push_back(static_cast<std::uint32_t>(bytes.size()));
            index->push_int64(static_cast<std::int64_t>(i));
        }
        auto value = std::make_shared<column>(data_type::string);
        value->assign_strings(std::move(bytes), std::move(offsets), std::move(validity));
        return batch(input_schema_, {value, index});
    }

    json_decode_transform op_;
    schema_ptr input_schema_;
    std::size_t fields_ = 0;
    collecting_dead_letters dead_;
    // One context for every batch: building one (its metrics) costs more than a small batch.
    operator_context ctx_{"json_decode", "fuzz", nullptr, &dead_, nullptr};
};

// ---- record generation -----------------------------------------------------------------

class fuzz_rng {
public:
    explicit fuzz_rng(std::uint64_t seed)
        : engine_(seed) {}

    // Plain modulo, not a distribution: std's distributions differ between libraries, and
    // the records must be the same everywhere for a seed.
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(engine_() % n); }
    bool percent(std::size_t p) { return below(100) < p; }
    template <typename T>
    const T& pick(const std::vector<T>& from) {
        return from[below(from.size())];
    }

private:
    std::mt19937_64 engine_;
};

enum class kind {
    text,
    float64,
    int64,
    timestamp,
    boolean
};

struct member {
    std::string key;
    std::string value;  // JSON text
    kind type;
};

const std::vector<std::string> edge_numbers = {"0",
                                               "-0",
                                               "0.0",
                                               "-0.0",
                                               "00",
                                               "01",
                                               "-01",
                                               "0.",
                                               "1.",
                                               ".5",
                                               "-.5",
                                               "-",
                                               "+1",
                                               "--1",
                                               "1e5",
                                               "1E-2",
                                               "1e+2",
                                               "1e",
                                               "1e-",
                                               "2.5e+1",
                                               "1.5E3",
                                               "0e0",
                                               "-0e-0",
                                               "1.0e0",
                                               "999999999999999999",
                                               "-999999999999999999",
                                               "1000000000000000000",
                                               "123456789012345678",
                                               "1234567890123456789",
                                               "12345678901234567890",
                                               "9007199254740991",
                                               "9007199254740992",
                                               "9007199254740993",
                                               "-9007199254740991",
                                               "-9007199254740992",
                                               "-9007199254740993",
                                               "9007199254740991.5",
                                               "900719925474099.1",
                                               "9223372036854775807",
                                               "9223372036854775808",
                                               "-9223372036854775808",
                                               "-9223372036854775809",
                                               "18446744073709551615",
                                               "18446744073709551616",
                                               "0.1",
                                               "0.2",
                                               "0.3",
                                               "0.30000000000000004",
                                               "3.141592653589793238",
                                               "2.718281828459045",
                                               "0.000000000000000001",
                                               "0.0000000000000000001",
                                               "0.00000000000000001",
                                               "0.12345678901234567",
                                               "0.123456789012345678",
                                               "1.00000000000000000",
                                               "12345678.123456789",
                                               "123456789.12345678",
                                               "4503599627370495.5",
                                               "4503599627370497.5",
                                               "0.000000000000000000000000001",
                                               "123456789012345678901234567890",
                                               "2.2250738585072014e-308",
                                               "4.9e-324",
                                               "1.7976931348623157e308",
                                               "1e400",
                                               "-1e400",
                                               "1e-400",
                                               "NaN",
                                               "Infinity",
                                               "-Infinity",
                                               "0x10",
                                               "1_000",
                                               "1.5.2",
                                               "1..2",
                                               "1 2",
                                               "23.51x",
                                               "7.0",
                                               "7.5",
                                               "-7",
                                               "1764140000123",
                                               "1764140000123.0",
                                               "1.5",
                                               "-1"};
const std::vector<std::string> edge_literals = {"true",
                                                "false",
                                                "null",
                                                "tru",
                                                "truex",
                                                "falsey",
                                                "nul",
                                                "nullx",
                                                "True",
                                                "FALSE",
                                                "f",
                                                "t",
                                                "n",
                                                "\"true\"",
                                                "1",
                                                "0"};
const std::vector<std::string> iso_timestamps = {"2024-05-01T12:00:00Z",
                                                 "2024-05-01",
                                                 "2024-02-30T00:00:00Z",
                                                 "2024-05-01 12:00:00.123456+02:00",
                                                 "2024-05-01T12:00:00.5-01:30",
                                                 "1970-01-01T00:00:00Z",
                                                 "1969-12-31T23:59:59.999Z",
                                                 "2024-05-01T12:00:00\\u005a",
                                                 "2024-05-01T24:00:00Z",
                                                 "yesterday",
                                                 "",
                                                 "2024-05-01T12:00:00Z ",
                                                 "2024-05-01T12:00:00+25:00",
                                                 "9999-12-31T23:59:59Z",
                                                 "2024-05-01T12:00:00\xc3\xa9"};
const std::vector<std::string> nested_values = {"{}",
                                                "[]",
                                                "{\"a\":[1,2,{\"b\":\"}\"}],\"c\":null}",
                                                "[1,\"]\",{\"x\":[[]]},-2.5e3,true]",
                                                "{\"nested\":{\"deeper\":{\"deepest\":\"x\"}}}",
                                                "[\"\\\"\",\"\\\\\"]",
                                                "{\"k\":\"v\",}",
                                                "[1,]",
                                                "[1 2]",
                                                "{\"a\" 1}",
                                                "{",
                                                "[",
                                                "]",
                                                "}",
                                                "{\"a\":{\"b\":[}]}"};
const std::vector<std::string> garbage_atoms = {"tru",
                                                "-",
                                                "1.2.3",
                                                "\xc3\xa9",
                                                "+",
                                                "nulll",
                                                "x",
                                                "1e999",
                                                "--",
                                                "0x1",
                                                "\x7f",
                                                "a\\b",
                                                "\\",
                                                "'s'",
                                                "@",
                                                "1}",
                                                ""};
// Pieces of a string's content, from plain ASCII to escapes, unicode, control characters
// (raw and escaped), invalid UTF-8 and an unescaped quote that ends the string early.
const std::vector<std::string> string_pieces = {"\\\"",
                                                "\\\\",
                                                "\\/",
                                                "\\b",
                                                "\\f",
                                                "\\n",
                                                "\\r",
                                                "\\t",
                                                "\\u00e9",
                                                "\\u0000",
                                                "\\ud83d\\ude00",
                                                "\\ud800",
                                                "\\udc00x",
                                                "\\q",
                                                "\\u12",
                                                "\\u12G4",
                                                "\\x41",
                                                "\\",
                                                "\xc3\xa9",
                                                "\xe2\x82\xac",
                                                "\xf0\x9f\x98\x80",
                                                "\xef\xbb\xbf",
                                                "\x7f",
                                                "\x01",
                                                "\x1f",
                                                "\t",
                                                "\n",
                                                "\\\x01",
                                                "\\\x1f",
                                                "\\\n",
                                                "\xff",
                                                "\xc3",
                                                "\x80",
                                                "\xed\xa0\x80",
                                                "\xf4\x90\x80\x80",
                                                "\xc0\xaf",
                                                "\xe2\x82",
                                                "\xf0\x9f\x98",
                                                "\"",
                                                "\\\xc3\xa9",
                                                "}",
                                                ",",
                                                ":",
                                                "{",
                                                "["};
const std::vector<std::string> unknown_keys = {"junk",
                                               "extra",
                                               "",
                                               "a",
                                               "temp",
                                               "temperature2",
                                               "temperaturf",
                                               "sensor_i",
                                               "sensor_idd",
                                               "Sensor_id",
                                               "hour_of_da",
                                               "an_unknown_key_longer_than_16",
                                               "an_unknown_key_that_is_longer_than_sixty_four_"
                                               "bytes_so_it_never_gets_a_hint",
                                               "caf\xc3\xa9",
                                               "key with spaces",
                                               "k,e:y}"};
const std::vector<std::string> escaped_seed_keys = {"sensor\\u005fid",
                                                    "temperatur\\u0065",
                                                    "\\u0074imestamp",
                                                    "location\\/",
                                                    "is_anomaly\\\"",
                                                    "hum\\idity",
                                                    "day_of_week\\",
                                                    "status_flag\\u00"};

// `w.f` with w below `whole` and f below `fraction`, drawn in that order.
std::string whole_and_fraction(fuzz_rng& rng, std::size_t whole, std::size_t fraction) {
    const auto w = rng.below(whole);
    const auto f = rng.below(fraction);
    return fmt::format("{}.{}", w, f);
}

std::string random_digits(fuzz_rng& rng, std::size_t count, bool nonzero_first) {
    std::string out;
    const bool zero_runs = rng.percent(20);
    for (std::size_t i = 0; i < count; ++i) {
        if (i == 0 && nonzero_first) {
            out += static_cast<char>('1' + rng.below(9));
        } else if (zero_runs && rng.percent(60)) {
            out += '0';
        } else {
            out += static_cast<char>('0' + rng.below(10));
        }
    }
    return out;
}

// Mostly numbers the flat path reads (up to 18 digits, no exponent), around its limits.
std::string random_number(fuzz_rng& rng, bool integral) {
    std::string out;
    if (rng.percent(30)) {
        out += '-';
    }
    const std::size_t int_digits = rng.percent(85) ? 1 + rng.below(18) : 1 + rng.below(22);
    switch (rng.below(12)) {
        case 0:
            out += '0';
            break;
        case 1:
            out += '0' + random_digits(rng, int_digits, false);  // a leading zero
            break;
        default:
            out += random_digits(rng, int_digits, true);
            break;
    }
    if (!integral || rng.percent(5)) {
        if (rng.percent(70)) {
            const std::size_t fraction = rng.percent(90) ? rng.below(18) : rng.below(30);
            out += '.' + random_digits(rng, fraction, false);
        }
    }
    if (rng.percent(4)) {
        out += rng.percent(50) ? 'e' : 'E';
        if (rng.percent(50)) {
            out += rng.percent(50) ? '-' : '+';
        }
        out += random_digits(rng, rng.below(4), false);
    }
    return out;
}

std::string random_string_body(fuzz_rng& rng) {
    static const std::vector<std::size_t> lengths = {0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64};
    const std::size_t length = rng.percent(50) ? rng.pick(lengths) : rng.below(80);
    const std::size_t special = rng.percent(60) ? 0 : 1 + rng.below(30);  // percent per char
    std::string out;
    while (out.size() < length) {
        if (special != 0 && rng.percent(special)) {
            out += rng.pick(string_pieces);
        } else {
            char c = static_cast<char>(0x20 + rng.below(0x5f));
            if (c == '"' || c == '\\') {
                c = '-';
            }
            out += c;
        }
    }
    return out;
}

std::string random_string(fuzz_rng& rng) {
    return '"' + random_string_body(rng) + '"';
}

std::string random_value(fuzz_rng& rng, int depth = 0);

std::string random_container(fuzz_rng& rng, int depth) {
    if (depth >= 3 || rng.percent(40)) {
        return rng.pick(nested_values);
    }
    const bool object = rng.percent(50);
    std::string out = object ? "{" : "[";
    const std::size_t n = rng.below(4);
    for (std::size_t i = 0; i < n; ++i) {
        if (i != 0) {
            out += ',';
        }
        if (object) {
            out += random_string(rng) + ':';
        }
        out += random_value(rng, depth + 1);
    }
    return out + (object ? "}" : "]");
}

std::string random_value(fuzz_rng& rng, int depth) {
    switch (rng.below(8)) {
        case 0:
        case 1:
            return random_string(rng);
        case 2:
            return random_number(rng, rng.percent(50));
        case 3:
            return rng.pick(edge_numbers);
        case 4:
            return rng.pick(edge_literals);
        case 5:
            return rng.pick(garbage_atoms);
        default:
            return random_container(rng, depth);
    }
}

// A value of the member's own type: plain (what the seed holds), at an edge, or broken.
std::string value_of_kind(fuzz_rng& rng, kind type) {
    switch (type) {
        case kind::text:
            if (rng.percent(40)) {
                return fmt::format("\"sensor-{:04}\"", rng.below(10000));
            }
            return random_string(rng);
        case kind::float64:
            if (rng.percent(40)) {
                return whole_and_fraction(rng, 100, 100);
            }
            return rng.percent(75) ? random_number(rng, false) : rng.pick(edge_numbers);
        case kind::int64:
            if (rng.percent(30)) {
                return fmt::format("{}", rng.below(24));
            }
            return rng.percent(70) ? random_number(rng, true) : rng.pick(edge_numbers);
        case kind::timestamp:
            switch (rng.below(4)) {
                case 0:
                    return fmt::format("{}", 1764140000000 + rng.below(1000000));
                case 1:
                    return '"' + rng.pick(iso_timestamps) + '"';
                case 2:
                    return random_number(rng, true);
                default:
                    return rng.pick(edge_numbers);
            }
        case kind::boolean:
            return rng.percent(50) ? (rng.percent(50) ? "true" : "false") : rng.pick(edge_literals);
    }
    return "null";
}

std::vector<member> seed_members(fuzz_rng& rng) {
    std::vector<member> members = {{"sensor_id", "\"sensor-0042\"", kind::text},
                                   {"temperature", "23.45", kind::float64},
                                   {"humidity", "41.2", kind::float64},
                                   {"timestamp", "1764140000123", kind::timestamp},
                                   {"hour_of_day", "7", kind::int64},
                                   {"day_of_week", "3", kind::int64},
                                   {"status_flag", "0", kind::int64},
                                   {"location", "\"building-1/floor-2\"", kind::text},
                                   {"is_anomaly", "false", kind::boolean},
                                   {"calibration_offset_celsius", "-0.25", kind::float64}};
    if (rng.percent(50)) {
        members.pop_back();  // the key only the third schema knows
    }
    if (rng.percent(30)) {
        // Plain values other than the seed's: what most records of a stream look like.
        for (auto& m : members) {
            if (m.type == kind::float64) {
                m.value = whole_and_fraction(rng, 100, 1000);
            } else if (m.type == kind::int64) {
                m.value = fmt::format("{}", rng.below(24));
            }
        }
    }
    return members;
}

// Member-level changes: values, keys, order, duplicates, unknown keys.
void mutate_members(fuzz_rng& rng, std::vector<member>& members) {
    const std::size_t changes = rng.below(4);
    for (std::size_t c = 0; c < changes && !members.empty(); ++c) {
        auto& m = members[rng.below(members.size())];
        switch (rng.below(13)) {
            case 0:
            case 1:
            case 2:
            case 3:
                m.value = value_of_kind(rng, m.type);
                break;
            case 4:
                m.value = "null";
                break;
            case 5:
                m.value = random_value(rng);  // mostly a wrong type
                break;
            case 6:
                members.erase(members.begin() +
                              static_cast<std::ptrdiff_t>(rng.below(members.size())));
                break;
            case 7: {
                member copy = m;  // a duplicate key: the last occurrence wins
                copy.value = rng.percent(30) ? std::string("null") : value_of_kind(rng, copy.type);
                members.insert(members.begin() +
                                       static_cast<std::ptrdiff_t>(rng.below(members.size() + 1)),
                               copy);
                break;
            }
            case 8:
            case 9: {
                // Drawn in a fixed order (a braced list is evaluated left to right; function
                // arguments are not).
                member unknown{rng.pick(unknown_keys), random_value(rng), kind::text};
                const auto at = static_cast<std::ptrdiff_t>(rng.below(members.size() + 1));
                members.insert(members.begin() + at, std::move(unknown));
                break;
            }
            case 10:
                m.key = rng.pick(escaped_seed_keys);
                break;
            case 11:
                m.key = random_string_body(rng);
                break;
            default:
                // Fisher-Yates with our own draws: std::shuffle's order differs between libraries.
                for (std::size_t i = members.size(); i > 1; --i) {
                    std::swap(members[i - 1], members[rng.below(i)]);
                }
                break;
        }
    }
}

// JSON text for the members, with one of several spacing styles and, rarely, broken syntax.
std::string serialize(fuzz_rng& rng, const std::vector<member>& members) {
    static const std::vector<std::string> blanks = {" ", "\t", "\n", "\r", "  ", "\r\n"};
    static const std::vector<std::string> bad_blanks = {
            "\v", "\f", "\xc2\xa0", std::string(1, '\0'), "\x1f", "\\"};
    const std::size_t style = rng.below(10);
    const auto gap = [&]() -> std::string {
        switch (style) {
            case 0:
            case 1:
                return rng.percent(50) ? "" : rng.pick(blanks);
            case 2:
                return rng.percent(3) ? rng.pick(bad_blanks) : rng.pick(blanks);
            default:
                return "";
        }
    };
    const bool broken = rng.percent(6);
    // One draw per statement: the operands of + are evaluated in no fixed order.
    std::string out = gap();
    out += "{";
    for (std::size_t i = 0; i < members.size(); ++i) {
        const auto& m = members[i];
        out += gap();
        out += '"' + m.key + '"';
        out += gap();
        out += broken && rng.percent(10) ? (rng.percent(50) ? "" : "::") : ":";
        out += gap();
        out += m.value;
        out += gap();
        if (i + 1 < members.size()) {
            out += broken && rng.percent(10) ? (rng.percent(50) ? "" : ",,") : ",";
        } else if (broken && rng.percent(30)) {
            out += ",";  // a trailing comma
        }
    }
    out += gap();
    out += "}";
    out += gap();
    return out;
}

// Byte-level damage after serialization.
void mutate_bytes(fuzz_rng& rng, std::string& text) {
    static const std::vector<char> interesting = {
            '{', '}',  '[',    ']',    '"',    '\\',   ':',    ',',    ' ',    '\t',   '\n',
            '0', '1',  '9',    '-',    '+',    '.',    'e',    'E',    'n',    't',    'f',
            'a', '\0', '\x01', '\x1f', '\x7f', '\x80', '\xbf', '\xc3', '\xe2', '\xf0', '\xff'};
    static const std::vector<std::string> tails = {" ",
                                                   "}",
                                                   ",",
                                                   "{}",
                                                   " {\"x\":1}",
                                                   "x",
                                                   "]",
                                                   std::string(1, '\0'),
                                                   "\xff",
                                                   "\n\n",
                                                   "null",
                                                   "\"",
                                                   "\xc3",
                                                   "  \t"};
    // A record cut anywhere, then closed: the scanner meets a brace at the end whatever it is
    // in the middle of (a string, a key, a number), and reads on to it.
    static const std::vector<std::string> closings = {
            "}", "\"}", "\"} ", "0}", "\":1}", "\\\"}", "e}", "\"\t}\n"};
    static const std::vector<std::string> heads = {
            " ", "\xef\xbb\xbf", "[", std::string(1, '\0'), "\n", "\""};
    const std::size_t changes = 1 + rng.below(3);
    for (std::size_t c = 0; c < changes; ++c) {
        const std::size_t at = text.empty() ? 0 : rng.below(text.size());
        switch (rng.below(10)) {
            case 0:
                text.resize(at);  // truncated
                break;
            case 8:
                text.resize(at);
                text += rng.pick(closings);
                break;
            case 1:
                if (!text.empty()) {
                    text.erase(at, 1);
                }
                break;
            case 2:
                text.erase(at, rng.below(8));
                break;
            case 3:
                text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), rng.pick(interesting));
                break;
            case 4:
                if (!text.empty()) {
                    text[at] = rng.pick(interesting);
                }
                break;
            case 5:
                if (!text.empty()) {
                    text[at] = static_cast<char>(text[at] ^ (1 << rng.below(8)));
                }
                break;
            case 6:
                if (!text.empty()) {
                    text.insert(at, text.substr(at, rng.below(12)));
                }
                break;
            case 7:
                text += rng.pick(tails);
                break;
            default:
                text.insert(0, rng.pick(heads));
                break;
        }
    }
}

record random_record(fuzz_rng& rng) {
    static const std::vector<record> specials = {std::nullopt,
                                                 std::string(),
                                                 std::string(" "),
                                                 std::string("\n\t \r"),
                                                 std::string("{}"),
                                                 std::string(" { } "),
                                                 std::string("[]"),
                                                 std::string("null"),
                                                 std::string("{"),
                                                 std::string("}"),
                                                 std::string("{}}"),
                                                 std::string("{\"\":1}"),
                                                 std::string("\"{}\"")};
    if (rng.percent(1)) {
        return rng.pick(specials);
    }
    auto members = seed_members(rng);
    if (rng.percent(85)) {
        mutate_members(rng, members);
    }
    auto text = serialize(rng, members);
    if (rng.percent(35)) {
        mutate_bytes(rng, text);
    }
    return text;
}

// Valid records the flat path reads, between the mutated ones: the first row of each batch
// teaches the scanner its key hints.
const std::vector<record> plain_records = {
        std::string(
                R"({"sensor_id":"sensor-0042","temperature":23.45,"humidity":41.2,"timestamp":1764140000123,"hour_of_day":7,"day_of_week":3,"status_flag":0,"location":"building-1/floor-2","is_anomaly":false})"),
        std::string(
                R"({"sensor_id":"sensor-0001","temperature":-3.5,"humidity":99.99,"timestamp":1764140000999,"hour_of_day":23,"day_of_week":6,"status_flag":2,"location":"building-3/floor-0","is_anomaly":true,"calibration_offset_celsius":0.125})"),
        std::string(
                R"({ "sensor_id": "s", "timestamp": 1, "location": null, "is_anomaly": null })")};

// ---- comparison ------------------------------------------------------------------------

struct discrepancy {
    record original;
    record reduced;
    row_result in_batch;
    row_result alone;
};

/// True if `r`, placed at `position` of a batch of plain records, comes out of the batch
/// differently from alone; fills the two results.
bool differs(decoder_under_test& decoder,
             const record& r,
             std::size_t position,
             row_result& in_batch,
             row_result& alone) {
    std::vector<record> rows(8, plain_records[0]);
    rows[position] = r;
    in_batch = decoder.decode(rows)[position];
    alone = decoder.decode_alone(r);
    return !(in_batch == alone);
}

/// A shorter record that still comes out of a batch differently from alone (bytes removed
/// while a difference stays), or nullopt if the record alone among plain ones does not show
/// it (it needed its neighbours).
std::optional<discrepancy> reduce(decoder_under_test& decoder, const record& r) {
    discrepancy found{r, r, {}, {}};
    std::size_t position = 1;
    if (!differs(decoder, r, position, found.in_batch, found.alone)) {
        position = 7;  // at the end of the input column
        if (!differs(decoder, r, position, found.in_batch, found.alone)) {
            return std::nullopt;
        }
    }
    if (!r) {
        return found;
    }
    std::string text = *r;
    // Chunks from the whole record down to single bytes: long ones at their own alignment,
    // short ones (a member, a token) at every offset. Bounded rounds.
    bool shrunk = true;
    for (int round = 0; shrunk && round < 10; ++round) {
        shrunk = false;
        for (std::size_t chunk = text.size(); chunk >= 1;
             chunk = chunk > 16 ? chunk / 2 : chunk - 1) {
            for (std::size_t at = 0; at + chunk <= text.size();) {
                std::string shorter = text;
                shorter.erase(at, chunk);
                row_result in_batch;
                row_result alone;
                if (differs(decoder, shorter, position, in_batch, alone)) {
                    text = std::move(shorter);
                    found = {r, text, in_batch, alone};
                    shrunk = true;
                } else {
                    at += chunk > 16 ? chunk : 1;
                }
            }
        }
    }
    return found;
}

std::string describe(const discrepancy& d) {
    return fmt::format(
            "record:  {}\nreduced: {}\n  in a batch (flat path): {} {}\n  alone (per-record):    "
            "{} {}",
            escaped(d.original),
            escaped(d.reduced),
            d.in_batch.accepted ? "accepted" : "",
            d.in_batch.text,
            d.alone.accepted ? "accepted" : "",
            d.alone.text);
}

struct fuzz_config {
    const char* name;
    option_values options;
};

const std::vector<fuzz_config> fuzz_configs = {
        {"seed schema, sensor_id and timestamp required",
         {{"schema",
           "{sensor_id: string, temperature: float64, humidity: float64, timestamp: timestamp_ms, "
           "hour_of_day: int64, day_of_week: int64, status_flag: int64, location: string, "
           "is_anomaly: bool}"},
          {"required", "[sensor_id, timestamp]"}}},
        {"seed schema, every field required",
         {{"schema",
           "{sensor_id: string, temperature: float64, humidity: float64, timestamp: timestamp_ms, "
           "hour_of_day: int64, day_of_week: int64, status_flag: int64, location: string, "
           "is_anomaly: bool}"}}},
        {"a long key in the schema, others skipped",
         {{"schema",
           "{calibration_offset_celsius: float64, location: string, temperature: float64, "
           "sensor_id: string, timestamp: timestamp_ms, is_anomaly: bool}"},
          {"required", "[sensor_id]"}}}};

// Discrepancies grouped by what each path did (numbers left out), so that one frequent kind
// does not hide a rare one; the first few of each kind are reduced and reported.
struct discrepancy_kind {
    std::string key;
    std::size_t count = 0;
    std::vector<discrepancy> examples;
};

constexpr std::size_t examples_per_kind = 2;

std::string kind_of(const row_result& in_batch, const row_result& alone) {
    const auto shape = [](const row_result& r) {
        std::string out;
        for (const char c : r.text.substr(0, r.accepted ? 0 : 48)) {
            if (c < '0' || c > '9') {
                out += c;
            }
        }
        return r.accepted ? std::string("accepted") : out;
    };
    return shape(in_batch) + " | " + shape(alone);
}

/// The rows of one batch: plain records (their index in plain_records kept) and mutated ones.
struct fuzz_batch {
    std::vector<record> rows;
    std::vector<std::size_t> plain_index;  // SIZE_MAX for a mutated row
    std::size_t mutated = 0;

    void add_plain(std::size_t index) {
        rows.push_back(plain_records[index]);
        plain_index.push_back(index);
    }

    void add_mutated(fuzz_rng& rng) {
        rows.push_back(random_record(rng));
        plain_index.push_back(SIZE_MAX);
        ++mutated;
    }
};

/// Compares each row of `b` decoded in one batch with the same row decoded alone (plain rows,
/// whose results are known, included: a mutated record must not disturb its neighbours).
void compare_batch(decoder_under_test& decoder,
                   const fuzz_batch& b,
                   const std::vector<row_result>& plain_alone,
                   std::vector<discrepancy_kind>& kinds,
                   std::size_t& differing) {
    const auto& rows = b.rows;
    const auto& plain_index = b.plain_index;
    const auto batched = decoder.decode(rows);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const row_result alone = plain_index[i] != SIZE_MAX ? plain_alone[plain_index[i]]
                                                            : decoder.decode_alone(rows[i]);
        if (batched[i] == alone) {
            continue;
        }
        ++differing;
        const auto key = kind_of(batched[i], alone);
        auto it = std::find_if(
                kinds.begin(), kinds.end(), [&](const auto& k) { return k.key == key; });
        if (it == kinds.end()) {
            it = kinds.insert(kinds.end(), discrepancy_kind{key, 0, {}});
        }
        ++it->count;
        if (it->examples.size() >= examples_per_kind) {
            continue;
        }
        if (auto d = reduce(decoder, rows[i])) {
            it->examples.push_back(std::move(*d));
        } else {
            it->examples.push_back({rows[i], rows[i], batched[i], alone});
            it->examples.back().in_batch.text += " (only with its neighbours in the batch)";
        }
    }
}

}  // namespace

TEST_CASE(
        "json_decode's flat path decodes about 80,000 mutated records exactly as the per-record "
        "path "
        "does, or declines them",
        "[json][fuzz]") {
    constexpr std::size_t mutated_in_small_batches = 22'000;  // per schema, ~7 per batch
    constexpr std::size_t long_batches = 6;                   // per schema, 2,048 rows each
    constexpr std::size_t handover_batches = 60;              // per schema, 64 rows each
    std::size_t mutated = 0;
    std::size_t differing = 0;
    std::string report;
    for (std::size_t config = 0; config < fuzz_configs.size(); ++config) {
        decoder_under_test decoder(fuzz_configs[config].options);
        std::vector<row_result> plain_alone;
        for (const auto& p : plain_records) {
            plain_alone.push_back(decoder.decode_alone(p));
        }
        fuzz_rng rng(0x5eed0000 + config);
        std::vector<discrepancy_kind> kinds;
        const auto run = [&](const fuzz_batch& b) {
            compare_batch(decoder, b, plain_alone, kinds, differing);
            mutated += b.mutated;
        };
        // Batches of 8 rows: a plain record first (it teaches the scanner its key hints), then
        // mutated records, a plain one now and then.
        for (std::size_t before = mutated; mutated - before < mutated_in_small_batches;) {
            fuzz_batch b;
            for (std::size_t i = 0; i < 8; ++i) {
                if (i == 0 || rng.percent(10)) {
                    b.add_plain(rng.below(plain_records.size()));
                } else {
                    b.add_mutated(rng);
                }
            }
            run(b);
        }
        for (std::size_t n = 0; n < long_batches; ++n) {
            fuzz_batch b;
            for (std::size_t i = 0; i < 2048; ++i) {
                // At row 16k + 15 a batch has declined at most k + 1 rows: under the 4 + k
                // after which it would hand the rest to the stream path.
                if (i % 16 != 15) {
                    b.add_plain(i % plain_records.size());
                } else {
                    b.add_mutated(rng);
                }
            }
            run(b);
        }
        // Batches of mutated records only: after a few declines the batch route hands the
        // rest of the batch to the stream path, and that handover must not change a row.
        for (std::size_t n = 0; n < handover_batches; ++n) {
            fuzz_batch b;
            for (std::size_t i = 0; i < 64; ++i) {
                b.add_mutated(rng);
            }
            run(b);
        }
        for (const auto& k : kinds) {
            report += fmt::format(
                    "\n[{}] {} records: {}\n", fuzz_configs[config].name, k.count, k.key);
            for (const auto& d : k.examples) {
                report += describe(d) + "\n";
            }
        }
    }
    INFO(mutated << " mutated records, " << differing
                 << " decoded differently in a batch than alone" << report);
    CHECK(differing == 0);
    CHECK(mutated >= 75'000);
}
