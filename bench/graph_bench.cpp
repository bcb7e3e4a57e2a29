// The graph runtime's cost per batch: a source of pre-built batches -> N pass-through
// transforms -> a counting sink. Reported as batches/s and ns per batch per hop; compared
// side by side with the same operator calls in a plain loop (the baseline: no graph).
//
//   build/release/bench/graph_bench
#include <sluice/sluice.hpp>

#include <benchmark/benchmark.h>

namespace {

using namespace sluice;

schema_ptr one_column() {
    static const schema_ptr s = make_schema({{"n", data_type::int64}});
    return s;
}

batch tiny_batch(std::size_t rows) {
    auto c = std::make_shared<column>(data_type::int64);
    for (std::size_t i = 0; i < rows; ++i) {
        c->push_int64(static_cast<std::int64_t>(i));
    }
    return batch(one_column(), {c});
}

class replay_source final : public source {
public:
    replay_source(std::size_t batches, std::size_t rows)
        : remaining_(batches)
        , prototype_(tiny_batch(rows)) {}
    schema_ptr output_schema() const override { return one_column(); }
    poll_status poll(source_batch& out, operator_context&) override {
        if (remaining_ == 0) {
            return poll_status::finished;
        }
        --remaining_;
        out.data = prototype_;  // shares the column: only the batch header is new
        return poll_status::produced;
    }

private:
    std::size_t remaining_;
    batch prototype_;
};

class pass_through final : public transform {
public:
    explicit pass_through(bool ordered)
        : ordered_(ordered) {}
    operator_traits traits() const override {
        return ordered_ ? operator_traits{concurrency::serial, true}
                        : operator_traits{concurrency::parallel, false};
    }
    schema_ptr bind(const schema_ptr& input, bind_context&) override { return input; }
    batch process(const batch& input, operator_context&) override { return input; }

private:
    bool ordered_;
};

class counting_sink final : public sink {
public:
    void bind(const schema_ptr&, bind_context&) override {}
    void consume(const batch& input, operator_context&) override { rows += input.num_rows(); }
    std::size_t rows = 0;
};

constexpr std::size_t batches_per_run = 20000;

// args: number of transforms, 1 = ordered (serial + reorder) transforms, rows per batch
void graph_per_batch(benchmark::State& state) {
    const auto hops = static_cast<std::size_t>(state.range(0));
    const bool ordered = state.range(1) != 0;
    const auto rows = static_cast<std::size_t>(state.range(2));
    for (auto _ : state) {
        pipeline p("bench");
        p.add_source({"src", "replay", {}, {}},
                     std::make_unique<replay_source>(batches_per_run, rows));
        std::string previous = "src";
        for (std::size_t i = 0; i < hops; ++i) {
            const auto id = "t" + std::to_string(i);
            p.add_transform({id, "pass", {previous}, {}}, std::make_unique<pass_through>(ordered));
            previous = id;
        }
        auto out = std::make_unique<counting_sink>();
        auto* counted = out.get();
        p.add_sink({"out", "count", {previous}, {}}, std::move(out));
        p.run();
        if (counted->rows != batches_per_run * rows) {
            state.SkipWithError("rows lost");
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batches_per_run));
    state.counters["ns_per_batch_per_hop"] = benchmark::Counter(
            static_cast<double>(state.iterations() * batches_per_run * (hops + 1)),
            benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(graph_per_batch)
        ->ArgNames({"hops", "ordered", "rows"})
        ->Args({1, 0, 1})
        ->Args({4, 0, 1})
        ->Args({4, 1, 1})
        ->Args({4, 0, 1024})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();

// Baseline: the same calls in a plain loop on one thread, no graph.
void plain_loop_per_batch(benchmark::State& state) {
    const auto hops = static_cast<std::size_t>(state.range(0));
    const auto rows = static_cast<std::size_t>(state.range(2));
    operator_context ctx("bench", "bench", nullptr, nullptr, nullptr);
    for (auto _ : state) {
        replay_source src(batches_per_run, rows);
        std::vector<pass_through> stages(hops, pass_through(false));
        counting_sink out;
        source_batch polled;
        while (src.poll(polled, ctx) == poll_status::produced) {
            batch current = std::move(polled.data);
            for (auto& stage : stages) {
                current = stage.process(current, ctx);
            }
            out.consume(current, ctx);
        }
        benchmark::DoNotOptimize(out.rows);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batches_per_run));
}
BENCHMARK(plain_loop_per_batch)
        ->ArgNames({"hops", "ordered", "rows"})
        ->Args({1, 0, 1})
        ->Args({4, 0, 1})
        ->Args({4, 0, 1024})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
