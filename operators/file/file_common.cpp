#include "file_common.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace sluice::file_detail {

std::string error_text(int code) {
    return std::generic_category().message(code);
}

file_handle open_output(const std::string& path, bool append, std::string& error) {
    const std::filesystem::path target(path);
    if (target.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(target.parent_path(), ec);
        if (ec) {
            error = fmt::format("cannot create directory '{}': {}",
                                target.parent_path().string(),
                                ec.message());
            return nullptr;
        }
    }
    file_handle file(std::fopen(path.c_str(), append ? "ab" : "wb"));
    if (!file) {
        error = fmt::format("cannot open '{}': {}", path, error_text(errno));
    }
    return file;
}

bool write_and_flush(std::FILE* file, std::string_view bytes, std::string& error) {
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) {
        error = error_text(errno);
        std::clearerr(file);
        return false;
    }
    if (std::fflush(file) != 0) {
        error = error_text(errno);
        std::clearerr(file);
        return false;
    }
    return true;
}

void describe_text_format(option_spec& spec, const std::vector<std::string>& choices) {
    spec.field("format", option_kind::string)
            .defaults(choices.front())
            .one_of(choices)
            .describe("ndjson: one JSON object per line; csv: RFC 4180 with a header line");
    spec.field("timestamp_format", option_kind::string)
            .defaults("epoch_ms")
            .one_of({"epoch_ms", "iso8601"})
            .describe("timestamps as integer ms since the epoch, or as ISO-8601 UTC text");
    spec.field("delimiter", option_kind::string)
            .defaults("\",\"")
            .describe("csv: the field separator, one character");
    spec.field("header", option_kind::boolean)
            .defaults("true")
            .describe("csv: write a header line of field names first");
    spec.check([](const options& opts, diagnostics_collector& out) {
        const std::string delimiter = opts.get_string("delimiter");
        if (delimiter.size() != 1 || delimiter == "\"" || delimiter == "\n" || delimiter == "\r") {
            out.add(opts.error("delimiter",
                               "invalid-value",
                               fmt::format("'delimiter' must be one character other than a quote "
                                           "or a line break, got '{}'",
                                           delimiter)));
        }
    });
}

batch_formatter::batch_formatter(const options& opts)
    : format_(opts.get_string("format") == "csv" ? text_format::csv : text_format::ndjson)
    , timestamps_(opts.get_string("timestamp_format") == "iso8601"
                          ? json_timestamp_format::iso8601
                          : json_timestamp_format::epoch_ms)
    , delimiter_(opts.get_string("delimiter").empty() ? ',' : opts.get_string("delimiter")[0])
    , header_(opts.get_bool("header")) {}

void batch_formatter::bind(const schema& input) {
    json_.emplace(input, row_json_options{timestamps_, false});
    names_.clear();
    for (const field& f : input.fields()) {
        names_.push_back(f.name);
    }
}

void batch_formatter::append_header(std::string& out) const {
    for (std::size_t i = 0; i < names_.size(); ++i) {
        if (i != 0) {
            out.push_back(delimiter_);
        }
        append_csv_field(out, names_[i], delimiter_);
    }
    out.push_back('\n');
}

void batch_formatter::append_batch(std::string& out, const batch& input) const {
    if (format_ == text_format::ndjson) {
        json_->append_ndjson(out, input);
        return;
    }
    out.reserve(out.size() + input.num_rows() * input.num_columns() * 10);
    for (std::size_t row = 0; row < input.num_rows(); ++row) {
        append_csv_row(out, input, row);
    }
}

void batch_formatter::append_csv_row(std::string& out, const batch& input, std::size_t row) const {
    for (std::size_t i = 0; i < input.num_columns(); ++i) {
        if (i != 0) {
            out.push_back(delimiter_);
        }
        const column& values = input.column_at(i);
        if (!values.is_valid(row)) {
            continue;  // missing: an empty unquoted field
        }
        switch (values.type()) {
            case data_type::string: {
                const std::string_view text = values.string_at(row);
                if (text.empty()) {
                    out.append("\"\"", 2);  // quoted, so it reads back as "" and not as missing
                } else {
                    append_csv_field(out, text, delimiter_);
                }
                break;
            }
            case data_type::float64: {
                const double value = values.float64_values()[row];
                if (std::isfinite(value)) {
                    append_json_double(out, value);
                } else {
                    fmt::format_to(std::back_inserter(out), "{}", value);  // nan, inf, -inf
                }
                break;
            }
            case data_type::int64:
                append_json_int(out, values.int64_values()[row]);
                break;
            case data_type::boolean:
                out.append(values.bool_values()[row] != 0 ? "true" : "false");
                break;
            case data_type::timestamp_ms:
                if (timestamps_ == json_timestamp_format::iso8601) {
                    append_iso8601_ms(out, values.int64_values()[row]);
                } else {
                    append_json_int(out, values.int64_values()[row]);
                }
                break;
        }
    }
    out.push_back('\n');
}

void append_csv_field(std::string& out, std::string_view text, char delimiter) {
    bool needs_quotes = false;
    for (const char c : text) {
        if (c == delimiter || c == '"' || c == '\n' || c == '\r') {
            needs_quotes = true;
            break;
        }
    }
    if (!needs_quotes) {
        out.append(text);
        return;
    }
    out.push_back('"');
    for (const char c : text) {
        if (c == '"') {
            out.push_back('"');
        }
        out.push_back(c);
    }
    out.push_back('"');
}

}  // namespace sluice::file_detail
