#include "csv_reader.hpp"
#include "file_common.hpp"

#include <sluice/core/duration.hpp>
#include <sluice/core/row_json.hpp>
#include <sluice/operator/batching.hpp>
#include <sluice/operator/registry.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <thread>

namespace sluice::file_detail {

namespace {

enum class input_format {
    lines,
    csv
};

/// Options of the `file` source.
struct file_source_config {
    std::string path;                           ///< file to read
    input_format format = input_format::lines;  ///< lines: column `value`; csv: typed columns
    std::vector<field> fields;                  ///< csv: the columns to read, in output order
    bool header = true;                         ///< csv: the first record names the columns
    char delimiter = ',';                       ///< csv: field separator
    bool skip_empty = true;                     ///< skip blank lines
    bool follow = false;                        ///< at end of file, wait for more (tail -f)
    std::optional<std::size_t> event_time;      ///< csv: index of the event-time field
    std::int64_t max_out_of_orderness_ms = 0;   ///< watermark = max event time - this
    batching_config batching;                   ///< batch cut at max_records
};

void describe_file_source(option_spec& spec) {
    spec.field("path", option_kind::string).require().describe("file to read");
    spec.field("format", option_kind::string)
            .defaults("lines")
            .one_of({"lines", "csv"})
            .describe(
                    "lines: one string column 'value' per line; csv: typed columns from 'schema'");
    spec.field("schema", option_kind::string_map)
            .describe(
                    "csv: field -> type (float64, int64, bool, string, timestamp_ms), in output "
                    "order");
    spec.field("header", option_kind::boolean)
            .defaults("true")
            .describe(
                    "csv: the first record names the columns (schema fields are found by name); "
                    "false: the schema lists every column in file order");
    spec.field("delimiter", option_kind::string)
            .defaults("\",\"")
            .describe("csv: the field separator, one character");
    spec.field("skip_empty", option_kind::boolean).defaults("true").describe("skip blank lines");
    spec.field("follow", option_kind::boolean)
            .defaults("false")
            .describe("at end of file wait for more lines (like tail -f) instead of finishing");
    spec.field("event_time", option_kind::string)
            .describe(
                    "csv: a timestamp_ms field of the schema that holds each record's event time");
    spec.field("max_out_of_orderness", option_kind::duration)
            .defaults("0")
            .describe(
                    "how far event time may go backwards; the watermark trails the maximum by it");
    describe_batching(spec);
    spec.check([](const options& opts, diagnostics_collector& out) {
        const bool csv = opts.get_string("format") == "csv";
        const auto schema_map = opts.get_string_map("schema");
        if (csv && schema_map.empty()) {
            out.add(opts.error(
                    "schema", "missing-field", "format 'csv' requires 'schema' (field -> type)"));
        }
        if (!csv && opts.is_set("schema")) {
            out.add(opts.error("schema",
                               "cross-field",
                               "'schema' applies to format 'csv' only; format 'lines' produces one "
                               "string column 'value'"));
        }
        for (const auto& [name, type] : schema_map) {
            if (!parse_data_type(type)) {
                out.add(opts.error(fmt::format("schema.{}", name),
                                   "invalid-value",
                                   fmt::format("field '{}' has unknown type '{}' (types: float64, "
                                               "int64, bool, string, timestamp_ms)",
                                               name,
                                               type)));
            }
        }
        const std::string delimiter = opts.get_string("delimiter");
        if (delimiter.size() != 1 || delimiter == "\"" || delimiter == "\n" || delimiter == "\r") {
            out.add(opts.error(
                    "delimiter",
                    "invalid-value",
                    fmt::format("'delimiter' must be one character other than a quote or "
                                "a line break, got '{}'",
                                delimiter)));
        }
        if (opts.is_set("event_time")) {
            const std::string name = opts.get_string("event_time");
            const auto it = std::find_if(schema_map.begin(),
                                         schema_map.end(),
                                         [&](const auto& entry) { return entry.first == name; });
            if (!csv || it == schema_map.end()) {
                out.add(opts.error("event_time",
                                   "cross-field",
                                   fmt::format("'event_time' names '{}', which is not a field of "
                                               "'schema' (format csv)",
                                               name)));
            } else if (parse_data_type(it->second) != data_type::timestamp_ms) {
                out.add(opts.error("event_time",
                                   "cross-field",
                                   fmt::format("'event_time' field '{}' must be of type "
                                               "timestamp_ms, got '{}'",
                                               name,
                                               it->second)));
            }
        }
    });
}

file_source_config read_file_source_config(const options& opts) {
    file_source_config config;
    config.path = opts.get_string("path");
    config.format = opts.get_string("format") == "csv" ? input_format::csv : input_format::lines;
    for (const auto& [name, type] : opts.get_string_map("schema")) {
        config.fields.push_back({name, parse_data_type(type).value_or(data_type::string), true});
    }
    config.header = opts.get_bool("header");
    config.delimiter = opts.get_string("delimiter").empty() ? ',' : opts.get_string("delimiter")[0];
    config.skip_empty = opts.get_bool("skip_empty");
    config.follow = opts.get_bool("follow");
    if (opts.is_set("event_time")) {
        const std::string name = opts.get_string("event_time");
        for (std::size_t i = 0; i < config.fields.size(); ++i) {
            if (config.fields[i].name == name) {
                config.event_time = i;
            }
        }
    }
    config.max_out_of_orderness_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                             opts.get_duration("max_out_of_orderness"))
                                             .count();
    config.batching = read_batching(opts);
    return config;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

/// One parsed CSV cell, held until the whole record has parsed.
struct cell {
    bool missing = false;
    double real = 0;
    std::int64_t integer = 0;
    std::string_view text;
};

/// Parses `text` as `type` into `out`; false if it is not a value of that type.
bool parse_cell(std::string_view text, bool quoted, data_type type, cell& out) {
    out.missing = false;
    if (type == data_type::string) {
        out.text = text;
        out.missing = text.empty() && !quoted;  // a bare empty field is missing, "" is empty
        return true;
    }
    text = trim(text);
    if (text.empty()) {
        out.missing = true;
        return true;
    }
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    if (*begin == '+' && text.size() > 1) {
        ++begin;  // from_chars rejects an explicit plus sign
    }
    switch (type) {
        case data_type::float64: {
            const auto [ptr, ec] = std::from_chars(begin, end, out.real);
            return ec == std::errc{} && ptr == end;
        }
        case data_type::int64: {
            const auto [ptr, ec] = std::from_chars(begin, end, out.integer);
            return ec == std::errc{} && ptr == end;
        }
        case data_type::timestamp_ms: {
            const auto [ptr, ec] = std::from_chars(begin, end, out.integer);
            if (ec == std::errc{} && ptr == end) {
                return true;
            }
            const auto parsed = parse_iso8601_ms(text);
            out.integer = parsed.value_or(0);
            return parsed.has_value();
        }
        case data_type::boolean:
            for (const char* word : {"true", "1", "yes", "t", "y"}) {
                if (equals_ignore_case(text, word)) {
                    out.integer = 1;
                    return true;
                }
            }
            for (const char* word : {"false", "0", "no", "f", "n"}) {
                if (equals_ignore_case(text, word)) {
                    out.integer = 0;
                    return true;
                }
            }
            return false;
        case data_type::string:
            break;
    }
    return false;
}

/// The `file` source. Lines become one string column `value`; CSV records become typed
/// columns. Positions are 1-based line numbers (a batch covers the lines of its records,
/// rejected and skipped ones included). Polled from one thread at a time.
class file_source final : public source {
public:
    file_source(file_source_config config, const options& opts)
        : config_(std::move(config))
        , reader_(open_input(opts), config_.follow) {
        if (config_.format == input_format::lines) {
            schema_ = make_schema({{"value", data_type::string, false}});
            return;
        }
        schema_ = make_schema(config_.fields);
        cells_.resize(config_.fields.size());
        if (!config_.header) {
            for (std::size_t i = 0; i < config_.fields.size(); ++i) {
                column_of_field_.push_back(i);
            }
            expected_fields_ = config_.fields.size();
            return;
        }
        // Map the schema onto the header now, so a missing column is a build-time error.
        // An empty file (follow mode) gets its header mapped when it arrives.
        header_pending_ = true;
        while (header_pending_) {
            const auto status = reader_.next_csv(record_, config_.delimiter);
            if (status != record_reader::result::record) {
                break;
            }
            if (config_.skip_empty && record_.blank()) {
                continue;
            }
            std::vector<diagnostic> problems;
            for (const auto& [name, message] : map_header()) {
                problems.push_back(
                        opts.error(fmt::format("schema.{}", name), "unknown-column", message));
            }
            if (!problems.empty()) {
                throw config_error(std::move(problems));
            }
        }
    }

    schema_ptr output_schema() const override { return schema_; }

    poll_status poll(source_batch& out, operator_context& ctx) override {
        if (ctx.stop_requested() || done_) {
            return poll_status::finished;
        }
        start_batch();
        const std::size_t limit = std::max<std::size_t>(1, config_.batching.max_records);
        std::size_t consumed = 0;
        std::int64_t first_line = 0;
        std::int64_t last_line = 0;
        // Rejected and blank records do not fill a batch, but they still bound one poll's work.
        const std::size_t max_consumed = limit * 4 + 1024;
        while (rows_ < limit && consumed < max_consumed) {
            std::int64_t line_first = 0;
            std::int64_t line_last = 0;
            const record_reader::result status = config_.format == input_format::lines
                                                         ? read_line(line_first, line_last)
                                                         : read_record(ctx, line_first, line_last);
            if (status == record_reader::result::none) {
                break;
            }
            if (status == record_reader::result::end) {
                done_ = true;
                break;
            }
            if (consumed++ == 0) {
                first_line = line_first;
            }
            last_line = line_last;
        }
        if (consumed == 0) {
            if (done_) {
                return poll_status::finished;
            }
            // Following a file that has not grown: wait a little instead of spinning.
            std::this_thread::sleep_for(config_.batching.max_latency);
            return poll_status::idle;
        }
        batch data(schema_, std::vector<column_ptr>(builders_.begin(), builders_.end()));
        builders_.clear();
        if (config_.event_time) {
            data.set_event_time_column(config_.event_time);
            if (max_event_time_ != no_watermark) {
                data.set_watermark_ms(max_event_time_ - config_.max_out_of_orderness_ms);
            }
        }
        out.data = std::move(data);
        out.positions.assign(1, source_position{0, first_line, last_line});
        return poll_status::produced;
    }

private:
    file_handle open_input(const options& opts) {
        file_handle file(std::fopen(config_.path.c_str(), "rb"));
        if (!file) {
            throw config_error({opts.error(
                    "path",
                    "io-error",
                    fmt::format("cannot open '{}': {}", config_.path, error_text(errno)))});
        }
        return file;
    }

    /// Maps the schema fields onto the header in record_; returns (field, message) for each
    /// field the header lacks.
    std::vector<std::pair<std::string, std::string>> map_header() {
        std::vector<std::pair<std::string, std::string>> missing;
        std::vector<std::string> names;
        for (std::size_t i = 0; i < record_.size(); ++i) {
            names.emplace_back(trim(record_.field(i)));
        }
        column_of_field_.clear();
        for (const field& f : config_.fields) {
            const auto it = std::find(names.begin(), names.end(), f.name);
            if (it == names.end()) {
                missing.emplace_back(f.name,
                                     fmt::format("field '{}' is not a column of '{}' (header: {})",
                                                 f.name,
                                                 config_.path,
                                                 fmt::join(names, ", ")));
                continue;
            }
            column_of_field_.push_back(static_cast<std::size_t>(it - names.begin()));
        }
        expected_fields_ = names.size();
        header_pending_ = false;
        return missing;
    }

    void start_batch() {
        rows_ = 0;
        builders_.clear();
        const std::size_t reserve = std::min<std::size_t>(config_.batching.max_records, 1 << 16);
        for (const field& f : schema_->fields()) {
            auto values = std::make_shared<column>(f.type);
            values->reserve(reserve);
            builders_.push_back(std::move(values));
        }
    }

    record_reader::result read_line(std::int64_t& first, std::int64_t& last) {
        std::string_view text;
        const auto status = reader_.next_line(text, first);
        last = first;
        if (status != record_reader::result::record || (config_.skip_empty && text.empty())) {
            return status;
        }
        builders_[0]->push_string(text);
        ++rows_;
        return status;
    }

    record_reader::result read_record(operator_context& ctx,
                                      std::int64_t& first,
                                      std::int64_t& last) {
        const auto status = reader_.next_csv(record_, config_.delimiter);
        if (status != record_reader::result::record) {
            return status;
        }
        first = record_.first_line();
        last = record_.last_line();
        if (config_.skip_empty && record_.blank()) {
            return status;
        }
        if (header_pending_) {
            // The header arrived after build time (follow mode on an empty file): a missing
            // column can no longer be a config error.
            if (const auto missing = map_header(); !missing.empty()) {
                throw operator_error(ctx.type(), ctx.id(), missing.front().second);
            }
            return status;
        }
        const std::vector<source_position> where{{0, first, last}};
        if (!record_.error().empty()) {
            ctx.reject(record_.raw(),
                       fmt::format("line {}: {}", first, record_.error()),
                       false,
                       where);
            return status;
        }
        if (record_.size() != expected_fields_) {
            ctx.reject(record_.raw(),
                       fmt::format("line {}: expected {} fields, found {}",
                                   first,
                                   expected_fields_,
                                   record_.size()),
                       false,
                       where);
            return status;
        }
        for (std::size_t i = 0; i < config_.fields.size(); ++i) {
            const std::size_t index = column_of_field_[i];
            const field& f = config_.fields[i];
            if (!parse_cell(record_.field(index), record_.quoted(index), f.type, cells_[i])) {
                ctx.reject(record_.raw(),
                           fmt::format("line {}: field '{}': cannot parse '{}' as {}",
                                       first,
                                       f.name,
                                       record_.field(index),
                                       to_string(f.type)),
                           false,
                           where);
                return status;
            }
        }
        for (std::size_t i = 0; i < config_.fields.size(); ++i) {
            column& values = *builders_[i];
            const cell& c = cells_[i];
            if (c.missing) {
                values.push_null();
                continue;
            }
            switch (config_.fields[i].type) {
                case data_type::float64:
                    values.push_float64(c.real);
                    break;
                case data_type::int64:
                case data_type::timestamp_ms:
                    values.push_int64(c.integer);
                    break;
                case data_type::boolean:
                    values.push_bool(c.integer != 0);
                    break;
                case data_type::string:
                    values.push_string(c.text);
                    break;
            }
        }
        if (config_.event_time && !cells_[*config_.event_time].missing) {
            max_event_time_ = std::max(max_event_time_, cells_[*config_.event_time].integer);
        }
        ++rows_;
        return status;
    }

    file_source_config config_;
    record_reader reader_;
    schema_ptr schema_;
    csv_record record_;
    std::vector<cell> cells_;
    std::vector<std::size_t> column_of_field_;  // schema field -> file column
    std::size_t expected_fields_ = 0;
    bool header_pending_ = false;
    bool done_ = false;
    std::size_t rows_ = 0;
    std::vector<std::shared_ptr<column>> builders_;
    std::int64_t max_event_time_ = no_watermark;
};

}  // namespace

void register_file_source(operator_registry& registry) {
    registry.add_source("file",
                        "reads a file as lines or as CSV records (optionally following it)",
                        describe_file_source,
                        [](const options& opts, build_context&) -> std::unique_ptr<source> {
                            return std::make_unique<file_source>(read_file_source_config(opts),
                                                                 opts);
                        });
}

}  // namespace sluice::file_detail
