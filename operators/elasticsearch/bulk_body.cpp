#include "bulk_body.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace sluice::es_detail {

namespace {

struct civil_time {
    std::int64_t year;
    unsigned month;        // 1..12
    unsigned day;          // 1..31
    unsigned hour;         // 0..23
    unsigned day_of_year;  // 1..366
};

// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm), so the
// index name never depends on the process's time zone or the C library's gmtime range.
civil_time to_civil(std::int64_t epoch_ms) {
    constexpr std::int64_t ms_per_day = 86'400'000;
    std::int64_t days = epoch_ms / ms_per_day;
    std::int64_t rest = epoch_ms % ms_per_day;
    if (rest < 0) {
        rest += ms_per_day;
        --days;
    }
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t year = m <= 2 ? y + 1 : y;
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    static constexpr unsigned before_month[12] = {
            0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    const unsigned day_of_year = before_month[m - 1] + d + (leap && m > 2 ? 1 : 0);
    return {year, m, d, static_cast<unsigned>(rest / 3'600'000), day_of_year};
}

bool forbidden_index_char(char c) {
    return std::strchr("\\/*?\"<>| ,#:", c) != nullptr || (c >= 'A' && c <= 'Z') ||
           static_cast<unsigned char>(c) < 0x20;
}

}  // namespace

// ---- index_pattern ----

std::optional<index_pattern> index_pattern::parse(std::string_view text, std::string& error) {
    index_pattern p;
    if (text.empty()) {
        error = "the index name must not be empty";
        return std::nullopt;
    }
    std::string literal;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c != '%') {
            if (forbidden_index_char(c)) {
                error = fmt::format(
                        "index '{}' has '{}' at {}; index names are lowercase and "
                        "must not contain \\ / * ? \" < > | , # : or spaces",
                        text,
                        c,
                        i);
                return std::nullopt;
            }
            literal.push_back(c);
            continue;
        }
        if (i + 1 == text.size()) {
            error = fmt::format("index '{}' ends with a lone '%'", text);
            return std::nullopt;
        }
        const char f = text[++i];
        if (f == '%') {
            literal.push_back('%');
            continue;
        }
        if (std::strchr("YmdHj", f) == nullptr) {
            error = fmt::format(
                    "index '{}' has unknown date field '%{}' (known: %Y %m %d %H %j %%)", text, f);
            return std::nullopt;
        }
        if (!literal.empty()) {
            p.segments_.push_back({std::move(literal), 0});
            literal.clear();
        }
        p.segments_.push_back({{}, f});
        p.has_date_ = true;
        if (f == 'H') {
            p.granularity_ms_ = 3'600'000;
        }
    }
    if (!literal.empty()) {
        p.segments_.push_back({std::move(literal), 0});
    }
    const char first = text.front();
    if (first == '-' || first == '_' || first == '+' || text == "." || text == "..") {
        error = fmt::format("index '{}' must not start with '-', '_' or '+' nor be '.' or '..'",
                            text);
        return std::nullopt;
    }
    return p;
}

std::string index_pattern::wildcard() const {
    // Literal text before the first date field, '*', literal text after the last one:
    // "sensors-%Y.%m.%d" -> "sensors-*" ('*' also covers the separators between fields).
    std::string out;
    std::size_t i = 0;
    for (; i < segments_.size() && segments_[i].field == 0; ++i) {
        out += segments_[i].literal;
    }
    if (i == segments_.size()) {
        return out;
    }
    out.push_back('*');
    std::size_t last = segments_.size();
    while (last > i && segments_[last - 1].field == 0) {
        --last;
    }
    for (std::size_t j = last; j < segments_.size(); ++j) {
        out += segments_[j].literal;
    }
    return out;
}

std::string index_pattern::format(std::int64_t epoch_ms) const {
    const civil_time t = to_civil(epoch_ms);
    std::string out;
    for (const auto& s : segments_) {
        switch (s.field) {
            case 0:
                out += s.literal;
                break;
            case 'Y':
                fmt::format_to(std::back_inserter(out), "{:04}", t.year);
                break;
            case 'm':
                fmt::format_to(std::back_inserter(out), "{:02}", t.month);
                break;
            case 'd':
                fmt::format_to(std::back_inserter(out), "{:02}", t.day);
                break;
            case 'H':
                fmt::format_to(std::back_inserter(out), "{:02}", t.hour);
                break;
            case 'j':
                fmt::format_to(std::back_inserter(out), "{:03}", t.day_of_year);
                break;
            default:
                break;
        }
    }
    return out;
}

std::string_view index_pattern::name_for(std::int64_t epoch_ms) {
    if (!has_date_) {
        if (!cached_) {
            cached_name_.clear();
            append_json_string(cached_name_, format(0));
            // Keep only the escaped text between the quotes.
            cached_name_ = cached_name_.substr(1, cached_name_.size() - 2);
            cached_ = true;
        }
        return cached_name_;
    }
    std::int64_t bucket = epoch_ms / granularity_ms_;
    if (epoch_ms % granularity_ms_ < 0) {
        --bucket;
    }
    if (!cached_ || bucket != cached_bucket_) {
        std::string quoted;
        append_json_string(quoted, format(epoch_ms));
        cached_name_ = quoted.substr(1, quoted.size() - 2);
        cached_bucket_ = bucket;
        cached_ = true;
    }
    return cached_name_;
}

// ---- id_template ----

std::optional<id_template> id_template::parse(std::string_view text, std::string& error) {
    id_template t;
    std::string literal;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
            literal.push_back('{');
            ++i;
        } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
            literal.push_back('}');
            ++i;
        } else if (c == '{') {
            const auto close = text.find('}', i + 1);
            if (close == std::string_view::npos) {
                error = fmt::format("id template '{}' has an unclosed '{{' at {}", text, i);
                return std::nullopt;
            }
            const auto name = text.substr(i + 1, close - i - 1);
            if (name.empty() || name.find('{') != std::string_view::npos) {
                error = fmt::format(
                        "id template '{}' has an empty or nested '{{...}}' at {}", text, i);
                return std::nullopt;
            }
            if (!literal.empty()) {
                t.parts_.push_back({std::move(literal), {}, 0});
                literal.clear();
            }
            t.parts_.push_back({{}, std::string(name), 0});
            i = close;
        } else if (c == '}') {
            error = fmt::format(
                    "id template '{}' has an unmatched '}}' at {} (write '}}}}' for a "
                    "literal brace)",
                    text,
                    i);
            return std::nullopt;
        } else {
            literal.push_back(c);
        }
    }
    if (!literal.empty()) {
        t.parts_.push_back({std::move(literal), {}, 0});
    }
    if (t.columns().empty()) {
        error = fmt::format(
                "id template '{}' names no column: every document would get the "
                "same id (write e.g. \"{{sensor_id}}-{{timestamp}}\")",
                text);
        return std::nullopt;
    }
    return t;
}

std::vector<std::string> id_template::columns() const {
    std::vector<std::string> out;
    for (const auto& p : parts_) {
        if (!p.column.empty()) {
            out.push_back(p.column);
        }
    }
    return out;
}

bool id_template::bind(const schema& fields, std::string& error) {
    for (auto& p : parts_) {
        if (p.column.empty()) {
            continue;
        }
        const auto index = fields.index_of(p.column);
        if (!index) {
            error = fmt::format("id template names unknown column '{}' (columns: {})",
                                p.column,
                                fields.to_string());
            return false;
        }
        p.index = *index;
    }
    return true;
}

namespace {

void append_id_value(std::string& out, const column& values, std::size_t row) {
    if (!values.is_valid(row)) {
        out += "null";
        return;
    }
    switch (values.type()) {
        case data_type::string:
            out += values.string_at(row);
            break;
        case data_type::int64:
        case data_type::timestamp_ms:
            append_json_int(out, values.int64_values()[row]);
            break;
        case data_type::float64:
            append_json_double(out, values.float64_values()[row]);
            break;
        case data_type::boolean:
            out += values.bool_values()[row] != 0 ? "true" : "false";
            break;
    }
}

}  // namespace

void id_template::append(std::string& out, const batch& input, std::size_t row) const {
    for (const auto& p : parts_) {
        if (p.column.empty()) {
            out += p.literal;
        } else {
            append_id_value(out, input.column_at(p.index), row);
        }
    }
}

// ---- position_ids ----

void position_ids::prepare(const batch& input) {
    positions_ = input.source_positions();
    available_ = !positions_.empty();
    std::uint64_t covered = 0;
    for (const auto& p : positions_) {
        covered += p.last >= p.first ? static_cast<std::uint64_t>(p.last - p.first + 1) : 0;
    }
    exact_ = available_ && covered == input.num_rows();
    range_ = 0;
    next_offset_ = available_ ? positions_.front().first : 0;
    next_row_ = 0;
}

void position_ids::append(std::string& out, std::size_t row) {
    if (!exact_) {
        const auto& p = positions_.front();
        fmt::format_to(std::back_inserter(out), "{}-{}-{}-{}", p.partition, p.first, p.last, row);
        return;
    }
    // Rows are asked in order; walk the ranges alongside (skipping rows asked out of order
    // would break the mapping, so re-walk from the start if that ever happens).
    if (row < next_row_) {
        range_ = 0;
        next_offset_ = positions_.front().first;
        next_row_ = 0;
    }
    while (next_row_ < row) {
        ++next_row_;
        if (++next_offset_ > positions_[range_].last) {
            ++range_;
            next_offset_ = positions_[range_].first;
        }
    }
    while (positions_[range_].last < positions_[range_].first) {  // empty ranges hold no row
        ++range_;
        next_offset_ = positions_[range_].first;
    }
    fmt::format_to(std::back_inserter(out), "{}-{}", positions_[range_].partition, next_offset_);
}

// ---- bulk_body_builder ----

bulk_body_builder::bulk_body_builder(const schema& fields,
                                     index_pattern pattern,
                                     row_json_options json)
    : writer_(fields, json)
    , pattern_(std::move(pattern)) {}

std::unique_ptr<bulk_body_builder> bulk_body_builder::make(const schema& fields,
                                                           const body_settings& settings,
                                                           std::string& error_key,
                                                           std::string& error) {
    auto pattern = index_pattern::parse(settings.index, error);
    if (!pattern) {
        error_key = "index";
        return nullptr;
    }
    row_json_options json;
    json.timestamps = settings.timestamps;
    std::unique_ptr<bulk_body_builder> b(new bulk_body_builder(fields, std::move(*pattern), json));

    if (!settings.time_field.empty()) {
        const auto index = fields.index_of(settings.time_field);
        if (!index || fields.at(*index).type != data_type::timestamp_ms) {
            error_key = "time_field";
            error = index ? fmt::format("'time_field' column '{}' is {}, not timestamp_ms",
                                        settings.time_field,
                                        to_string(fields.at(*index).type))
                          : fmt::format("'time_field' names unknown column '{}' (columns: {})",
                                        settings.time_field,
                                        fields.to_string());
            return nullptr;
        }
        b->time_column_ = index;
        b->time_from_option_ = true;
    } else if (b->pattern_.has_date()) {
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (fields.at(i).type == data_type::timestamp_ms) {
                b->time_column_ = i;
                break;
            }
        }
        if (!b->time_column_) {
            error_key = "index";
            error = fmt::format(
                    "index '{}' has date fields but the input has no timestamp_ms "
                    "column (columns: {})",
                    settings.index,
                    fields.to_string());
            return nullptr;
        }
    }

    if (!settings.id.empty()) {
        auto t = id_template::parse(settings.id, error);
        if (!t || !t->bind(fields, error)) {
            error_key = "id";
            return nullptr;
        }
        b->template_ = std::move(t);
        b->ids_ = id_mode::from_template;
    } else if (const auto w = fields.index_of("window_id")) {
        b->id_column_ = *w;
        b->ids_ = id_mode::from_column;
    } else {
        b->ids_ = id_mode::from_position;
    }
    return b;
}

void bulk_body_builder::append_batch(const batch& input,
                                     std::string& out,
                                     std::vector<doc_span>& spans,
                                     std::int64_t now_ms) {
    const std::size_t rows = input.num_rows();
    if (rows == 0) {
        return;
    }
    auto cursor = writer_.prepare(input);
    const bool by_position = ids_ == id_mode::from_position;
    if (by_position) {
        positions_.prepare(input);
    }
    const bool with_id = !by_position || positions_.available();

    const column* time_values = nullptr;
    if (pattern_.has_date()) {
        // The batch's own event-time column wins unless `time_field` chose one.
        const auto index = !time_from_option_ && input.event_time_column()
                                   ? input.event_time_column()
                                   : time_column_;
        time_values = &input.column_at(*index);
    }
    const std::int64_t* times =
            time_values != nullptr ? time_values->int64_values().data() : nullptr;

    spans.reserve(spans.size() + rows);
    for (std::size_t row = 0; row < rows; ++row) {
        doc_span span;
        span.begin = static_cast<std::uint32_t>(out.size());
        out += R"({"index":{"_index":")";
        std::int64_t t = 0;
        if (times != nullptr) {
            t = time_values->is_valid(row) ? times[row] : now_ms;
        }
        out += pattern_.name_for(t);
        out.push_back('"');
        if (with_id) {
            out += R"(,"_id":)";
            id_scratch_.clear();
            switch (ids_) {
                case id_mode::from_template:
                    template_->append(id_scratch_, input, row);
                    break;
                case id_mode::from_column:
                    append_id_value(id_scratch_, input.column_at(id_column_), row);
                    break;
                case id_mode::from_position:
                    positions_.append(id_scratch_, row);
                    break;
                case id_mode::automatic:
                    break;
            }
            append_json_string(out, id_scratch_);
        }
        out += "}}\n";
        span.doc_begin = static_cast<std::uint32_t>(out.size());
        cursor.append_row(out, row, '\n');
        span.end = static_cast<std::uint32_t>(out.size());
        spans.push_back(span);
    }
}

}  // namespace sluice::es_detail
