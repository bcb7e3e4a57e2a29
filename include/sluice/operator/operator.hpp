#pragma once

#include <sluice/core/batch.hpp>
#include <sluice/core/error.hpp>
#include <sluice/operator/context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// How many calls of an operator instance the graph may run at once.
enum class concurrency {
    serial,    ///< one call at a time (stateful operators, most sinks)
    parallel,  ///< any number at once: the operator is thread-safe and keeps no order
};

/// What an operator asks of the graph.
struct operator_traits {
    concurrency calls = concurrency::parallel;
    /// Batches arrive in each source's order (the graph restores it after parallel stages).
    bool needs_ordered_input = false;
    /// Sinks only: the sink's writes complete later, when a broker or node acknowledges them,
    /// and the sink records its records' end-to-end latency then
    /// (operator_context::record_delivered). Otherwise the runtime records it when consume()
    /// returns.
    bool times_delivery = false;
};

/// Build-time checks of an operator against the schema it receives. Problems are reported
/// against the operator's option keys so the message points at the YAML text.
class bind_context {
public:
    using locator = std::function<source_location(std::string_view key)>;
    bind_context(std::string type, std::string id, locator locate, diagnostics_collector* out);

    /// Reports a problem located at option `key` ("" = the operator itself); the message is
    /// prefixed with "<type> '<id>': ".
    void error(std::string_view key, std::string code, std::string message);
    bool failed() const noexcept { return failed_; }

private:
    std::string type_;
    std::string id_;
    locator locate_;
    diagnostics_collector* out_;
    bool failed_ = false;
};

/// A batch produced by a source, with the positions it covers (acknowledged later).
struct source_batch {
    batch data;
    std::vector<source_position> positions;
};

enum class poll_status {
    produced,  ///< `out` holds a batch (it may be empty but carry a newer watermark)
    idle,      ///< nothing arrived within the source's max latency
    finished,  ///< the source is exhausted (or stopped) and will produce nothing more
};

/// A source of batches. The graph calls `poll` from one thread at a time, only when it has
/// room for another batch in flight (backpressure), so `poll` may block up to its own
/// `max_latency` but no longer.
class source {
public:
    virtual ~source() = default;
    /// The schema of every batch this source produces. Known after construction.
    virtual schema_ptr output_schema() const = 0;
    virtual poll_status poll(source_batch& out, operator_context& ctx) = 0;
    /// Positions every sink has accepted; may be called from any thread, in any order.
    virtual void acknowledge(const std::vector<source_position>& positions) { (void)positions; }
    /// Positions that could not be delivered (a sink failed permanently): not committed.
    virtual void reject_positions(const std::vector<source_position>& positions) {
        (void)positions;
    }
    /// Called once after the pipeline has drained: commit and release resources.
    virtual void close(operator_context& ctx) { (void)ctx; }
};

/// A named extra output of a transform (e.g. a window's late records), read downstream as
/// `inputs: [<id>.<name>]`.
struct side_output {
    std::string name;
    schema_ptr schema;
};

/// A transform: one output batch (possibly empty) for each input batch.
///
/// The one-to-one rule keeps each batch's origin and sequence intact, so order can be
/// restored downstream of parallel stages. Rejected records go to `ctx.reject`.
///
/// Side outputs follow the same rule: for each input batch the runtime sends exactly one
/// batch (possibly empty) to every side output, with the input's origin, so a side output
/// can feed ordered operators and sinks like the main output.
class transform {
public:
    virtual ~transform() = default;
    virtual operator_traits traits() const { return {}; }
    /// Checks the input schema and returns the output schema (nullptr after ctx.error()).
    virtual schema_ptr bind(const schema_ptr& input, bind_context& ctx) = 0;
    virtual batch process(const batch& input, operator_context& ctx) = 0;

    /// The side outputs this transform declares, known after a successful bind() (they may
    /// depend on its options). Default: none.
    virtual std::vector<side_output> side_outputs() const { return {}; }
    /// process() for a transform with side outputs: `sides` holds one default-constructed
    /// batch per entry of side_outputs(), in that order. Fill those that receive records
    /// (with the input's lineage for the rows they hold: `inherit_lineage(input, selection)`,
    /// so their sources are acknowledged only when the side output's consumers accept them);
    /// the runtime replaces a batch left without a schema by an empty one.
    virtual batch process_with_side_outputs(const batch& input,
                                            operator_context& ctx,
                                            std::span<batch> sides) {
        (void)sides;
        return process(input, ctx);
    }
    /// End of stream: emit what is still held (e.g. open windows), or nothing.
    virtual std::optional<batch> finish(operator_context& ctx) {
        (void)ctx;
        return std::nullopt;
    }
};

/// One input of a join_transform, as it binds: the id it reads from (as written in
/// `inputs`) and that node's output schema.
struct join_input {
    std::string_view id;
    schema_ptr schema;
};

/// A transform that joins the branches of a fan-out back into one batch (e.g. `zip`).
///
/// Unlike a plain transform with several inputs (which receives every input's batches one by
/// one, all of one schema), a join's inputs may have different schemas, and the runtime hands
/// it the batches its inputs made from the same source batch *together*: it buffers each
/// arriving batch by origin (stream, sequence) until every input has delivered that batch,
/// then calls `process_inputs` once with one batch per input, in the order of `inputs`. So a
/// join, too, emits exactly one batch per source batch. The buffer holds batches that occupy
/// flight slots, so it is bounded by the runtime's `max_batches_in_flight` per source.
///
/// The runtime checks when the pipeline is prepared that this can work: every input reads
/// (through any number of transforms) from the same sources, each by exactly one path, and
/// no input is listed twice. An input that delivers a batch the others never deliver (an
/// end-of-stream flush of a window on one branch only) fails the run at the end of stream.
///
/// Lineage: the operator builds its output's lineage from the first input
/// (`inherit_lineage`); the runtime then adds the other inputs' acknowledgements and lowers
/// the watermark to the smallest of the inputs' watermarks.
///
/// A join may be serial or parallel but cannot ask for ordered input (restore the order after
/// it instead).
class join_transform : public transform {
public:
    /// Checks the inputs' schemas (in the order of `inputs`) and returns the output schema
    /// (nullptr after ctx.error()). Errors about one input are best reported at key
    /// "inputs.<index>".
    virtual schema_ptr bind_inputs(std::span<const join_input> inputs, bind_context& ctx) = 0;
    /// One batch per input, all made from the same source batch, in the order of `inputs`.
    virtual batch process_inputs(std::span<const batch* const> inputs, operator_context& ctx) = 0;

    /// A join with one input (e.g. built in code): binds that input alone.
    schema_ptr bind(const schema_ptr& input, bind_context& ctx) final {
        const join_input only{"", input};
        return bind_inputs({&only, 1}, ctx);
    }
    batch process(const batch& input, operator_context& ctx) final {
        const batch* only = &input;
        return process_inputs({&only, 1}, ctx);
    }
};

/// A sink. `consume` accepts a batch: a synchronous sink writes it before returning; an
/// asynchronous one keeps copies of `input.acks()` (and `input.flight()` to hold
/// backpressure) until the data is durable.
class sink {
public:
    virtual ~sink() = default;
    virtual operator_traits traits() const { return {concurrency::serial, true}; }
    virtual void bind(const schema_ptr& input, bind_context& ctx) = 0;
    virtual void consume(const batch& input, operator_context& ctx) = 0;
    /// End of stream: write out buffers and wait until everything accepted is durable.
    virtual void finish(operator_context& ctx) { (void)ctx; }
};

}  // namespace sluice
