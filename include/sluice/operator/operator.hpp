#pragma once

#include <sluice/core/batch.hpp>
#include <sluice/core/error.hpp>
#include <sluice/operator/context.hpp>

#include <functional>
#include <memory>
#include <optional>
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

/// A transform: one output batch (possibly empty) for each input batch.
///
/// The one-to-one rule keeps each batch's origin and sequence intact, so order can be
/// restored downstream of parallel stages. Rejected records go to `ctx.reject`.
class transform {
public:
    virtual ~transform() = default;
    virtual operator_traits traits() const { return {}; }
    /// Checks the input schema and returns the output schema (nullptr after ctx.error()).
    virtual schema_ptr bind(const schema_ptr& input, bind_context& ctx) = 0;
    virtual batch process(const batch& input, operator_context& ctx) = 0;
    /// End of stream: emit what is still held (e.g. open windows), or nothing.
    virtual std::optional<batch> finish(operator_context& ctx) {
        (void)ctx;
        return std::nullopt;
    }
};

/// A sink. `consume` accepts a batch: a synchronous sink writes it before returning; an
/// asynchronous one keeps copies of `input.acks()` (and `input.flight()` to hold
/// backpressure) until the data is durable.
class sink {
public:
    virtual ~sink() = default;
    virtual operator_traits traits() const {
        return {concurrency::serial, true};
    }
    virtual void bind(const schema_ptr& input, bind_context& ctx) = 0;
    virtual void consume(const batch& input, operator_context& ctx) = 0;
    /// End of stream: write out buffers and wait until everything accepted is durable.
    virtual void finish(operator_context& ctx) { (void)ctx; }
};

}  // namespace sluice
