#include "file_common.hpp"

#include <sluice/operator/registry.hpp>
#include <sluice/ops/file.hpp>

#include <fmt/format.h>

namespace sluice::file_detail {

namespace {

void describe_stdout_sink(option_spec& spec) {
    describe_text_format(spec, {"ndjson", "csv"});
}

/// The `stdout` sink: writing to standard output is its job, so it is the one place the
/// library prints. It writes through a FILE* (stdout unless given another stream) with one
/// write and a flush per batch.
class stream_sink final : public sink {
public:
    stream_sink(const options& opts, std::FILE* stream)
        : stream_(stream)
        , formatter_(opts) {}

    void bind(const schema_ptr& input, bind_context&) override { formatter_.bind(*input); }

    void consume(const batch& input, operator_context& ctx) override {
        buffer_.clear();
        if (!header_written_ && formatter_.wants_header()) {
            formatter_.append_header(buffer_);
        }
        header_written_ = true;
        formatter_.append_batch(buffer_, input);
        std::string error;
        if (!write_and_flush(stream_, buffer_, error)) {
            throw operator_error(ctx.type(),
                                 ctx.id(),
                                 fmt::format("cannot write to the output stream: {}", error));
        }
    }

private:
    std::FILE* stream_;
    batch_formatter formatter_;
    bool header_written_ = false;
    std::string buffer_;
};

}  // namespace

void register_stdout_sink(operator_registry& registry) {
    registry.add_sink("stdout",
                      "writes records to standard output as NDJSON or CSV",
                      describe_stdout_sink,
                      [](const options& opts, build_context&) -> std::unique_ptr<sink> {
                          return make_stdout_sink(opts, stdout);
                      });
}

}  // namespace sluice::file_detail

namespace sluice {

std::unique_ptr<sink> make_stdout_sink(const options& opts, std::FILE* stream) {
    return std::make_unique<file_detail::stream_sink>(opts, stream);
}

}  // namespace sluice
