// Prints std::optional values in failed checks.
#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER

#include <sluice/core/batch.hpp>
#include <sluice/core/column.hpp>
#include <sluice/ops/expression.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using sluice::batch;
using sluice::column;
using sluice::column_ptr;
using sluice::data_type;

using opt_f = std::optional<double>;
using opt_i = std::optional<std::int64_t>;
using opt_b = std::optional<bool>;
using opt_s = std::optional<std::string>;

template <class T, class Push>
column_ptr make_column(data_type type, const std::vector<std::optional<T>>& values, Push push) {
    auto c = std::make_shared<column>(type);
    for (const auto& v : values) {
        if (v) {
            push(*c, *v);
        } else {
            c->push_null();
        }
    }
    return c;
}

column_ptr f64(const std::vector<opt_f>& v) {
    return make_column<double>(
            data_type::float64, v, [](column& c, double x) { c.push_float64(x); });
}
column_ptr i64(const std::vector<opt_i>& v) {
    return make_column<std::int64_t>(
            data_type::int64, v, [](column& c, std::int64_t x) { c.push_int64(x); });
}
column_ptr ts(const std::vector<opt_i>& v) {
    return make_column<std::int64_t>(
            data_type::timestamp_ms, v, [](column& c, std::int64_t x) { c.push_int64(x); });
}
column_ptr bln(const std::vector<opt_b>& v) {
    return make_column<bool>(data_type::boolean, v, [](column& c, bool x) { c.push_bool(x); });
}
column_ptr str(const std::vector<opt_s>& v) {
    return make_column<std::string>(
            data_type::string, v, [](column& c, const std::string& x) { c.push_string(x); });
}

batch make_batch(const std::vector<std::pair<std::string, column_ptr>>& cols) {
    std::vector<sluice::field> fields;
    std::vector<column_ptr> columns;
    for (const auto& [name, c] : cols) {
        fields.push_back({name, c->type(), true});
        columns.push_back(c);
    }
    return batch(sluice::make_schema(std::move(fields)), std::move(columns));
}

// Four rows of every type, with nulls in different rows.
batch sample() {
    return make_batch({
            {"x", i64({1, std::nullopt, 3, -4})},
            {"y", i64({2, 5, std::nullopt, 3})},
            {"z", i64({0, 2, 1, 0})},
            {"f", f64({1.5, std::nullopt, -2.0, 4.0})},
            {"g", f64({-0.5, 2.0, 2.0, std::nullopt})},
            {"b", bln({true, false, std::nullopt, true})},
            {"name", str({"alpha", "beta", std::nullopt, ""})},
            {"t", ts({1000, 2000, std::nullopt, 4000})},
            {"temperature", f64({31.0, 29.0, 35.0, 20.0})},
            {"humidity", f64({30.0, 50.0, 35.0, 10.0})},
            {"sensor_id", str({"s1", "s2", "s3", "s4"})},
    });
}

sluice::compiled_expression compile_ok(const std::string& text, const batch& input) {
    auto compiled = sluice::compile_expression(text, *input.schema());
    INFO(text << " -> " << (compiled ? std::string("ok") : compiled.error().to_string()));
    REQUIRE(compiled.ok());
    return *compiled;
}

column eval(const std::string& text, const batch& input) {
    return sluice::evaluate(compile_ok(text, input), input);
}

sluice::expression_error compile_error(const std::string& text, const batch& input) {
    auto compiled = sluice::compile_expression(text, *input.schema());
    INFO(text);
    REQUIRE_FALSE(compiled.ok());
    return compiled.error();
}

std::vector<opt_f> as_f64(const column& c) {
    REQUIRE(c.type() == data_type::float64);
    std::vector<opt_f> out;
    for (std::size_t i = 0; i < c.size(); ++i) {
        out.push_back(c.is_valid(i) ? opt_f(c.float64_values()[i]) : std::nullopt);
    }
    return out;
}

std::vector<opt_i> as_i64(const column& c, data_type type = data_type::int64) {
    REQUIRE(c.type() == type);
    std::vector<opt_i> out;
    for (std::size_t i = 0; i < c.size(); ++i) {
        out.push_back(c.is_valid(i) ? opt_i(c.int64_values()[i]) : std::nullopt);
    }
    return out;
}

std::vector<opt_b> as_bool(const column& c) {
    REQUIRE(c.type() == data_type::boolean);
    std::vector<opt_b> out;
    for (std::size_t i = 0; i < c.size(); ++i) {
        out.push_back(c.is_valid(i) ? opt_b(c.bool_values()[i] != 0) : std::nullopt);
    }
    return out;
}

std::vector<opt_s> as_str(const column& c) {
    REQUIRE(c.type() == data_type::string);
    std::vector<opt_s> out;
    for (std::size_t i = 0; i < c.size(); ++i) {
        out.push_back(c.is_valid(i) ? opt_s(std::string(c.string_at(i))) : std::nullopt);
    }
    return out;
}

// Approximate comparison of nullable doubles (NaN equals NaN).
bool same(const std::vector<opt_f>& a, const std::vector<opt_f>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].has_value() != b[i].has_value()) {
            return false;
        }
        if (a[i] && !(std::isnan(*a[i]) && std::isnan(*b[i])) &&
            *a[i] != Approx(*b[i]).epsilon(1e-12)) {
            return false;
        }
    }
    return true;
}

const auto null = std::nullopt;

}  // namespace

TEST_CASE("the parser gives * / % precedence over + - and associates left", "[expr]") {
    const batch in = sample();
    CHECK(as_i64(eval("1 + 2 * 3", in)) == std::vector<opt_i>(4, 7));
    CHECK(as_i64(eval("(1 + 2) * 3", in)) == std::vector<opt_i>(4, 9));
    CHECK(as_i64(eval("10 - 4 - 3", in)) == std::vector<opt_i>(4, 3));
    CHECK(as_i64(eval("2 * 3 % 4", in)) == std::vector<opt_i>(4, 2));
    CHECK(as_f64(eval("100 / 10 / 5", in)) == std::vector<opt_f>(4, 2.0));
    CHECK(as_i64(eval("-2 * 3", in)) == std::vector<opt_i>(4, -6));
    CHECK(as_i64(eval("- -2", in)) == std::vector<opt_i>(4, 2));
    CHECK(as_i64(eval("+5 - -5", in)) == std::vector<opt_i>(4, 10));
    // The same over columns, so the tree (not only the folder) is checked.
    CHECK(as_i64(eval("y - z - x", in)) == std::vector<opt_i>{1, null, null, 7});
    CHECK(as_i64(eval("y + z * x", in)) == std::vector<opt_i>{2, null, null, 3});
    CHECK(as_i64(eval("(y + z) * x", in)) == std::vector<opt_i>{2, null, null, -12});
}

TEST_CASE("the parser ranks comparisons above not, not above and, and and above or", "[expr]") {
    const batch in = sample();
    CHECK(as_bool(eval("not false and false", in)) == std::vector<opt_b>(4, false));
    CHECK(as_bool(eval("not (false and false)", in)) == std::vector<opt_b>(4, true));
    CHECK(as_bool(eval("true or false and false", in)) == std::vector<opt_b>(4, true));
    CHECK(as_bool(eval("(true or false) and false", in)) == std::vector<opt_b>(4, false));
    CHECK(as_bool(eval("not 1 > 2", in)) == std::vector<opt_b>(4, true));
    CHECK(as_bool(eval("! 1 > 2", in)) == std::vector<opt_b>(4, true));
    CHECK(as_bool(eval("1 + 2 > 2 + 0", in)) == std::vector<opt_b>(4, true));
    CHECK(as_bool(eval("x > 0 && y > 2 || b", in)) == std::vector<opt_b>{true, null, null, true});
    CHECK(as_bool(eval("TRUE AND NOT False", in)) == std::vector<opt_b>(4, true));
    CHECK(as_bool(eval("x = 1", in)) == std::vector<opt_b>{true, null, false, false});
    CHECK(as_bool(eval("x <> 1", in)) == std::vector<opt_b>{false, null, true, true});
}

TEST_CASE("arithmetic over int and float columns propagates nulls", "[expr]") {
    const batch in = sample();
    CHECK(as_i64(eval("x + y", in)) == std::vector<opt_i>{3, null, null, -1});
    CHECK(as_i64(eval("x - y", in)) == std::vector<opt_i>{-1, null, null, -7});
    CHECK(as_i64(eval("x * y", in)) == std::vector<opt_i>{2, null, null, -12});
    CHECK(as_i64(eval("y % 2", in)) == std::vector<opt_i>{0, 1, null, 1});
    CHECK(as_i64(eval("x % y", in)) == std::vector<opt_i>{1, null, null, -1});
    CHECK(as_i64(eval("-x", in)) == std::vector<opt_i>{-1, null, -3, 4});
    CHECK(same(as_f64(eval("x / y", in)), {0.5, null, null, -4.0 / 3.0}));
    CHECK(same(as_f64(eval("f + g", in)), {1.0, null, 0.0, null}));
    CHECK(same(as_f64(eval("f - g", in)), {2.0, null, -4.0, null}));
    CHECK(same(as_f64(eval("f * g", in)), {-0.75, null, -4.0, null}));
    CHECK(same(as_f64(eval("f / g", in)), {-3.0, null, -1.0, null}));
    CHECK(same(as_f64(eval("f % g", in)), {0.0, null, -0.0, null}));
    CHECK(same(as_f64(eval("-f", in)), {-1.5, null, 2.0, -4.0}));
    CHECK(same(as_f64(eval("x + f", in)), {2.5, null, 1.0, 0.0}));
    CHECK(same(as_f64(eval("temperature * 9 / 5 + 32", in)), {87.8, 84.2, 95.0, 68.0}));
}

TEST_CASE("int op int stays int, division and anything with a float give float64", "[expr]") {
    const batch in = sample();
    CHECK(compile_ok("x + y", in).type() == data_type::int64);
    CHECK(compile_ok("x * 2 - 1", in).type() == data_type::int64);
    CHECK(compile_ok("x % 3", in).type() == data_type::int64);
    CHECK(compile_ok("x / y", in).type() == data_type::float64);
    CHECK(compile_ok("x + 1.5", in).type() == data_type::float64);
    CHECK(compile_ok("x % 1.5", in).type() == data_type::float64);
    CHECK(compile_ok("min(x, 2.5)", in).type() == data_type::float64);
    CHECK(compile_ok("max(x, y, 7)", in).type() == data_type::int64);
    CHECK(compile_ok("if(b, 1, 2.5)", in).type() == data_type::float64);
    CHECK(compile_ok("coalesce(x, f)", in).type() == data_type::float64);
    CHECK(compile_ok("abs(x)", in).type() == data_type::int64);
    CHECK(compile_ok("floor(x)", in).type() == data_type::int64);
    CHECK(compile_ok("round(f)", in).type() == data_type::float64);
    CHECK(compile_ok("sqrt(x)", in).type() == data_type::float64);
    CHECK(as_f64(eval("7 / 2", in)) == std::vector<opt_f>(4, 3.5));
    CHECK(as_i64(eval("7 % 2", in)) == std::vector<opt_i>(4, 1));
    CHECK(as_i64(eval("-7 % 2", in)) == std::vector<opt_i>(4, -1));
    CHECK(same(as_f64(eval("if(b, x, 0.5)", in)), {1.0, 0.5, 0.5, -4.0}));
}

TEST_CASE("division and modulo by zero give null, not infinity or a trap", "[expr]") {
    const batch in = sample();
    CHECK(as_f64(eval("x / 0", in)) == std::vector<opt_f>(4, null));
    CHECK(as_f64(eval("f / 0.0", in)) == std::vector<opt_f>(4, null));
    CHECK(as_i64(eval("x % 0", in)) == std::vector<opt_i>(4, null));
    CHECK(same(as_f64(eval("y / z", in)), {null, 2.5, null, null}));
    CHECK(as_i64(eval("y % z", in)) == std::vector<opt_i>{null, 1, null, null});
    CHECK(same(as_f64(eval("f % z", in)), {null, null, -0.0, null}));
    CHECK(as_f64(eval("1 / 0", in)) == std::vector<opt_f>(4, null));
    // x % -1 would overflow for INT64_MIN; it is 0.
    CHECK(as_i64(eval("-9223372036854775807 - 1 + 0 * x", in))[0] ==
          std::numeric_limits<std::int64_t>::min());
    CHECK(as_i64(eval("(-9223372036854775807 - 1) % -1", in)) == std::vector<opt_i>(4, 0));
}

TEST_CASE("integer overflow wraps around instead of being undefined", "[expr]") {
    const batch in = sample();
    CHECK(as_i64(eval("9223372036854775807 + 1", in))[0] ==
          std::numeric_limits<std::int64_t>::min());
    CHECK(as_i64(eval("abs(-9223372036854775807 - 1)", in))[0] ==
          std::numeric_limits<std::int64_t>::min());
}

TEST_CASE("comparisons over every type give bool with nulls propagated", "[expr]") {
    const batch in = sample();
    CHECK(as_bool(eval("x == 1", in)) == std::vector<opt_b>{true, null, false, false});
    CHECK(as_bool(eval("x != 1", in)) == std::vector<opt_b>{false, null, true, true});
    CHECK(as_bool(eval("x < y", in)) == std::vector<opt_b>{true, null, null, true});
    CHECK(as_bool(eval("x <= 1", in)) == std::vector<opt_b>{true, null, false, true});
    CHECK(as_bool(eval("x > 1", in)) == std::vector<opt_b>{false, null, true, false});
    CHECK(as_bool(eval("x >= 3", in)) == std::vector<opt_b>{false, null, true, false});
    CHECK(as_bool(eval("f > x", in)) == std::vector<opt_b>{true, null, false, true});
    CHECK(as_bool(eval("f == 1.5", in)) == std::vector<opt_b>{true, null, false, false});
    CHECK(as_bool(eval("b == true", in)) == std::vector<opt_b>{true, false, null, true});
    CHECK(as_bool(eval("b != b", in)) == std::vector<opt_b>{false, false, null, false});
    CHECK(as_bool(eval("x == null", in)) == std::vector<opt_b>(4, null));
    CHECK(as_bool(eval("null != 'a'", in)) == std::vector<opt_b>(4, null));
    CHECK(as_bool(eval("temperature > 30 and humidity < 40", in)) ==
          std::vector<opt_b>{true, false, true, false});
}

TEST_CASE("strings compare for equality and byte-wise order", "[expr]") {
    const batch in = sample();
    CHECK(as_bool(eval("name == 'alpha'", in)) == std::vector<opt_b>{true, false, null, false});
    CHECK(as_bool(eval("name != \"alpha\"", in)) == std::vector<opt_b>{false, true, null, true});
    CHECK(as_bool(eval("name == ''", in)) == std::vector<opt_b>{false, false, null, true});
    CHECK(as_bool(eval("name < 'b'", in)) == std::vector<opt_b>{true, false, null, true});
    CHECK(as_bool(eval("name >= 'beta'", in)) == std::vector<opt_b>{false, true, null, false});
    CHECK(as_bool(eval("name < sensor_id", in)) == std::vector<opt_b>{true, true, null, true});
    CHECK(as_bool(eval(R"('it\'s' == "it's")", in)) == std::vector<opt_b>(4, true));
    CHECK(as_bool(eval("\"tab\\there\" == 'tab\there'", in)) == std::vector<opt_b>(4, true));
}

TEST_CASE("and, or and not follow SQL three-valued logic", "[expr]") {
    // Every combination of true, false and null on both sides.
    const std::vector<opt_b> values{true, false, null};
    std::vector<opt_b> a;
    std::vector<opt_b> b;
    for (const auto& x : values) {
        for (const auto& y : values) {
            a.push_back(x);
            b.push_back(y);
        }
    }
    const batch in = make_batch({{"a", bln(a)}, {"b", bln(b)}});
    // rows: TT TF TN FT FF FN NT NF NN
    CHECK(as_bool(eval("a and b", in)) ==
          std::vector<opt_b>{true, false, null, false, false, false, null, false, null});
    CHECK(as_bool(eval("a or b", in)) ==
          std::vector<opt_b>{true, true, true, true, false, null, true, null, null});
    CHECK(as_bool(eval("not a", in)) ==
          std::vector<opt_b>{false, false, false, true, true, true, null, null, null});
    CHECK(as_bool(eval("a && b", in)) == as_bool(eval("a and b", in)));
    CHECK(as_bool(eval("a || b", in)) == as_bool(eval("a or b", in)));
    // Literals on one side (folded at compile time) give the same table.
    CHECK(as_bool(eval("a and null", in)) ==
          std::vector<opt_b>{null, null, null, false, false, false, null, null, null});
    CHECK(as_bool(eval("a or null", in)) ==
          std::vector<opt_b>{true, true, true, null, null, null, null, null, null});
    CHECK(as_bool(eval("false and a", in)) == std::vector<opt_b>(9, false));
    CHECK(as_bool(eval("true or a", in)) == std::vector<opt_b>(9, true));
    CHECK(as_bool(eval("true and a", in)) == a);
    CHECK(as_bool(eval("null and false", in)) == std::vector<opt_b>(9, false));
    CHECK(as_bool(eval("null or true", in)) == std::vector<opt_b>(9, true));
    CHECK(as_bool(eval("true and null", in)) == std::vector<opt_b>(9, null));
    CHECK(as_bool(eval("not null", in)) == std::vector<opt_b>(9, null));
}

TEST_CASE("math functions work on ints and floats and pass nulls through", "[expr]") {
    const batch in = sample();
    CHECK(as_i64(eval("abs(x)", in)) == std::vector<opt_i>{1, null, 3, 4});
    CHECK(same(as_f64(eval("abs(f)", in)), {1.5, null, 2.0, 4.0}));
    CHECK(as_i64(eval("min(x, y)", in)) == std::vector<opt_i>{1, null, null, -4});
    CHECK(as_i64(eval("max(x, y)", in)) == std::vector<opt_i>{2, null, null, 3});
    CHECK(as_i64(eval("max(x, y, z, 2)", in)) == std::vector<opt_i>{2, null, null, 3});
    CHECK(as_i64(eval("min(z, 1, 2, 3)", in)) == std::vector<opt_i>{0, 1, 1, 0});
    CHECK(same(as_f64(eval("min(f, g)", in)), {-0.5, null, -2.0, null}));
    CHECK(same(as_f64(eval("max(x, 2.5)", in)), {2.5, null, 3.0, 2.5}));
    CHECK(same(as_f64(eval("sqrt(y)", in)),
               {std::sqrt(2.0), std::sqrt(5.0), null, std::sqrt(3.0)}));
    const auto root = as_f64(eval("sqrt(f)", in));
    CHECK(std::isnan(*root[2]));  // sqrt of a negative is NaN, not an error
    CHECK(same(as_f64(eval("log(y)", in)), {std::log(2.0), std::log(5.0), null, std::log(3.0)}));
    CHECK(same(as_f64(eval("exp(z)", in)), {1.0, std::exp(2.0), std::exp(1.0), 1.0}));
    CHECK(same(as_f64(eval("pow(y, 2)", in)), {4.0, 25.0, null, 9.0}));
    CHECK(same(as_f64(eval("pow(2, f)", in)), {std::pow(2.0, 1.5), null, 0.25, 16.0}));
    CHECK(same(as_f64(eval("floor(f)", in)), {1.0, null, -2.0, 4.0}));
    CHECK(same(as_f64(eval("ceil(f)", in)), {2.0, null, -2.0, 4.0}));
    CHECK(same(as_f64(eval("round(f)", in)), {2.0, null, -2.0, 4.0}));
    CHECK(same(as_f64(eval("round(-2.5)", in)), {-3.0, -3.0, -3.0, -3.0}));
    CHECK(as_i64(eval("round(x)", in)) == std::vector<opt_i>{1, null, 3, -4});
    CHECK(same(as_f64(eval("sqrt(null)", in)), {null, null, null, null}));
}

TEST_CASE("if, is_null and coalesce handle nulls as SQL's CASE and COALESCE do", "[expr]") {
    const batch in = sample();
    // A null condition takes the else branch.
    CHECK(as_i64(eval("if(b, x, y)", in)) == std::vector<opt_i>{1, 5, null, -4});
    CHECK(as_str(eval("if(x > 0, 'pos', 'neg')", in)) ==
          std::vector<opt_s>{"pos", "neg", "pos", "neg"});
    CHECK(as_str(eval("if(x > 0, name, null)", in)) ==
          std::vector<opt_s>{"alpha", null, null, null});
    CHECK(as_bool(eval("if(b, true, null)", in)) == std::vector<opt_b>{true, null, null, true});
    CHECK(as_bool(eval("is_null(x)", in)) == std::vector<opt_b>{false, true, false, false});
    CHECK(as_bool(eval("is_null(z)", in)) == std::vector<opt_b>(4, false));
    CHECK(as_bool(eval("is_null(null)", in)) == std::vector<opt_b>(4, true));
    CHECK(as_bool(eval("is_null(x / z)", in)) == std::vector<opt_b>{true, true, false, true});
    CHECK(as_i64(eval("coalesce(x, y)", in)) == std::vector<opt_i>{1, 5, 3, -4});
    CHECK(as_i64(eval("coalesce(y, x)", in)) == std::vector<opt_i>{2, 5, 3, 3});
    CHECK(as_i64(eval("coalesce(null, y, x, 0)", in)) == std::vector<opt_i>{2, 5, 3, 3});
    CHECK(same(as_f64(eval("coalesce(f, x)", in)), {1.5, null, -2.0, 4.0}));
    CHECK(same(as_f64(eval("coalesce(f, -1)", in)), {1.5, -1.0, -2.0, 4.0}));
    CHECK(as_str(eval("coalesce(name, 'none')", in)) ==
          std::vector<opt_s>{"alpha", "beta", "none", ""});
    CHECK(as_bool(eval("coalesce(b, false)", in)) == std::vector<opt_b>{true, false, false, true});
}

TEST_CASE("string functions test prefixes, suffixes, substrings and length", "[expr]") {
    const batch in = sample();
    CHECK(as_bool(eval("starts_with(name, 'al')", in)) ==
          std::vector<opt_b>{true, false, null, false});
    CHECK(as_bool(eval("ends_with(name, 'ta')", in)) ==
          std::vector<opt_b>{false, true, null, false});
    CHECK(as_bool(eval("contains(name, 'lph')", in)) ==
          std::vector<opt_b>{true, false, null, false});
    CHECK(as_bool(eval("contains(name, '')", in)) == std::vector<opt_b>{true, true, null, true});
    CHECK(as_bool(eval("starts_with(sensor_id, name)", in)) ==
          std::vector<opt_b>{false, false, null, true});
    CHECK(as_i64(eval("length(name)", in)) == std::vector<opt_i>{5, 4, null, 0});
}

TEST_CASE("timestamps take int offsets in ms and compare with timestamps and ints", "[expr]") {
    const batch in = sample();
    const auto t = data_type::timestamp_ms;
    CHECK(compile_ok("t + 500", in).type() == t);
    CHECK(as_i64(eval("t + 500", in), t) == std::vector<opt_i>{1500, 2500, null, 4500});
    CHECK(as_i64(eval("500 + t", in), t) == std::vector<opt_i>{1500, 2500, null, 4500});
    CHECK(as_i64(eval("t - x", in), t) == std::vector<opt_i>{999, null, null, 4004});
    CHECK(compile_ok("t - t", in).type() == data_type::int64);
    CHECK(as_i64(eval("t - (t - 1000)", in)) == std::vector<opt_i>{1000, 1000, null, 1000});
    CHECK(as_bool(eval("t > 1500", in)) == std::vector<opt_b>{false, true, null, true});
    CHECK(as_bool(eval("t + 1000 == t + 1000", in)) == std::vector<opt_b>{true, true, null, true});
    CHECK(as_i64(eval("max(t, 1500)", in), t) == std::vector<opt_i>{1500, 2000, null, 4000});
    CHECK(as_i64(eval("coalesce(t, 0)", in), t) == std::vector<opt_i>{1000, 2000, 0, 4000});
    CHECK(compile_error("t + t", in).message ==
          "operator '+' cannot combine timestamp_ms with timestamp_ms");
    CHECK(compile_error("t + 1.5", in).message ==
          "operator '+' cannot combine timestamp_ms with float64");
    CHECK(compile_error("t * 2", in).message ==
          "operator '*' cannot combine timestamp_ms with int64");
    CHECK(compile_error("x - t", in).message ==
          "operator '-' cannot combine int64 with timestamp_ms");
    CHECK(compile_error("t > 1.5", in).message ==
          "operator '>' cannot compare timestamp_ms with float64");
}

TEST_CASE("compile errors state the problem and the offset of the offending token", "[expr]") {
    const batch in = sample();
    struct expected {
        std::string text;
        std::string message;
        std::size_t offset;
    };
    const std::vector<expected> cases{
            {"temprature > 30", "unknown column 'temprature'; did you mean 'temperature'?", 0},
            {"humidity < 40 and Temperature > 3",
             "unknown column 'Temperature'; did you mean 'temperature'?",
             18},
            {"zzz > 1",
             "unknown column 'zzz' (columns: x, y, z, f, g, b, name, t, temperature, humidity, "
             "sensor_id)",
             0},
            {"sensor_id > 30.5", "operator '>' cannot compare string with float64", 10},
            {"name + 1", "operator '+' cannot combine string with int64", 5},
            {"b < true", "operator '<' cannot order bool values; use == or !=", 2},
            {"x and true", "operator 'and' expects bool operands, found int64", 2},
            {"b || 1", "operator '||' expects bool operands, found int64", 2},
            {"not x", "operator 'not' expects bool, found int64", 0},
            {"-name", "operator '-' expects a number, found string", 0},
            {"sqrt(1, 2)", "function 'sqrt' takes 1 argument, found 2", 0},
            {"1 + if(b, 1)", "function 'if' takes 3 arguments, found 2", 4},
            {"min(x)", "function 'min' takes at least 2 arguments, found 1", 0},
            {"sqr(temperature)", "unknown function 'sqr'; did you mean 'sqrt'?", 0},
            {"frobnicate(x)",
             "unknown function 'frobnicate' (functions: abs, ceil, coalesce, contains, ends_with, "
             "exp, floor, if, is_null, length, log, max, min, pow, round, sqrt, starts_with)",
             0},
            {"sqrt(name)", "function 'sqrt' expects a number, found string", 5},
            {"if(x, 1, 2)", "function 'if' expects a bool condition, found int64", 3},
            {"if(b, 'a', 1)", "function 'if' branches have different types: string and int64", 0},
            {"coalesce(x, name)",
             "function 'coalesce' arguments have different types: int64 and string",
             0},
            {"contains(name, 1)", "function 'contains' expects strings, found int64", 15},
            {"name == \"abc", "unterminated string literal", 8},
            {"name == 'abc", "unterminated string literal", 8},
            {"'a\\q'",
             "unknown escape '\\q' in string literal (known: \\\\ \\' \\\" \\n \\t \\r \\0)",
             2},
            {"`weird name + 1", "unterminated quoted column name", 0},
            {"temperature > 30 humidity",
             "unexpected 'humidity' after the end of the expression",
             17},
            {"(x + 1))", "unmatched ')'", 7},
            {"1 +", "expected an expression, found end of input", 3},
            {"x * (y + 1", "expected ')' to close '(' at col 5, found end of input", 10},
            {"min(x y)", "expected ',' or ')' in the arguments of 'min', found 'y'", 6},
            {"", "empty expression", 0},
            {"   ", "empty expression", 3},
            {"x < y < z",
             "comparisons cannot be chained: '<' follows '<'; combine them with 'and'",
             6},
            {"x & y", "unexpected character '&'; did you mean '&&' or 'and'?", 2},
            {"x # y", "unexpected character '#'", 2},
            {"12abc", "invalid number '12abc'", 0},
            {"99999999999999999999",
             "integer literal 99999999999999999999 is out of range for int64",
             0},
            {"null",
             "the expression is always null, so its type is unknown; give the null a type, e.g. "
             "if(false, 0.0, null)",
             0},
            {"x, y", "unexpected ',' after the end of the expression", 1},
    };
    for (const auto& c : cases) {
        INFO("expression: " << c.text);
        const auto error = compile_error(c.text, in);
        CHECK(error.message == c.message);
        CHECK(error.offset == c.offset);
    }
}

TEST_CASE("an expression error prints as col N: message with a 1-based column", "[expr]") {
    const batch in = sample();
    const auto error = compile_error("x + nam", in);
    CHECK(error.column() == 5);
    CHECK(error.to_string() == "col 5: unknown column 'nam'; did you mean 'name'?");
}

TEST_CASE("backquoted names reach columns whose names are not identifiers", "[expr]") {
    const batch in = make_batch({{"weird name", i64({1, 2})},
                                 {"and", i64({10, 20})},
                                 {"tick`s", i64({5, 6})},
                                 {"location.lat", f64({1.5, 2.5})}});
    CHECK(as_i64(eval("`weird name` + `and`", in)) == std::vector<opt_i>{11, 22});
    CHECK(as_i64(eval("`tick``s` * 2", in)) == std::vector<opt_i>{10, 12});
    CHECK(same(as_f64(eval("location.lat * 2", in)), {3.0, 5.0}));
}

TEST_CASE("constant sub-expressions are folded once at compile time", "[expr]") {
    const batch in = sample();
    auto folded = compile_ok("1 + 2 * 3", in);
    CHECK(folded.is_constant());
    CHECK(folded.columns_used().empty());
    CHECK(compile_ok("sqrt(16) > 3 and 'a' == 'a'", in).is_constant());
    CHECK(compile_ok("false and x > 1", in).is_constant());
    CHECK_FALSE(compile_ok("x + 1", in).is_constant());
    CHECK(compile_ok("y + x * f", in).columns_used() == std::vector<std::size_t>{0, 1, 3});
    // A null operand makes the whole operation a typed null.
    auto always_null = compile_ok("x + null", in);
    CHECK(always_null.is_constant());
    CHECK(always_null.type() == data_type::int64);
    CHECK(as_i64(sluice::evaluate(always_null, in)) == std::vector<opt_i>(4, null));
}

TEST_CASE("evaluate_shared shares a bare column reference instead of copying it", "[expr]") {
    const batch in = sample();
    const auto ref = compile_ok("name", in);
    CHECK(ref.column_reference() == 6);
    CHECK(sluice::evaluate_shared(ref, in) == in.shared_column(6));
    CHECK(as_str(sluice::evaluate(ref, in)) == as_str(in.column_at(6)));
    CHECK(sluice::evaluate_shared(compile_ok("x + 0", in), in) != in.shared_column(0));
}

TEST_CASE("evaluate_selection keeps only rows where a bool expression is true", "[expr]") {
    const batch in = sample();
    std::vector<std::uint8_t> selection;
    CHECK(sluice::evaluate_selection(compile_ok("x > 0", in), in, selection) == 2);
    CHECK(selection == std::vector<std::uint8_t>{1, 0, 1, 0});
    CHECK(sluice::evaluate_selection(compile_ok("true", in), in, selection) == 4);
    CHECK(selection == std::vector<std::uint8_t>{1, 1, 1, 1});
    CHECK(sluice::evaluate_selection(compile_ok("b or null", in), in, selection) == 2);
    CHECK(selection == std::vector<std::uint8_t>{1, 0, 0, 1});
    CHECK_THROWS_AS(sluice::evaluate_selection(compile_ok("x", in), in, selection),
                    std::invalid_argument);
}

TEST_CASE("evaluating against a batch of another layout throws instead of misreading", "[expr]") {
    const batch in = sample();
    const auto expr = compile_ok("sensor_id == 's1'", in);
    const batch other = make_batch({{"sensor_id", i64({1, 2})}});
    CHECK_THROWS_AS(sluice::evaluate(expr, other), std::invalid_argument);
    const batch narrow = make_batch({{"x", i64({1})}});
    CHECK_THROWS_AS(sluice::evaluate(expr, narrow), std::invalid_argument);
}

TEST_CASE("empty batches evaluate to empty columns", "[expr]") {
    const batch in = make_batch({{"x", i64({})}, {"s", str({})}});
    CHECK(sluice::evaluate(compile_ok("x * 2 + 1", in), in).size() == 0);
    CHECK(sluice::evaluate(compile_ok("if(x > 1, s, 'a')", in), in).size() == 0);
    CHECK(sluice::evaluate(compile_ok("42", in), in).size() == 0);
}

TEST_CASE("vectorised evaluation matches a row-by-row reference on random data", "[expr]") {
    const auto seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : std::random_device{}();
    INFO("seed " << seed << " (rerun with --rng-seed " << seed << ")");
    std::mt19937_64 rng(seed);
    for (const std::size_t rows : {1UL, 7UL, 64UL, 65UL, 1000UL}) {
        std::vector<opt_f> a;
        std::vector<opt_i> n;
        std::uniform_real_distribution<double> real(-50, 50);
        std::uniform_int_distribution<std::int64_t> whole(-5, 5);
        std::bernoulli_distribution missing(0.15);
        for (std::size_t i = 0; i < rows; ++i) {
            a.push_back(missing(rng) ? opt_f() : opt_f(real(rng)));
            n.push_back(missing(rng) ? opt_i() : opt_i(whole(rng)));
        }
        const batch in = make_batch({{"a", f64(a)}, {"n", i64(n)}});
        const auto got = as_f64(eval("if(n > 0, a * 2 / n, coalesce(a, -1.0) - n % 3)", in));
        std::vector<opt_f> want;
        for (std::size_t i = 0; i < rows; ++i) {
            if (n[i] && *n[i] > 0) {
                want.push_back(a[i] ? opt_f(*a[i] * 2 / static_cast<double>(*n[i])) : opt_f());
            } else if (n[i]) {
                want.push_back((a[i] ? *a[i] : -1.0) - static_cast<double>(*n[i] % 3));
            } else {
                want.push_back(opt_f());
            }
        }
        CHECK(same(got, want));
    }
}

TEST_CASE("number literals accept decimals, exponents and leading dots", "[expr]") {
    const batch in = sample();
    CHECK(same(as_f64(eval("1e3 + .5 + 2. + 6.02E2 + 1.5e-1", in)),
               std::vector<opt_f>(4, 1000 + 0.5 + 2 + 602 + 0.15)));
    CHECK(compile_ok("10", in).type() == data_type::int64);
    CHECK(compile_ok("10.0", in).type() == data_type::float64);
    CHECK(compile_ok("SQRT(4) + Abs(x)", in).type() == data_type::float64);
}

TEST_CASE("deeply nested expressions are an error, not a stack overflow", "[expr]") {
    const batch in = sample();
    const std::string fine = std::string(150, '(') + "x" + std::string(150, ')');
    CHECK(as_i64(eval(fine, in)) == as_i64(in.column_at(0)));
    const std::string deep = std::string(5000, '(') + "x" + std::string(5000, ')');
    const auto error = compile_error(deep, in);
    CHECK(error.message == "expression is nested more than 200 deep");
    CHECK(error.offset == 201);
    const std::string negations = std::string(5000, '-') + "x";
    CHECK(compile_error(negations, in).message == "expression is nested more than 200 deep");
}
