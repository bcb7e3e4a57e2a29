// The pipeline's resume state: values only grow, restored values are kept apart, and the
// compact JSON a source stores with its commits (Kafka commit metadata) reads back exactly.
#include <sluice/operator/context.hpp>

#include <catch2/catch.hpp>

#include <limits>

using namespace sluice;

TEST_CASE("resume state values only grow, and restored values raise the current ones too",
          "[resume]") {
    resume_state state;
    CHECK_FALSE(state.value("stats"));
    state.advance("stats", 1000);
    state.advance("stats", 900);
    CHECK(state.value("stats") == std::optional<std::int64_t>(1000));
    CHECK_FALSE(state.resumed("stats"));
    state.restore("stats", 800);
    state.restore("stats", 700);
    CHECK(state.resumed("stats") == std::optional<std::int64_t>(800));
    CHECK(state.value("stats") == std::optional<std::int64_t>(1000));
    state.restore("other", 5);
    CHECK(state.value("other") == std::optional<std::int64_t>(5));
    CHECK(state.values().size() == 2);
}

TEST_CASE("resume state metadata encodes as compact JSON and decodes to the same values",
          "[resume]") {
    std::map<std::string, std::int64_t, std::less<>> values{
            {"stats", 1'767'225'630'000},
            {"neg", -5},
            {"min", std::numeric_limits<std::int64_t>::min()},
            {"odd \"name\"\\\x01", 7}};
    const auto text = resume_state::encode(values);
    CHECK(resume_state::encode({{"stats", 1'767'225'630'000}}) == R"({"stats":1767225630000})");
    CHECK(text.find('\x01') == std::string::npos);
    const auto decoded = resume_state::decode(text);
    REQUIRE(decoded);
    CHECK(*decoded == values);
    CHECK(resume_state::encode({}).empty());
    REQUIRE(resume_state::decode(""));
    CHECK(resume_state::decode("")->empty());
    CHECK(resume_state::decode("{}") ==
          std::optional(std::map<std::string, std::int64_t, std::less<>>{}));
}

TEST_CASE("resume state metadata written by something else is refused, not misread", "[resume]") {
    for (const char* text : {"x",
                             "{",
                             R"({"a":})",
                             R"({"a":1,})",
                             R"({"a":1} )",
                             R"({"a":1.5})",
                             R"({a:1})",
                             R"({"a\q":1})",
                             R"({"a":99999999999999999999})",
                             "{\"a\":1}{}"}) {
        INFO(text);
        CHECK_FALSE(resume_state::decode(text));
    }
}
