// Side outputs: a transform's named extra outputs, read as `inputs: [<id>.<name>]`.

#include "support/test_operators.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <random>
#include <thread>

using namespace sluice;
using namespace sluice::testing;

namespace {

node_declaration decl(std::string id, std::vector<std::string> inputs = {}) {
    return {std::move(id), "test", std::move(inputs), {}};
}

/// Keeps even numbers on its main output and sends odd ones to side output "odd"; parallel
/// and optionally shuffling, so order must be restored downstream of both outputs.
class parity_splitter final : public transform {
public:
    explicit parity_splitter(bool shuffle = true)
        : shuffle_(shuffle) {}
    operator_traits traits() const override { return {concurrency::parallel, false}; }
    schema_ptr bind(const schema_ptr& input, bind_context&) override { return input; }
    std::vector<side_output> side_outputs() const override { return {{"odd", counter_schema()}}; }
    batch process(const batch& input, operator_context& ctx) override {
        std::vector<batch> unused(1);
        return process_with_side_outputs(input, ctx, unused);
    }
    batch process_with_side_outputs(const batch& input,
                                    operator_context&,
                                    std::span<batch> sides) override {
        if (shuffle_) {
            thread_local std::mt19937 rng{std::random_device{}()};
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
        }
        const auto values = input.column_at(0).int64_values();
        std::vector<std::uint8_t> even(values.size());
        std::vector<std::uint8_t> odd(values.size());
        bool any_odd = false;
        for (std::size_t i = 0; i < values.size(); ++i) {
            even[i] = values[i] % 2 == 0 ? 1 : 0;
            odd[i] = 1 - even[i];
            any_odd = any_odd || odd[i] != 0;
        }
        // Leave the side batch unset when it gets nothing: the runtime sends an empty one.
        if (any_odd) {
            sides[0] = input.filter_rows(odd);  // keeps the lineage of the rows it keeps
        }
        return input.filter_rows(even);
    }

private:
    bool shuffle_;
};

/// A join that passes its first input through.
class first_input_join final : public join_transform {
public:
    schema_ptr bind_inputs(std::span<const join_input> inputs, bind_context&) override {
        return inputs[0].schema;
    }
    batch process_inputs(std::span<const batch* const> inputs, operator_context&) override {
        return *inputs[0];
    }
};

}  // namespace

TEST_CASE("every record reaches the main output or the side output, in order on both",
          "[pipeline][side-output]") {
    pipeline p("split", runtime_config{4, 8});
    auto* numbers = new counting_source(200, 7);
    p.add_source(decl("numbers"), std::unique_ptr<sluice::source>(numbers));
    p.add_transform(decl("split", {"numbers"}), std::make_unique<parity_splitter>());
    auto even_sink = std::make_unique<collecting_sink>(true);
    auto odd_sink = std::make_unique<collecting_sink>(true);
    auto* evens = even_sink.get();
    auto* odds = odd_sink.get();
    p.add_sink(decl("evens", {"split"}), std::move(even_sink));
    p.add_sink(decl("odds", {"split.odd"}), std::move(odd_sink));
    const auto summary = p.run();

    CHECK(summary.records_read == 1400);
    CHECK(summary.records_written == 1400);
    std::vector<std::int64_t> expected_even;
    std::vector<std::int64_t> expected_odd;
    for (std::int64_t n = 0; n < 1400; ++n) {
        (n % 2 == 0 ? expected_even : expected_odd).push_back(n);
    }
    // Ordered sinks: the values arrive in source order, so equality checks order too.
    CHECK(evens->values == expected_even);
    CHECK(odds->values == expected_odd);
    // One batch per source batch on the side output too, empty or not.
    std::vector<std::uint64_t> all_sequences(200);
    std::iota(all_sequences.begin(), all_sequences.end(), 0);
    CHECK(odds->sequences == all_sequences);
    CHECK(evens->sequences == all_sequences);
    CHECK(numbers->acknowledged.size() == 1400);
}

TEST_CASE("a side output with no records still sends one empty batch per input batch",
          "[pipeline][side-output]") {
    // Batches of one record: every other batch has no odd record at all.
    pipeline p("split");
    p.add_source(decl("numbers"), std::make_unique<counting_source>(50, 1));
    p.add_transform(decl("split", {"numbers"}), std::make_unique<parity_splitter>(false));
    auto odd_sink = std::make_unique<collecting_sink>(true);
    auto* odds = odd_sink.get();
    p.add_sink(decl("odds", {"split.odd"}), std::move(odd_sink));
    p.run();
    CHECK(odds->sequences.size() == 50);
    CHECK(odds->values.size() == 25);
}

TEST_CASE("positions are acknowledged only after the side output's sink accepted them",
          "[pipeline][side-output]") {
    pipeline p("split");
    auto* numbers = new counting_source(10, 4);
    p.add_source(decl("numbers"), std::unique_ptr<sluice::source>(numbers));
    p.add_transform(decl("split", {"numbers"}), std::make_unique<parity_splitter>(false));
    auto odd_sink = std::make_unique<collecting_sink>(true, /*hold_acks=*/true);
    auto* odds = odd_sink.get();
    p.add_sink(decl("evens", {"split"}), std::make_unique<collecting_sink>(true));
    p.add_sink(decl("odds", {"split.odd"}), std::move(odd_sink));

    std::thread runner([&] { p.run(); });
    for (int i = 0; i < 500; ++i) {
        {
            std::lock_guard lock(odds->mutex);
            if (odds->values.size() == 20) {
                break;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    {
        std::lock_guard lock(numbers->mutex);
        // The even records went through at once, but their batches' positions wait for the
        // side output's sink, which still holds every batch.
        CHECK(numbers->acknowledged.empty());
    }
    odds->release();
    runner.join();
    CHECK(numbers->acknowledged.size() == 40);
    CHECK(numbers->not_delivered.empty());
}

TEST_CASE("reading a side output that does not exist is a wiring error",
          "[pipeline][side-output]") {
    SECTION("an unknown name, with the closest one or the list") {
        pipeline p("bad");
        p.add_source(decl("numbers"), std::make_unique<counting_source>(1, 1));
        p.add_transform(decl("split", {"numbers"}), std::make_unique<parity_splitter>());
        p.add_transform(decl("plain", {"numbers"}), std::make_unique<add_transform>(0, false));
        p.add_sink(decl("a", {"split.od"}), std::make_unique<collecting_sink>());
        p.add_sink(decl("b", {"plain.late"}), std::make_unique<collecting_sink>());
        try {
            p.prepare();
            FAIL("prepare() accepted unknown side outputs");
        } catch (const config_error& e) {
            REQUIRE(e.diagnostics().size() == 2);
            CHECK_THAT(
                    e.what(),
                    Catch::Contains("test 'a': reads from 'split.od', but test 'split' has no side "
                                    "output 'od'; did you mean 'odd'?"));
            CHECK_THAT(e.what(),
                       Catch::Contains(
                               "test 'b': reads from 'plain.late', but test 'plain' has no side "
                               "output 'late' (it has none)"));
        }
    }
    SECTION("a source has none") {
        pipeline p("bad");
        p.add_source(decl("numbers"), std::make_unique<counting_source>(1, 1));
        p.add_sink(decl("c", {"numbers.odd"}), std::make_unique<collecting_sink>());
        try {
            p.prepare();
            FAIL("prepare() accepted a source's side output");
        } catch (const config_error& e) {
            REQUIRE(e.diagnostics().size() == 1);
            CHECK_THAT(
                    e.what(),
                    Catch::Contains("test 'c' reads from 'numbers.odd', but 'numbers' is a source; "
                                    "only transforms have side outputs"));
        }
    }
}

TEST_CASE("a side output feeds a transform like a main output, and a join cannot read one directly",
          "[pipeline][side-output]") {
    SECTION("through a transform") {
        pipeline p("split");
        p.add_source(decl("numbers"), std::make_unique<counting_source>(20, 5));
        p.add_transform(decl("split", {"numbers"}), std::make_unique<parity_splitter>());
        p.add_transform(decl("shifted", {"split.odd"}),
                        std::make_unique<add_transform>(1000, true));
        auto sink = std::make_unique<collecting_sink>(true);
        auto* out = sink.get();
        p.add_sink(decl("out", {"shifted"}), std::move(sink));
        p.run();
        REQUIRE(out->values.size() == 50);
        CHECK(out->values.front() == 1001);
        CHECK(out->values.back() == 1099);
    }
    SECTION("not into a join") {
        pipeline p("bad");
        p.add_source(decl("numbers"), std::make_unique<counting_source>(1, 1));
        p.add_transform(decl("split", {"numbers"}), std::make_unique<parity_splitter>());
        p.add_transform(decl("joined", {"split", "split.odd"}),
                        std::make_unique<first_input_join>());
        p.add_sink(decl("out", {"joined"}), std::make_unique<collecting_sink>());
        try {
            p.prepare();
            FAIL("prepare() let a join read a side output");
        } catch (const config_error& e) {
            CHECK_THAT(e.what(),
                       Catch::Contains("a join cannot read a side output ('split.odd') directly"));
        }
    }
}
