#pragma once

// Internal to the file operators: output files and the text formats the sinks share.

#include <sluice/core/batch.hpp>
#include <sluice/core/row_json.hpp>
#include <sluice/operator/option_spec.hpp>
#include <sluice/operator/options.hpp>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::file_detail {

/// Closes a FILE* on destruction.
struct file_closer {
    void operator()(std::FILE* file) const noexcept {
        if (file != nullptr) {
            // Writers flush and check before closing; a destructor has no one to report to.
            (void)std::fclose(file);
        }
    }
};
using file_handle = std::unique_ptr<std::FILE, file_closer>;

/// Opens `path` for writing (truncating, or appending), creating parent directories.
/// On failure returns null and sets `error` to "cannot open 'path': reason".
file_handle open_output(const std::string& path, bool append, std::string& error);

/// Writes all of `bytes` and flushes them to the OS. On failure returns false and sets
/// `error` to the reason (strerror).
bool write_and_flush(std::FILE* file, std::string_view bytes, std::string& error);

/// "No such file or directory" for errno `code`.
std::string error_text(int code);

/// Text formats of the sinks.
enum class text_format {
    ndjson,
    csv
};

/// Declares `format` (with `choices`), `timestamp_format`, `delimiter` and `header` on a sink
/// spec, with the cross-field checks.
void describe_text_format(option_spec& spec, const std::vector<std::string>& choices);

/// Writes batches of one schema as NDJSON or CSV (RFC 4180 quoting, missing values as empty
/// fields, "\n" line ends). Stateless after construction; not copyable.
class batch_formatter {
public:
    /// Reads `format`, `timestamp_format`, `delimiter` and `header` from `opts`.
    explicit batch_formatter(const options& opts);

    text_format format() const noexcept { return format_; }
    bool wants_header() const noexcept { return format_ == text_format::csv && header_; }

    /// Prepares for `input` (called from the sink's bind).
    void bind(const schema& input);
    /// The CSV header line (field names), with its newline.
    void append_header(std::string& out) const;
    /// Every row of `input`.
    void append_batch(std::string& out, const batch& input) const;

private:
    void append_csv_row(std::string& out, const batch& input, std::size_t row) const;

    text_format format_ = text_format::ndjson;
    json_timestamp_format timestamps_ = json_timestamp_format::epoch_ms;
    char delimiter_ = ',';
    bool header_ = true;
    std::optional<row_json_writer> json_;
    std::vector<std::string> names_;
};

/// Appends `text` as one CSV field, quoted (with "" doubling) only if it holds the delimiter,
/// a quote, CR or LF.
void append_csv_field(std::string& out, std::string_view text, char delimiter);

}  // namespace sluice::file_detail

namespace sluice {
class operator_registry;
}

namespace sluice::file_detail {

// One registration function per operator file; register_file_operators() calls them all.
void register_file_source(operator_registry& registry);
void register_file_sink(operator_registry& registry);
void register_stdout_sink(operator_registry& registry);
void register_blackhole_sink(operator_registry& registry);

}  // namespace sluice::file_detail
