#pragma once

// Private to the json operator: which path decodes each row of a batch.

#include "batch_stream.hpp"
#include "row_decoder.hpp"

#include <sluice/core/column.hpp>

#include <cstddef>

namespace sluice::detail::json {

/// Decodes every row of `raw` (`rows` of them) in order into the next output row (`accepted`,
/// advanced for each accepted row) or hands it to `decode_alone`, which accepts or rejects it
/// with its reason. Batches under `min_streamed_rows` go record by record (decode_alone).
/// Larger ones go through the flat scanner (row_decoder::decode_flat) first, each record it
/// declines to decode_alone; once declines are common in a batch (escapes, exponents, nested
/// values, broken records), the rest of it goes through the stream path (decode_streamed).
void decode_batch(const column& raw,
                  std::size_t rows,
                  row_decoder& decoder,
                  std::size_t& accepted,
                  const decode_alone_fn& decode_alone);

}  // namespace sluice::detail::json
