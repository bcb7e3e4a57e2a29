// The elasticsearch sink's retry backoff: exponential, capped, jittered, bounded. No server.
#include "../../operators/elasticsearch/retry_policy.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace sluice::es_detail;
using namespace std::chrono_literals;

TEST_CASE("backoff doubles from the initial wait up to the cap", "[elasticsearch]") {
    retry_policy p({100ms, 2s, 0}, 1);
    CHECK(p.ceiling(1) == 100ms);
    CHECK(p.ceiling(2) == 200ms);
    CHECK(p.ceiling(3) == 400ms);
    CHECK(p.ceiling(5) == 1600ms);
    CHECK(p.ceiling(6) == 2s);
    CHECK(p.ceiling(1000000) == 2s);  // no overflow however many retries
}

TEST_CASE("each wait lies between half its ceiling and the ceiling, and waits differ",
          "[elasticsearch]") {
    retry_policy p({100ms, 10s, 0}, 42);
    std::set<long long> seen;
    for (std::uint32_t retry = 1; retry <= 12; ++retry) {
        for (int i = 0; i < 50; ++i) {
            const auto d = p.delay(retry);
            const auto ceiling = p.ceiling(retry);
            CHECK(d >= ceiling / 2);
            CHECK(d <= ceiling);
            seen.insert(d.count());
        }
    }
    CHECK(seen.size() > 100);  // jitter spreads retries of documents rejected together
}

TEST_CASE("the same seed gives the same waits", "[elasticsearch]") {
    retry_policy a({50ms, 5s, 0}, 7);
    retry_policy b({50ms, 5s, 0}, 7);
    for (std::uint32_t retry = 1; retry <= 10; ++retry) {
        CHECK(a.delay(retry) == b.delay(retry));
    }
}

TEST_CASE("max_retries bounds the retries of a document; 0 means no limit", "[elasticsearch]") {
    retry_policy limited({100ms, 1s, 3}, 1);
    CHECK_FALSE(limited.exhausted(0));
    CHECK_FALSE(limited.exhausted(2));
    CHECK(limited.exhausted(3));
    retry_policy unlimited({100ms, 1s, 0}, 1);
    CHECK_FALSE(unlimited.exhausted(1000000));
}

TEST_CASE("a cap below the initial wait is raised to it", "[elasticsearch]") {
    retry_policy p({500ms, 100ms, 0}, 1);
    CHECK(p.ceiling(1) == 500ms);
    CHECK(p.ceiling(4) == 500ms);
}
