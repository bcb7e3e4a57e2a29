// Training rows from the simulator, an NDJSON file or a CSV file.

#include <sluice/core/row_json.hpp>
#include <sluice/ops/xgboost.hpp>

#include <fmt/format.h>
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <stdexcept>

namespace sluice::ml {

namespace {

// The value of one simulator/batch column at `row` as a float (NaN if null).
double numeric_at(const column& c, std::size_t row) {
    if (!c.is_valid(row)) {
        return std::nan("");
    }
    switch (c.type()) {
        case data_type::float64:
            return c.float64_values()[row];
        case data_type::int64:
        case data_type::timestamp_ms:
            return static_cast<double>(c.int64_values()[row]);
        case data_type::boolean:
            return c.bool_values()[row] != 0 ? 1.0 : 0.0;
        case data_type::string:
            break;
    }
    return std::nan("");
}

void from_simulator(const training_spec& spec, training_table& t) {
    sensor_simulator sim(spec.data.simulator);
    const auto& schema = *sensor_simulator::columns_schema();
    std::vector<std::size_t> feature_index;
    for (const auto& f : spec.features) {
        const auto i = schema.index_of(f);
        if (!i || schema.at(*i).type == data_type::string) {
            throw std::runtime_error(fmt::format(
                    "feature '{}' is not a numeric simulator column ({})", f, schema.to_string()));
        }
        feature_index.push_back(*i);
    }
    const auto label_index = schema.index_of(spec.label);
    if (!label_index || schema.at(*label_index).type == data_type::string) {
        throw std::runtime_error(fmt::format("label '{}' is not a numeric simulator column ({})",
                                             spec.label,
                                             schema.to_string()));
    }
    const auto time_index = schema.index_of(spec.data.time_column);
    if (!time_index) {
        throw std::runtime_error(
                fmt::format("time column '{}' is not a simulator column", spec.data.time_column));
    }
    constexpr std::size_t chunk = 65'536;
    for (std::size_t done = 0; done < spec.data.rows; done += chunk) {
        const auto b = sim.next_columns(std::min(chunk, spec.data.rows - done));
        for (std::size_t r = 0; r < b.num_rows(); ++r) {
            for (const auto i : feature_index) {
                t.values.push_back(static_cast<float>(numeric_at(b.column_at(i), r)));
            }
            t.labels.push_back(static_cast<float>(numeric_at(b.column_at(*label_index), r)));
            t.times.push_back(static_cast<std::int64_t>(numeric_at(b.column_at(*time_index), r)));
        }
    }
}

std::optional<double> parse_number(std::string_view text) {
    while (!text.empty() && text.front() == ' ') {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    if (text.empty() || text == "NA" || text == "null" || text == "NaN") {
        return std::nan("");
    }
    if (text == "true" || text == "TRUE") {
        return 1.0;
    }
    if (text == "false" || text == "FALSE") {
        return 0.0;
    }
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return v;
}

std::optional<std::int64_t> parse_time(std::string_view text) {
    if (const auto iso = parse_iso8601_ms(text)) {
        return iso;
    }
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && end == text.data() + text.size()) {
        return v;
    }
    return std::nullopt;
}

// Splits one CSV line (RFC 4180 quotes, no embedded newlines) into unquoted fields.
std::vector<std::string> split_csv(std::string_view line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                out.back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                out.back() += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            out.emplace_back();
        } else if (c != '\r') {
            out.back() += c;
        }
    }
    return out;
}

std::size_t column_of(const std::vector<std::string>& header,
                      const std::string& name,
                      const std::string& path) {
    for (std::size_t i = 0; i < header.size(); ++i) {
        if (header[i] == name) {
            return i;
        }
    }
    std::string names;
    for (const auto& h : header) {
        names += names.empty() ? h : ", " + h;
    }
    throw std::runtime_error(fmt::format("{}: no column '{}' (columns: {})", path, name, names));
}

void from_csv(const training_spec& spec, training_table& t) {
    const auto& path = spec.data.path;
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error(fmt::format("{}: cannot open training data", path));
    }
    std::string line;
    if (!std::getline(in, line)) {
        throw std::runtime_error(fmt::format("{}: empty file (a header line is required)", path));
    }
    const auto header = split_csv(line);
    std::vector<std::size_t> feature_index;
    for (const auto& f : spec.features) {
        feature_index.push_back(column_of(header, f, path));
    }
    const auto label_index = column_of(header, spec.label, path);
    constexpr auto no_time = static_cast<std::size_t>(-1);
    const std::size_t time_index = spec.data.time_column.empty()
                                           ? no_time
                                           : column_of(header, spec.data.time_column, path);
    std::size_t line_number = 1;
    while (std::getline(in, line) && (spec.data.rows == 0 || t.labels.size() < spec.data.rows)) {
        ++line_number;
        if (line.empty() || line == "\r") {
            continue;
        }
        const auto fields = split_csv(line);
        if (fields.size() != header.size()) {
            throw std::runtime_error(fmt::format("{}:{}: {} fields, the header has {}",
                                                 path,
                                                 line_number,
                                                 fields.size(),
                                                 header.size()));
        }
        const auto number = [&](std::size_t i) {
            const auto v = parse_number(fields[i]);
            if (!v) {
                throw std::runtime_error(fmt::format("{}:{}: column '{}' holds '{}', not a number",
                                                     path,
                                                     line_number,
                                                     header[i],
                                                     fields[i]));
            }
            return *v;
        };
        for (const auto i : feature_index) {
            t.values.push_back(static_cast<float>(number(i)));
        }
        const double label = number(label_index);
        if (std::isnan(label)) {
            throw std::runtime_error(
                    fmt::format("{}:{}: the label '{}' is missing", path, line_number, spec.label));
        }
        t.labels.push_back(static_cast<float>(label));
        if (time_index != no_time) {
            const auto at = parse_time(fields[time_index]);
            if (!at) {
                throw std::runtime_error(fmt::format(
                        "{}:{}: '{}' is not a time", path, line_number, fields[time_index]));
            }
            t.times.push_back(*at);
        } else {
            t.times.push_back(static_cast<std::int64_t>(t.labels.size()));
        }
    }
}

void from_ndjson(const training_spec& spec, training_table& t) {
    const auto& path = spec.data.path;
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error(fmt::format("{}: cannot open training data", path));
    }
    simdjson::dom::parser parser;
    std::string line;
    std::size_t line_number = 0;
    const auto value_of = [&](const simdjson::dom::element& obj,
                              const std::string& key,
                              bool required) -> double {
        simdjson::dom::element v;
        if (obj[key].get(v) != simdjson::SUCCESS || v.is_null()) {
            if (required) {
                throw std::runtime_error(
                        fmt::format("{}:{}: '{}' is missing", path, line_number, key));
            }
            return std::nan("");
        }
        if (v.is_bool()) {
            return v.get_bool().value() ? 1.0 : 0.0;
        }
        if (v.is_number()) {
            return v.get_double().value();
        }
        throw std::runtime_error(
                fmt::format("{}:{}: '{}' is not a number", path, line_number, key));
    };
    while (std::getline(in, line) && (spec.data.rows == 0 || t.labels.size() < spec.data.rows)) {
        ++line_number;
        if (line.empty()) {
            continue;
        }
        simdjson::dom::element obj;
        if (parser.parse(line).get(obj) != simdjson::SUCCESS || !obj.is_object()) {
            throw std::runtime_error(fmt::format("{}:{}: not a JSON object", path, line_number));
        }
        for (const auto& f : spec.features) {
            t.values.push_back(static_cast<float>(value_of(obj, f, false)));
        }
        t.labels.push_back(static_cast<float>(value_of(obj, spec.label, true)));
        if (spec.data.time_column.empty()) {
            t.times.push_back(static_cast<std::int64_t>(t.labels.size()));
            continue;
        }
        simdjson::dom::element at;
        std::optional<std::int64_t> time;
        if (obj[spec.data.time_column].get(at) == simdjson::SUCCESS) {
            if (at.is_string()) {
                time = parse_iso8601_ms(at.get_string().value());
            } else if (at.is_number()) {
                time = static_cast<std::int64_t>(at.get_double().value());
            }
        }
        if (!time) {
            throw std::runtime_error(fmt::format("{}:{}: time column '{}' is missing or not a time",
                                                 path,
                                                 line_number,
                                                 spec.data.time_column));
        }
        t.times.push_back(*time);
    }
}

}  // namespace

training_table load_training_table(const training_spec& spec) {
    training_table t;
    t.features = spec.features;
    switch (spec.data.type) {
        case training_source::kind::simulator:
            from_simulator(spec, t);
            break;
        case training_source::kind::csv:
            from_csv(spec, t);
            break;
        case training_source::kind::ndjson:
            from_ndjson(spec, t);
            break;
    }
    if (t.rows() < 2) {
        throw std::runtime_error(
                fmt::format("only {} training rows: at least 2 are needed", t.rows()));
    }
    return t;
}

}  // namespace sluice::ml
