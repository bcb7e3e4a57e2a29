#pragma once

// What the json_decode tests share: reading options the way a pipeline does, collecting dead
// letters, and rendering an output row for comparisons.

#include <sluice/core/batch.hpp>
#include <sluice/operator/context.hpp>
#include <sluice/ops/json.hpp>

#include <fmt/format.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::testing {

using json_option_values = std::vector<std::pair<std::string, std::string>>;

/// The json_decode configuration that `values` (YAML text per option) read to, as in a
/// pipeline file; throws config_error as loading would.
inline json_decode_config json_decode_config_of(const json_option_values& values) {
    static const option_spec spec = [] {
        option_spec s;
        json_decode_transform::describe(s);
        return s;
    }();
    return json_decode_transform::read_config(
            options::from_values(spec, "json_decode", "parsed", values));
}

/// Collects dead letters in memory (thread-safe: parallel process() calls share one).
class collecting_dead_letters final : public dead_letter_writer {
public:
    struct item {
        std::string reason;
        std::string payload;
        std::vector<source_position> positions;
    };

    void write(const dead_letter_record& record) override {
        const std::lock_guard lock(mutex_);
        items.push_back(
                {std::string(record.reason), std::string(record.payload), record.positions});
    }

    std::vector<item> items;

private:
    std::mutex mutex_;
};

/// `bytes` with everything but printable ASCII written as \xNN, quoted, for messages.
inline std::string escaped_bytes(std::string_view bytes) {
    std::string out = "\"";
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f && c != '\\' && c != '"') {
            out += c;
        } else {
            out += fmt::format("\\x{:02x}", u);
        }
    }
    return out + "\"";
}

/// The first `fields` columns of row `row` as text, nulls included and doubles with their bits,
/// so that two outputs compare equal only when every value is identical.
inline std::string render_row(const batch& out, std::size_t row, std::size_t fields) {
    std::string text;
    for (std::size_t c = 0; c < fields; ++c) {
        const column& col = out.column_at(c);
        if (!col.is_valid(row)) {
            text += "null|";
            continue;
        }
        switch (col.type()) {
            case data_type::float64: {
                const double v = col.float64_values()[row];
                text += fmt::format("{} (0x{:016x})|", v, std::bit_cast<std::uint64_t>(v));
                break;
            }
            case data_type::int64:
            case data_type::timestamp_ms:
                text += fmt::format("{}|", col.int64_values()[row]);
                break;
            case data_type::boolean:
                text += fmt::format("{}|", col.bool_values()[row]);
                break;
            case data_type::string:
                text += escaped_bytes(col.string_at(row)) + "|";
                break;
        }
    }
    return text;
}

}  // namespace sluice::testing
