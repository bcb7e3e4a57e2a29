#include "batch_stream.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace sluice::detail::json {

namespace {

// Records per stream (one stage 1 pass each). A record that does not decode as its own
// document ends the stream early and the next one starts after it, so this bounds the bytes
// scanned again; 128 seed records (~24 KB) also keep the structural index in L1/L2.
constexpr std::size_t max_streamed_rows = 128;
// Streams a batch may end early before the rest of it is decoded record by record: a batch
// of mostly broken records costs a few extra stage 1 passes, not one per record.
constexpr int max_stream_restarts = 24;
constexpr std::uint32_t blank_record = std::numeric_limits<std::uint32_t>::max();

bool is_json_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

void decode_streamed(const column& raw,
                     std::size_t begin_row,
                     std::size_t rows,
                     row_decoder& decoder,
                     std::size_t& accepted,
                     const decode_alone_fn& decode_alone) {
    auto& state = local_state();
    const auto bytes = raw.string_bytes();
    const auto offsets = raw.string_offsets();
    char* const buf = state.padded_batch(bytes);
    // Each record's first non-blank byte. Records that cannot be one object alone (null,
    // blank, not starting with '{' or not ending with '}') are decoded alone, and blanked
    // here so that the stream does not see them. The test on the last byte also keeps out
    // trailing bytes that stage 1 of a stream's last window would drop unseen (an
    // incomplete UTF-8 character at the very end).
    std::vector<std::uint32_t> first(rows, blank_record);
    for (std::size_t row = begin_row; row < rows; ++row) {
        std::uint32_t at = offsets[row];
        std::uint32_t end = offsets[row + 1];
        if (raw.is_valid(row)) {
            while (at < end && is_json_space(buf[at])) {
                ++at;
            }
            while (end > at && is_json_space(buf[end - 1])) {
                --end;
            }
            if (end - at >= 2 && buf[at] == '{' && buf[end - 1] == '}') {
                first[row] = at;
                continue;
            }
        }
        std::memset(buf + offsets[row], ' ', offsets[row + 1] - offsets[row]);
    }

    // Decodes rows [begin, end) from one stream. Returns the first row it could not take
    // (end if none), and whether stage 1 failed for the whole range.
    struct stop {
        std::size_t row;
        bool whole_range;
    };
    const auto stream_range = [&](std::size_t begin, std::size_t end) -> stop {
        const std::size_t from = offsets[begin];
        const std::size_t len = offsets[end] - from;
        std::size_t row = begin;
        if (len == 0) {
            for (; row < end; ++row) {
                decode_alone(row);  // all empty
            }
            return {row, false};
        }
        auto& parser = state.stream_parser;
        // The window holds the whole range (one stage 1 pass, no helper thread). Growing
        // it in powers of two, never shrinking, spares a reallocation per stream.
        const std::size_t window = std::max<std::size_t>(
                parser.capacity(), std::bit_ceil(std::max<std::size_t>(len, 1U << 15)));
        ondemand::document_stream stream;
        if (parser.iterate_many(buf + from, len, window).get(stream) != simdjson::SUCCESS) {
            return {row, true};
        }
        auto it = stream.begin();
        // streaming_final stage 1 silently drops an incomplete last document.
        const bool tail_complete = stream.truncated_bytes() == 0;
        bool first_document = true;
        // After a record taken from this stream, the next document is known to start at the
        // next record: decode_streamed checked that the stream stood there after it.
        bool start_known = false;
        while (row < end) {
            if (first[row] == blank_record) {
                decode_alone(row);
                ++row;
                continue;
            }
            std::size_t next = row + 1;
            while (next < end && first[next] == blank_record) {
                ++next;
            }
            if (!(it != stream.end())) {
                return {row, false};
            }
            auto current = *it;
            if (current.error() != simdjson::SUCCESS) {
                return {row, first_document};
            }
            first_document = false;
            ondemand::document& doc = current.value_unsafe();
            if (!start_known) {
                const auto at = doc.current_location();
                if (at.error() != simdjson::SUCCESS || at.value_unsafe() != buf + first[row]) {
                    return {row, false};
                }
            }
            if (next == end && !tail_complete) {
                return {row, false};
            }
            const char* following = next < end ? buf + first[next] : nullptr;
            const std::string_view json(bytes.data() + offsets[row],
                                        offsets[row + 1] - offsets[row]);
            if (!decoder.decode_streamed(doc, json, buf + offsets[row], following, accepted)) {
                return {row, false};
            }
            ++accepted;
            ++row;
            ++it;
            start_known = true;
        }
        return {row, false};
    };

    std::size_t row = begin_row;
    std::size_t range = max_streamed_rows;
    int restarts = 0;
    while (row < rows) {
        if (restarts >= max_stream_restarts) {
            decode_alone(row++);
            continue;
        }
        const std::size_t end = std::min(rows, row + range);
        const auto [stopped, whole_range] = stream_range(row, end);
        row = stopped;  // rows before it are done (blank ones alone)
        if (row == end) {
            range = std::min(max_streamed_rows, range * 2);
            continue;
        }
        ++restarts;
        if (whole_range && end - row > 1) {
            // Stage 1 refused the range (bad UTF-8, a control character in a string): halve
            // it until the broken record is alone, then decode that one alone.
            range = (end - row) / 2;
            continue;
        }
        decode_alone(row++);
        range = max_streamed_rows;
    }
}

}  // namespace sluice::detail::json
