#include "file_common.hpp"

#include <sluice/operator/registry.hpp>
#include <sluice/ops/file.hpp>

#include <fmt/format.h>

#include <filesystem>

namespace sluice::file_detail {

namespace {

void describe_file_sink(option_spec& spec) {
    spec.field("path", option_kind::string)
            .require()
            .describe("file to write; parent directories are created");
    spec.field("append", option_kind::boolean)
            .defaults("false")
            .describe("append to an existing file instead of replacing it");
    describe_text_format(spec, {"ndjson", "csv"});
}

/// The `file` sink: each batch is formatted into one buffer and handed to the OS with one
/// write and a flush, so a batch is accepted once the OS has it. The file is opened at the
/// first batch (or at finish), not at build time, so validating a pipeline never truncates it.
class file_sink final : public sink {
public:
    explicit file_sink(const options& opts)
        : path_(opts.get_string("path"))
        , append_(opts.get_bool("append"))
        , formatter_(opts) {}

    void bind(const schema_ptr& input, bind_context&) override { formatter_.bind(*input); }

    void consume(const batch& input, operator_context& ctx) override {
        buffer_.clear();
        open(ctx);
        formatter_.append_batch(buffer_, input);
        write(ctx);
    }

    void finish(operator_context& ctx) override {
        buffer_.clear();
        open(ctx);  // an empty run still leaves a (header-only) file behind
        write(ctx);
        file_.reset();
    }

private:
    void open(operator_context& ctx) {
        if (file_ || opened_) {
            return;
        }
        std::string error;
        bool empty_before = true;
        if (append_) {
            std::error_code ec;
            const auto size = std::filesystem::file_size(path_, ec);
            empty_before = ec || size == 0;
        }
        file_ = open_output(path_, append_, error);
        if (!file_) {
            throw operator_error(ctx.type(), ctx.id(), error);
        }
        opened_ = true;
        if (formatter_.wants_header() && empty_before) {
            formatter_.append_header(buffer_);
        }
    }

    void write(operator_context& ctx) {
        if (!file_) {
            return;
        }
        std::string error;
        if (!write_and_flush(file_.get(), buffer_, error)) {
            throw operator_error(
                    ctx.type(), ctx.id(), fmt::format("cannot write '{}': {}", path_, error));
        }
    }

    std::string path_;
    bool append_;
    batch_formatter formatter_;
    file_handle file_;
    bool opened_ = false;  // a finished sink does not reopen (and truncate) its file
    std::string buffer_;   // reused: one allocation for the life of the sink, not per batch
};

}  // namespace

void register_file_sink(operator_registry& registry) {
    registry.add_sink("file",
                      "writes records to a file as NDJSON or CSV",
                      describe_file_sink,
                      [](const options& opts, build_context&) -> std::unique_ptr<sink> {
                          return std::make_unique<file_sink>(opts);
                      });
}

}  // namespace sluice::file_detail
