#pragma once

// Private to the json operator: the batch path, one simdjson stage 1 pass over many records.

#include "row_decoder.hpp"

#include <sluice/core/column.hpp>

#include <cstddef>
#include <functional>

namespace sluice::detail::json {

/// Batches smaller than this are decoded record by record: a stream's set-up is not worth it.
constexpr std::size_t min_streamed_rows = 8;

/// Decoder of one record on its own (the per-record path): accepts it into the next output
/// row or rejects it with its reason.
using decode_alone_fn = std::function<void(std::size_t row)>;

/// The batch path. Records of a string column lie back to back, so stage 1 (the SIMD scan
/// for structural characters, ~1/3 of the work per record) runs once over up to
/// `max_streamed_rows` records with simdjson's document_stream, instead of once per record
/// with its per-document set-up. A record is taken from the stream only if exactly one
/// document starts at its first non-blank byte and the next one at the next record's: then
/// the structural characters seen inside it are those it has alone (stage 1 carries state
/// from byte to byte only forward, and a document can only start outside a string), and it
/// decodes as decode() would. Anything else - a stream error, a document that does not line
/// up, any rejection - sends that record to `decode_alone` (the per-record path, which
/// words every rejection) and restarts the stream after it, since a broken record (an open
/// string, a missing brace) can change how the stream reads the records that follow.
/// `accepted` counts the rows decoded so far (the next output row); rows taken from a stream
/// are decoded into it here, the others are handed to `decode_alone`, which must advance it
/// when it accepts one. Rows [begin_row, rows) of `raw` are each handled once, in order.
void decode_streamed(const column& raw,
                     std::size_t begin_row,
                     std::size_t rows,
                     row_decoder& decoder,
                     std::size_t& accepted,
                     const decode_alone_fn& decode_alone);

}  // namespace sluice::detail::json
