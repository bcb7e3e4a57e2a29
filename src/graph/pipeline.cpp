#include "graph/join_buffer.hpp"
#include "graph/reorder_buffer.hpp"
#include "graph/topology.hpp"
#include "operator/options_impl.hpp"

#include <sluice/core/log.hpp>
#include <sluice/graph/pipeline.hpp>

#include <fmt/format.h>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <span>
#include <thread>

namespace sluice {

namespace flow = tbb::flow;

namespace {

// Streams of batches emitted by an operator's finish() start here, so they never collide
// with a source's stream.
constexpr std::uint32_t flush_stream_base = 1U << 30;

// Marks a batch's source positions as not delivered (the pipeline is failing).
void abandon(const batch& b) {
    for (const auto& ack : b.acks()) {
        ack->fail("the pipeline stopped on an error before this batch was delivered");
    }
}

std::vector<column_ptr> empty_columns(const schema& s) {
    std::vector<column_ptr> columns;
    for (const auto& f : s.fields()) {
        columns.push_back(std::make_shared<const column>(f.type));
    }
    return columns;
}

std::uint64_t elapsed_ns(std::chrono::steady_clock::time_point since) {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::steady_clock::now() - since)
                                              .count());
}

/// Completes a join's output lineage: the operator inherited it from the first input; the
/// other inputs' acknowledgements are added (each once) and the watermark is the lowest.
void merge_join_lineage(batch& out, std::span<const batch_ptr> inputs) {
    for (const auto& in : inputs.subspan(1)) {
        for (const auto& ack : in->acks()) {
            if (std::find(out.acks().begin(), out.acks().end(), ack) == out.acks().end()) {
                out.add_ack(ack);
            }
        }
        out.set_watermark_ms(std::min(out.watermark_ms(), in->watermark_ms()));
    }
}

// Per source node index: how many distinct paths lead from that source to a node.
using source_paths = std::map<std::size_t, std::size_t>;

}  // namespace

struct pipeline::impl {
    struct node_state {
        node_declaration declaration;
        operator_role role = operator_role::transform;
        // Declared before the operator, so destroyed after it: its I/O thread, or a sink's
        // last pending delivery, may still use them while it shuts down.
        std::unique_ptr<operator_metrics> metrics;
        std::unique_ptr<operator_context> context;
        std::unique_ptr<source> source_op;
        std::unique_ptr<transform> transform_op;
        std::unique_ptr<sink> sink_op;
        schema_ptr output_schema;
        operator_traits traits;
        detail::reorder_buffer reorder;
        // Joins only: the transform seen as a join, and its inputs' batches waiting for the
        // rest of their set.
        join_transform* join = nullptr;
        detail::join_buffer gather;
        // Transforms only: the side outputs it declared after binding, and who reads each.
        std::vector<side_output> sides;
        std::vector<std::vector<flow::receiver<batch_ptr>*>> side_successors;

        // Per source: in-flight accounting.
        std::atomic<std::size_t> in_flight{0};
        std::atomic<std::size_t> peak_in_flight{0};
        std::uint64_t next_sequence = 0;
        std::uint32_t stream = 0;

        // Flow-graph nodes, built by run().
        std::mutex flight_mutex;
        std::condition_variable flight_released;

        // The input_node drives polling; its item is only a tick. The batch itself goes
        // straight to the successors from the body, because an input_node keeps a copy of
        // its last item until the next poll returns, which would pin that batch (its flight
        // slot and acknowledgement) for as long as the source stays quiet.
        std::unique_ptr<flow::input_node<int>> input;
        std::unique_ptr<flow::function_node<int, flow::continue_msg>> ticks;
        using transform_node = flow::multifunction_node<batch_ptr, std::tuple<batch_ptr>>;
        std::unique_ptr<transform_node> transformer;
        std::unique_ptr<flow::function_node<batch_ptr, flow::continue_msg>> consumer;
        std::vector<flow::receiver<batch_ptr>*> successors;
    };

    std::string name;
    runtime_config config;
    detail::topology topo;
    std::unique_ptr<dead_letter_writer> dead_letter;
    bool prepared = false;
    bool ran = false;

    std::atomic<bool> stop_requested{false};
    std::atomic<bool> accepting_acks{true};
    // Shared by every operator's context: what sources store with their commits.
    std::shared_ptr<resume_state> resume = std::make_shared<resume_state>();
    std::mutex error_mutex;
    std::exception_ptr first_error;

    std::atomic<bool> failed{false};

    // Declared last, so destroyed first: an operator going away (a Kafka sink's final flush,
    // an acknowledgement dropped) may still reach the dead-letter writer, the acknowledgement
    // flag, the resume state and the error slot above.
    std::vector<std::unique_ptr<node_state>> nodes;  // declaration order

    impl() = default;
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;
    impl(impl&&) = delete;
    impl& operator=(impl&&) = delete;
    ~impl() {
        // Transforms and sinks may still hold acknowledgement tokens (a window's open windows
        // after a stop) whose release calls back into their source and reads accepting_acks.
        // Tear them down first, downstream first, while the sources and the flag still exist;
        // members would otherwise go in declaration order, sources first. (Reverse iterators
        // rather than std::views::reverse: clang 14's clang-tidy cannot compile libstdc++ 12's.)
        for (auto node = nodes.rbegin(); node != nodes.rend(); ++node) {
            if (*node && (*node)->role != operator_role::source) {
                node->reset();
            }
        }
    }

    void record_error(std::exception_ptr error) {
        {
            std::lock_guard lock(error_mutex);
            if (!first_error) {
                first_error = std::move(error);
            }
        }
        failed.store(true);
        stop_requested.store(true);
    }

    node_state& add(node_declaration declaration, operator_role role) {
        auto n = std::make_unique<node_state>();
        n->declaration = std::move(declaration);
        n->role = role;
        n->metrics = std::make_unique<operator_metrics>();
        n->metrics->id = n->declaration.id;
        n->metrics->type = n->declaration.type;
        n->metrics->role = std::string(to_string(role));
        nodes.push_back(std::move(n));
        prepared = false;
        return *nodes.back();
    }

    void prepare();
    run_summary run();
    void build_graph(flow::graph& g);
    int poll_source(node_state& n, flow::graph& g, tbb::flow_control& control);
    void bind_join(node_state& n,
                   std::size_t index,
                   const std::vector<source_paths>& paths,
                   bind_context& ctx);
    void run_transform(node_state& n,
                       const batch_ptr& input,
                       node_state::transform_node::output_ports_type& ports);
    void transform_batch(node_state& n,
                         std::span<const batch_ptr> inputs,
                         node_state::transform_node::output_ports_type& ports);
    schema_ptr input_schema(std::size_t index, std::size_t k, bind_context& ctx) const;
    void send_side_outputs(node_state& n,
                           const batch& in,
                           std::span<batch> sides,
                           batch_origin origin);
    /// One empty batch to every side output: what a failed batch or an end-of-stream flush
    /// sends there, so side-output readers still get one batch per main-output batch.
    void send_empty_side_outputs(node_state& n, const batch& in, batch_origin origin) {
        std::vector<batch> unset(n.sides.size());  // send_side_outputs makes them empty
        send_side_outputs(n, in, unset, origin);
    }
    void run_sink(node_state& n, const batch_ptr& input);
    void finish_all(flow::graph& g);
};

void pipeline::impl::prepare() {
    if (prepared) {
        return;
    }
    diagnostics_collector problems;
    std::vector<std::pair<const node_declaration*, operator_role>> declared;
    for (const auto& n : nodes) {
        declared.emplace_back(&n->declaration, n->role);
    }
    topo = detail::resolve_topology(declared, problems);
    problems.throw_if_any();

    std::vector<source_paths> paths(nodes.size());
    for (const auto index : topo.order) {
        auto& n = *nodes[index];
        const auto& upstream = topo.nodes[index].upstream;
        bind_context ctx(n.declaration.type, n.declaration.id, n.declaration.locate, &problems);
        if (n.role == operator_role::source) {
            paths[index][index] = 1;
            n.output_schema = n.source_op->output_schema();
            continue;
        }
        n.join = n.role == operator_role::transform
                         ? dynamic_cast<join_transform*>(n.transform_op.get())
                         : nullptr;
        if (n.join) {
            // A join emits one batch per set of its inputs' batches: the paths of one input.
            paths[index] = paths[upstream.front()];
            bind_join(n, index, paths, ctx);
            continue;
        }
        for (const auto up : upstream) {
            for (const auto& [source_index, count] : paths[up]) {
                paths[index][source_index] += count;
            }
        }
        // Fan-in merges batches of one schema: every input must produce the same fields.
        schema_ptr input;
        bool consistent = true;
        for (std::size_t k = 0; k < upstream.size(); ++k) {
            const auto candidate = input_schema(index, k, ctx);
            if (!candidate) {
                consistent = false;  // upstream failed to bind or has no such output; reported
                break;
            }
            if (!input) {
                input = candidate;
            } else if (!(*input == *candidate)) {
                ctx.error("inputs",
                          "schema-mismatch",
                          fmt::format("inputs '{}' and '{}' produce different schemas: {} vs {}",
                                      n.declaration.inputs.front(),
                                      n.declaration.inputs[k],
                                      input->to_string(),
                                      candidate->to_string()));
                consistent = false;
                break;
            }
        }
        if (!consistent || !input) {
            continue;
        }
        if (n.role == operator_role::transform) {
            n.output_schema = n.transform_op->bind(input, ctx);
            n.traits = n.transform_op->traits();
            if (n.output_schema) {
                n.sides = n.transform_op->side_outputs();
                n.side_successors.resize(n.sides.size());
            }
        } else {
            n.sink_op->bind(input, ctx);
            n.traits = n.sink_op->traits();
        }
    }
    // A side output nobody reads would drop its records (a window's late ones, say) while
    // their positions are acknowledged: refuse the wiring instead. (Checked once the wiring
    // is otherwise right: a misspelled reader of it is the error to show first.)
    const bool wiring_ok = problems.items().empty();
    for (std::size_t index = 0; wiring_ok && index < nodes.size(); ++index) {
        const auto& n = *nodes[index];
        for (const auto& side : n.sides) {
            bool read = false;
            for (const auto& reader : topo.nodes) {
                for (std::size_t k = 0; k < reader.upstream.size(); ++k) {
                    read = read ||
                           (reader.upstream[k] == index && reader.upstream_ports[k] == side.name);
                }
            }
            if (!read) {
                bind_context ctx(
                        n.declaration.type, n.declaration.id, n.declaration.locate, &problems);
                ctx.error("",
                          "unread-side-output",
                          fmt::format("its side output '{}' is read by nothing, so its records "
                                      "would be lost; read it (inputs: [{}.{}]) or stop "
                                      "declaring it (see `sluice explain {}`)",
                                      side.name,
                                      n.declaration.id,
                                      side.name,
                                      n.declaration.type));
            }
        }
    }
    problems.throw_if_any();
    if (config.max_batches_in_flight < 2) {
        throw config_error(
                {diagnostic{{},
                            "out-of-range",
                            fmt::format("max_batches_in_flight must be at least 2, got {}",
                                        config.max_batches_in_flight)}});
    }
    prepared = true;
}

schema_ptr pipeline::impl::input_schema(std::size_t index, std::size_t k, bind_context& ctx) const {
    const auto& producer = *nodes[topo.nodes[index].upstream[k]];
    const auto& port = topo.nodes[index].upstream_ports[k];
    if (port.empty() || !producer.output_schema) {
        return producer.output_schema;
    }
    std::vector<std::string> names;
    for (const auto& side : producer.sides) {
        if (side.name == port) {
            return side.schema;
        }
        names.push_back(side.name);
    }
    const auto guess = closest_name(port, names);
    ctx.error(
            fmt::format("inputs.{}", k),
            "unknown-input",
            fmt::format("reads from '{}.{}', but {} '{}' has no side output '{}'{}",
                        producer.declaration.id,
                        port,
                        producer.declaration.type,
                        producer.declaration.id,
                        port,
                        names.empty()   ? std::string(" (it has none)")
                        : guess.empty() ? fmt::format(" (its side outputs: {})", join_names(names))
                                        : fmt::format("; did you mean '{}'?", guess)));
    return nullptr;
}

void pipeline::impl::bind_join(node_state& n,
                               std::size_t index,
                               const std::vector<source_paths>& paths,
                               bind_context& ctx) {
    n.traits = n.transform_op->traits();
    if (n.traits.needs_ordered_input) {
        throw std::logic_error(fmt::format("{} '{}': a join_transform cannot ask for ordered input",
                                           n.declaration.type,
                                           n.declaration.id));
    }
    const auto& upstream = topo.nodes[index].upstream;
    auto describe_paths = [&](const source_paths& from) {
        std::string text;
        for (const auto& [source_index, count] : from) {
            text += fmt::format("{}{}{}",
                                text.empty() ? "" : ", ",
                                nodes[source_index]->declaration.id,
                                count == 1 ? "" : fmt::format(" ({} paths)", count));
        }
        return text;
    };
    bool one_path_each = true;
    for (const auto up : upstream) {
        one_path_each = one_path_each && paths[up] == paths[upstream.front()] &&
                        std::all_of(paths[up].begin(), paths[up].end(), [](const auto& p) {
                            return p.second == 1;
                        });
    }
    std::vector<join_input> inputs;
    for (std::size_t k = 0; k < upstream.size(); ++k) {
        if (std::find(upstream.begin(),
                      upstream.begin() + static_cast<std::ptrdiff_t>(k),
                      upstream[k]) != upstream.begin() + static_cast<std::ptrdiff_t>(k)) {
            ctx.error(fmt::format("inputs.{}", k),
                      "invalid-input",
                      fmt::format("lists input '{}' twice", nodes[upstream[k]]->declaration.id));
        }
        if (!topo.nodes[index].upstream_ports[k].empty()) {
            // A join matches its inputs' batches by producer; a side output shares its
            // producer with the main output.
            ctx.error(fmt::format("inputs.{}", k),
                      "invalid-input",
                      fmt::format("a join cannot read a side output ('{}.{}') directly; pass it "
                                  "through a transform "
                                  "(e.g. a filter) first",
                                  nodes[upstream[k]]->declaration.id,
                                  topo.nodes[index].upstream_ports[k]));
        }
        inputs.push_back({nodes[upstream[k]]->declaration.id, nodes[upstream[k]]->output_schema});
    }
    if (!one_path_each && !ctx.failed()) {
        std::string found;
        for (const auto up : upstream) {
            found += fmt::format("{}'{}' reads from {}",
                                 found.empty() ? "" : "; ",
                                 nodes[up]->declaration.id,
                                 describe_paths(paths[up]));
        }
        ctx.error("inputs",
                  "invalid-input",
                  fmt::format("joins the batches its inputs make from one source batch, so every "
                              "input must read "
                              "from the same sources, each by one path; found: {}",
                              found));
    }
    const bool inputs_bound = std::all_of(inputs.begin(), inputs.end(), [](const join_input& in) {
        return in.schema != nullptr;
    });
    if (ctx.failed() || !inputs_bound) {
        return;  // an unbound input has reported its own problem
    }
    n.output_schema = n.join->bind_inputs(inputs, ctx);
    n.gather.set_inputs(inputs.size());
}

int pipeline::impl::poll_source(node_state& n, flow::graph& g, tbb::flow_control& control) {
    source_batch polled;
    {
        // Backpressure: poll only while fewer than the bound are in flight. The wait blocks
        // this source's own thread (the arena has one per source), never a worker.
        std::unique_lock lock(n.flight_mutex);
        while (n.in_flight.load() >= config.max_batches_in_flight && !stop_requested.load()) {
            n.flight_released.wait_for(lock, std::chrono::milliseconds(100));
        }
    }
    try {
        while (true) {
            if (stop_requested.load()) {
                control.stop();
                return 0;
            }
            const auto started = std::chrono::steady_clock::now();
            const auto status = n.source_op->poll(polled, *n.context);
            if (status == poll_status::finished) {
                control.stop();
                return 0;
            }
            if (status == poll_status::produced) {
                n.metrics->batch_latency.record(elapsed_ns(started));
                break;
            }
            // idle: nothing arrived within the source's own max latency; ask again.
        }
    } catch (...) {
        record_error(std::current_exception());
        control.stop();
        return 0;
    }

    auto out = std::make_shared<batch>(std::move(polled.data));
    out->set_origin({n.stream, n.next_sequence++, n.stream});
    n.metrics->batches_in.fetch_add(1, std::memory_order_relaxed);
    n.metrics->records_out.fetch_add(out->num_rows(), std::memory_order_relaxed);

    const auto now_in_flight = n.in_flight.fetch_add(1) + 1;
    auto peak = n.peak_in_flight.load();
    while (now_in_flight > peak && !n.peak_in_flight.compare_exchange_weak(peak, now_in_flight)) {
    }
    // The slot keeps graph.wait_for_all() waiting until every holder (including an async
    // sink) lets go, and its release lets the source poll the next batch.
    g.reserve_wait();
    auto* state = &n;
    out->set_flight(std::make_shared<flight_slot>([state, &g] {
        {
            std::lock_guard lock(state->flight_mutex);
            state->in_flight.fetch_sub(1);
        }
        state->flight_released.notify_one();
        g.release_wait();
    }));
    if (!polled.positions.empty()) {
        auto* op = n.source_op.get();
        auto* accepting = &accepting_acks;
        out->add_ack(std::make_shared<ack_token>(
                std::move(polled.positions),
                [op, accepting](const std::vector<source_position>& positions, bool delivered) {
                    // After shutdown, tokens are dropped by operators being destroyed, not
                    // by sinks accepting data: those positions were never delivered.
                    if (delivered && accepting->load()) {
                        op->acknowledge(positions);
                    } else {
                        op->reject_positions(positions);
                    }
                }));
    }
    batch_ptr shared = std::move(out);
    for (auto* receiver : n.successors) {
        receiver->try_put(shared);
    }
    return 0;
}

void pipeline::impl::run_transform(node_state& n,
                                   const batch_ptr& input,
                                   node_state::transform_node::output_ports_type& ports) {
    if (n.join) {
        // The node index is the producer id; its position among the join's upstream nodes is
        // the input's index (the wiring checks rule out duplicates).
        const auto& upstream = topo.nodes[n.stream].upstream;
        const auto position = static_cast<std::size_t>(
                std::find(upstream.begin(), upstream.end(), input->origin().producer) -
                upstream.begin());
        std::vector<batch_ptr> set;
        try {
            set = n.gather.push(position, input);
        } catch (...) {
            record_error(std::current_exception());
            abandon(*input);
        }
        if (!set.empty()) {
            transform_batch(n, set, ports);
        }
        return;
    }
    std::vector<batch_ptr> ready;
    if (n.traits.needs_ordered_input) {
        ready = n.reorder.push(input);
    } else {
        ready.push_back(input);
    }
    for (const auto& in : ready) {
        transform_batch(n, {&in, 1}, ports);
    }
}

void pipeline::impl::transform_batch(node_state& n,
                                     std::span<const batch_ptr> inputs,
                                     node_state::transform_node::output_ports_type& ports) {
    // One input, or (for a join) one batch per input, all of the same origin.
    const batch& in = *inputs.front();
    if (!failed.load()) {
        const auto started = std::chrono::steady_clock::now();
        n.metrics->batches_in.fetch_add(1, std::memory_order_relaxed);
        n.metrics->records_in.fetch_add(in.num_rows(), std::memory_order_relaxed);
        try {
            const auto rejected_before = n.metrics->rejected.load(std::memory_order_relaxed);
            batch result;
            std::vector<batch> sides(n.sides.size());
            if (n.join) {
                std::vector<const batch*> parts;
                for (const auto& part : inputs) {
                    parts.push_back(part.get());
                }
                result = n.join->process_inputs(parts, *n.context);
                merge_join_lineage(result, inputs);
            } else if (!sides.empty()) {
                result = n.transform_op->process_with_side_outputs(in, *n.context, sides);
            } else {
                result = n.transform_op->process(in, *n.context);
            }
            auto out = std::make_shared<batch>(std::move(result));
            if (dead_letter &&
                n.metrics->rejected.load(std::memory_order_relaxed) != rejected_before) {
                // Rejected records must be durable before the batch can be acknowledged.
                dead_letter->flush();
            }
            n.metrics->records_out.fetch_add(out->num_rows(), std::memory_order_relaxed);
            n.metrics->batch_latency.record(elapsed_ns(started));
            out->set_origin({in.origin().stream, in.origin().sequence, n.stream});
            send_side_outputs(n, in, sides, out->origin());
            std::get<0>(ports).try_put(std::move(out));
            return;
        } catch (...) {
            record_error(std::current_exception());
        }
    }
    // The pipeline is failing: nothing of this batch may be acknowledged, but downstream
    // still gets an (empty) batch in its place so that no reorder buffer waits forever.
    for (const auto& part : inputs) {
        abandon(*part);
    }
    auto stand_in = std::make_shared<batch>(n.output_schema, empty_columns(*n.output_schema));
    stand_in->inherit_lineage(in);
    merge_join_lineage(*stand_in, inputs);
    stand_in->set_origin({in.origin().stream, in.origin().sequence, n.stream});
    send_empty_side_outputs(n, in, stand_in->origin());
    std::get<0>(ports).try_put(std::move(stand_in));
}

void pipeline::impl::send_side_outputs(node_state& n,
                                       const batch& in,
                                       std::span<batch> sides,
                                       batch_origin origin) {
    for (std::size_t k = 0; k < sides.size(); ++k) {
        const auto& declared = n.sides[k];
        if (!sides[k].schema()) {
            // Nothing for this output this time; downstream still gets its one batch.
            sides[k] = batch(declared.schema, empty_columns(*declared.schema));
            sides[k].inherit_lineage(in);
        } else if (sides[k].schema() != declared.schema &&
                   !(*sides[k].schema() == *declared.schema)) {
            throw std::logic_error(
                    fmt::format("{} '{}': side output '{}' got a batch of schema {}, declared {}",
                                n.declaration.type,
                                n.declaration.id,
                                declared.name,
                                sides[k].schema()->to_string(),
                                declared.schema->to_string()));
        }
        auto side = std::make_shared<batch>(std::move(sides[k]));
        side->set_origin(origin);
        for (auto* receiver : n.side_successors[k]) {
            receiver->try_put(side);
        }
    }
}

void pipeline::impl::run_sink(node_state& n, const batch_ptr& input) {
    std::vector<batch_ptr> ready;
    if (n.traits.needs_ordered_input) {
        ready = n.reorder.push(input);
    } else {
        ready.push_back(input);
    }
    for (const auto& in : ready) {
        if (failed.load()) {
            abandon(*in);
            continue;
        }
        const auto started = std::chrono::steady_clock::now();
        n.metrics->batches_in.fetch_add(1, std::memory_order_relaxed);
        n.metrics->records_in.fetch_add(in->num_rows(), std::memory_order_relaxed);
        try {
            n.sink_op->consume(*in, *n.context);
            n.metrics->records_out.fetch_add(in->num_rows(), std::memory_order_relaxed);
            n.metrics->batch_latency.record(elapsed_ns(started));
            // A sink that writes synchronously is done with the records now; one that waits for
            // a broker's or node's acknowledgement times them itself when that comes.
            if (!n.traits.times_delivery) {
                record_end_to_end_latency(in->created_ns(), *n.metrics);
            }
        } catch (...) {
            record_error(std::current_exception());
            abandon(*in);
        }
    }
}

void pipeline::impl::build_graph(flow::graph& g) {
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        auto& n = *nodes[i];
        // The node index doubles as stream id (sources) and producer id (all nodes).
        n.stream = static_cast<std::uint32_t>(i);
        n.context = std::make_unique<operator_context>(n.declaration.type,
                                                       n.declaration.id,
                                                       n.metrics.get(),
                                                       dead_letter.get(),
                                                       &stop_requested,
                                                       resume);
        switch (n.role) {
            case operator_role::source:
                // Not a limiter_node: its pull protocol with input_node hung here now and
                // then (oneTBB issue #634 and relatives); poll_source bounds in-flight itself.
                n.input = std::make_unique<flow::input_node<int>>(
                        g, [this, &n, &g](tbb::flow_control& control) {
                            return poll_source(n, g, control);
                        });
                n.ticks = std::make_unique<flow::function_node<int, flow::continue_msg>>(
                        g, flow::serial, [](int) { return flow::continue_msg(); });
                flow::make_edge(*n.input, *n.ticks);
                break;
            case operator_role::transform: {
                const bool serial =
                        n.traits.calls == concurrency::serial || n.traits.needs_ordered_input;
                n.transformer = std::make_unique<node_state::transform_node>(
                        g,
                        serial ? flow::serial : flow::unlimited,
                        [this, &n](const batch_ptr& in,
                                   node_state::transform_node::output_ports_type& ports) {
                            run_transform(n, in, ports);
                        });
                break;
            }
            case operator_role::sink: {
                const bool serial =
                        n.traits.calls == concurrency::serial || n.traits.needs_ordered_input;
                n.consumer = std::make_unique<flow::function_node<batch_ptr, flow::continue_msg>>(
                        g,
                        serial ? flow::serial : flow::unlimited,
                        [this, &n](const batch_ptr& in) {
                            run_sink(n, in);
                            return flow::continue_msg();
                        });
                break;
            }
        }
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        auto& d = *nodes[i];
        const auto& wiring = topo.nodes[i];
        for (std::size_t k = 0; k < wiring.upstream.size(); ++k) {
            auto& n = *nodes[wiring.upstream[k]];
            flow::receiver<batch_ptr>& receiver =
                    d.role == operator_role::transform
                            ? static_cast<flow::receiver<batch_ptr>&>(*d.transformer)
                            : static_cast<flow::receiver<batch_ptr>&>(*d.consumer);
            if (const auto& port = wiring.upstream_ports[k]; !port.empty()) {
                // Side outputs are sent from the transform's body (send_side_outputs).
                const auto side =
                        std::find_if(n.sides.begin(), n.sides.end(), [&](const side_output& s) {
                            return s.name == port;
                        });
                n.side_successors[static_cast<std::size_t>(side - n.sides.begin())].push_back(
                        &receiver);
                continue;
            }
            n.successors.push_back(&receiver);
            if (n.role != operator_role::source) {
                flow::make_edge(flow::output_port<0>(*n.transformer), receiver);
            }
        }
    }
}

void pipeline::impl::finish_all(flow::graph& g) {
    // Topological order: an operator's end-of-stream output is fully processed downstream
    // before the next operator is finished, so a sink's finish() sees everything.
    const bool drain_state = !stop_requested.load();
    for (const auto index : topo.order) {
        auto& n = *nodes[index];
        try {
            if (n.join) {
                // Everything drained, so an incomplete set can only hold batches that some
                // inputs made and the others never will (e.g. a window's end-of-stream output
                // on one branch): they cannot be joined, and are not acknowledged.
                const auto leftover = n.gather.take_pending();
                for (const auto& b : leftover) {
                    abandon(*b);
                }
                if (!leftover.empty() && !failed.load()) {
                    throw operator_error(
                            n.declaration.type,
                            n.declaration.id,
                            fmt::format(
                                    "{} batches arrived from only some of its inputs (e.g. the "
                                    "end-of-stream output of a window on one branch); every input "
                                    "must deliver one batch per source batch",
                                    leftover.size()));
                }
            }
            if (n.role == operator_role::transform && drain_state) {
                auto flushed = n.transform_op->finish(*n.context);
                if (flushed) {
                    auto out = std::make_shared<batch>(std::move(*flushed));
                    out->set_origin({flush_stream_base + n.stream, 0, n.stream});
                    n.metrics->records_out.fetch_add(out->num_rows(), std::memory_order_relaxed);
                    send_empty_side_outputs(n, *out, out->origin());
                    for (auto* receiver : n.successors) {
                        receiver->try_put(out);
                    }
                    out.reset();
                    g.wait_for_all();
                }
            } else if (n.role == operator_role::sink) {
                n.sink_op->finish(*n.context);
            }
        } catch (...) {
            record_error(std::current_exception());
        }
    }
    if (dead_letter) {
        try {
            dead_letter->finish();
        } catch (...) {
            record_error(std::current_exception());
        }
    }
}

run_summary pipeline::impl::run() {
    prepare();
    if (ran) {
        throw std::logic_error(fmt::format("pipeline '{}' has already run; build a new one", name));
    }
    ran = true;
    const auto started = std::chrono::steady_clock::now();

    std::size_t source_count = 0;
    for (const auto& n : nodes) {
        source_count += n->role == operator_role::source ? 1 : 0;
    }
    const std::size_t workers = config.threads != 0
                                        ? config.threads
                                        : std::max(1U, std::thread::hardware_concurrency());
    // Sources may block in poll() for up to their max latency; give each a thread of its own
    // on top of the workers so a quiet source never starves the transforms.
    const std::size_t slots = workers + source_count;
    tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, slots);
    tbb::task_arena arena(static_cast<int>(slots));
    arena.execute([&] {
        flow::graph g;
        // Flow-graph nodes unregister from their graph when destroyed: destroy them first.
        struct release_nodes {
            impl& self;
            explicit release_nodes(impl& owner)
                : self(owner) {}
            release_nodes(const release_nodes&) = delete;
            release_nodes& operator=(const release_nodes&) = delete;
            release_nodes(release_nodes&&) = delete;
            release_nodes& operator=(release_nodes&&) = delete;
            ~release_nodes() {
                for (auto& n : self.nodes) {
                    n->input.reset();
                    n->ticks.reset();
                    n->transformer.reset();
                    n->consumer.reset();
                    n->successors.clear();
                    n->side_successors.clear();
                }
            }
        } release(*this);
        build_graph(g);
        for (auto& n : nodes) {
            if (n->input) {
                n->input->activate();
            }
        }
        g.wait_for_all();
        finish_all(g);
        g.wait_for_all();
    });

    // Everything accepted has been acknowledged by now; later token releases come from
    // operators being torn down and must not commit anything.
    accepting_acks.store(false);
    for (auto& n : nodes) {
        if (n->role == operator_role::source) {
            try {
                n->source_op->close(*n->context);
            } catch (...) {
                record_error(std::current_exception());
            }
        }
    }

    run_summary summary;
    summary.elapsed = std::chrono::steady_clock::now() - started;
    summary.stopped_by_request = stop_requested.load() && !first_error;
    for (const auto& n : nodes) {
        summary.records_rejected += n->metrics->rejected.load();
        if (n->role == operator_role::source) {
            summary.records_read += n->metrics->records_out.load();
            summary.batches += n->metrics->batches_in.load();
        } else if (n->role == operator_role::sink) {
            summary.records_written += n->metrics->records_out.load();
        }
    }
    if (first_error) {
        std::rethrow_exception(first_error);
    }
    return summary;
}

pipeline::pipeline(std::string name, runtime_config config)
    : impl_(std::make_unique<impl>()) {
    impl_->name = std::move(name);
    impl_->config = config;
}

pipeline::~pipeline() = default;

const std::string& pipeline::name() const noexcept {
    return impl_->name;
}

void pipeline::add_source(node_declaration declaration, std::unique_ptr<source> op) {
    impl_->add(std::move(declaration), operator_role::source).source_op = std::move(op);
}

void pipeline::add_transform(node_declaration declaration, std::unique_ptr<transform> op) {
    impl_->add(std::move(declaration), operator_role::transform).transform_op = std::move(op);
}

void pipeline::add_sink(node_declaration declaration, std::unique_ptr<sink> op) {
    impl_->add(std::move(declaration), operator_role::sink).sink_op = std::move(op);
}

void pipeline::set_dead_letter(std::unique_ptr<dead_letter_writer> writer) {
    impl_->dead_letter = std::move(writer);
}

void pipeline::prepare() {
    impl_->prepare();
}

run_summary pipeline::run() {
    return impl_->run();
}

void pipeline::stop() noexcept {
    impl_->stop_requested.store(true);
}

std::vector<const operator_metrics*> pipeline::metrics() const {
    std::vector<const operator_metrics*> out;
    for (const auto& n : impl_->nodes) {
        out.push_back(n->metrics.get());
    }
    return out;
}

std::size_t pipeline::batches_in_flight(std::size_t source_index) const {
    std::size_t seen = 0;
    for (const auto& n : impl_->nodes) {
        if (n->role == operator_role::source && seen++ == source_index) {
            return n->in_flight.load();
        }
    }
    return 0;
}

std::size_t pipeline::peak_batches_in_flight(std::size_t source_index) const {
    std::size_t seen = 0;
    for (const auto& n : impl_->nodes) {
        if (n->role == operator_role::source && seen++ == source_index) {
            return n->peak_in_flight.load();
        }
    }
    return 0;
}

std::vector<node_declaration> pipeline::declarations() const {
    std::vector<node_declaration> out;
    for (const auto& n : impl_->nodes) {
        out.push_back(n->declaration);
    }
    return out;
}

schema_ptr pipeline::output_schema_of(std::string_view id) const {
    for (const auto& n : impl_->nodes) {
        if (n->declaration.id == id) {
            return n->output_schema;
        }
    }
    return nullptr;
}

}  // namespace sluice
