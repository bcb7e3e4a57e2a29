#include "batch_decode.hpp"

#include <string_view>

namespace sluice::detail::json {

namespace {

// Declines the flat path allows a batch before the rest of it goes through the stream path:
// a declined record is read twice (the scanner gives up early, usually), and decode_alone
// runs simdjson's stage 1 per record, ~1/3 slower than the stream. A few broken records in a
// batch stay on the flat path; a batch whose records the scanner cannot read moves over after
// a handful.
constexpr std::size_t min_flat_declines = 4;
constexpr std::size_t rows_per_flat_decline = 16;

}  // namespace

void decode_batch(const column& raw,
                  std::size_t rows,
                  row_decoder& decoder,
                  std::size_t& accepted,
                  const decode_alone_fn& decode_alone) {
    if (rows < min_streamed_rows) {
        for (std::size_t row = 0; row < rows; ++row) {
            decode_alone(row);
        }
        return;
    }
    if (!decoder.flat_capable()) {
        decode_streamed(raw, 0, rows, decoder, accepted, decode_alone);
        return;
    }
    const auto bytes = raw.string_bytes();
    const auto offsets = raw.string_offsets();
    const char* const limit = bytes.data() + bytes.size();
    std::size_t declines = 0;
    for (std::size_t row = 0; row < rows; ++row) {
        const std::string_view json(bytes.data() + offsets[row], offsets[row + 1] - offsets[row]);
        if (raw.is_valid(row) && decoder.decode_flat(json, limit, accepted)) {
            ++accepted;
            continue;
        }
        decode_alone(row);
        if (!raw.is_valid(row)) {
            continue;  // a null input costs nothing to reject
        }
        ++declines;
        if (declines > min_flat_declines + row / rows_per_flat_decline &&
            rows - row - 1 >= min_streamed_rows) {
            decode_streamed(raw, row + 1, rows, decoder, accepted, decode_alone);
            return;
        }
    }
}

}  // namespace sluice::detail::json
