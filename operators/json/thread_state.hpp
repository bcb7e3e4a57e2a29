#pragma once

// Private to the json operator: the per-thread simdjson parsers and padded buffers.

#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

namespace sluice::detail::json {

namespace ondemand = simdjson::ondemand;

// One simdjson parser and one padded copy buffer per thread: `process` runs concurrently on
// TBB workers, and an on-demand parser serves one document at a time. Both keep the capacity
// of the largest record the thread has seen.
struct thread_state {
    ondemand::parser parser;
    std::unique_ptr<char[]> buffer;
    std::size_t capacity = 0;

    // The batch path: the whole string column copied once, and a second parser so that a
    // record retried alone (with `parser`) leaves the stream of the batch where it was.
    ondemand::parser stream_parser;
    std::unique_ptr<char[]> batch;
    std::size_t batch_capacity = 0;

    thread_state() {
#ifdef SIMDJSON_THREADS_ENABLED
        // document_stream would run stage 1 of the next window on a helper thread; each
        // window here holds a whole chunk, so there is never a next window to prepare.
        stream_parser.threaded = false;
#endif
    }

    // Copies `bytes` into a buffer followed by SIMDJSON_PADDING zero bytes, then a quote and
    // more zeros: a string left open by a broken last record stops at that quote instead of
    // running past the buffer (the record is then rejected by the per-record path).
    char* padded_batch(std::span<const char> bytes) {
        const std::size_t needed = bytes.size() + 2 * simdjson::SIMDJSON_PADDING + 1;
        if (needed > batch_capacity) {
            batch_capacity = std::max<std::size_t>({needed, batch_capacity * 2, 1U << 16});
            batch = std::make_unique<char[]>(batch_capacity);
        }
        if (!bytes.empty()) {
            std::memcpy(batch.get(), bytes.data(), bytes.size());
        }
        std::memset(batch.get() + bytes.size(), 0, 2 * simdjson::SIMDJSON_PADDING + 1);
        batch[bytes.size() + simdjson::SIMDJSON_PADDING] = '"';
        return batch.get();
    }

    char* padded_copy(std::string_view json) {
        const std::size_t needed = json.size() + simdjson::SIMDJSON_PADDING;
        if (needed > capacity) {
            capacity = std::max<std::size_t>({needed, capacity * 2, 4096});
            buffer = std::make_unique<char[]>(capacity);
        }
        if (!json.empty()) {
            std::memcpy(buffer.get(), json.data(), json.size());  // an empty view may be null
        }
        // simdjson may read past the end of the document (it relies on padding, as a
        // padded_string has): zero it so that no byte of an earlier, longer record can
        // pass for a closing brace or a digit.
        std::memset(buffer.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
        return buffer.get();
    }
};

/// This thread's state (created on first use, lives as long as the thread).
thread_state& local_state();

}  // namespace sluice::detail::json
