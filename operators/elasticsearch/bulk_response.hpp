#pragma once

// Reading `_bulk` responses: one outcome per item, in request order.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::es_detail {

/// What to do with one document after a bulk response.
enum class item_outcome : std::uint8_t {
    done,      ///< indexed (or a harmless result such as a delete of a missing id)
    retry,     ///< transient: 429 or 5xx; send again later
    rejected,  ///< permanent (mapping conflict, bad id, ...): dead-letter it
};

/// One item of a bulk response.
struct bulk_item {
    item_outcome outcome = item_outcome::done;
    int status = 0;            ///< the item's HTTP status (0 if the response omits it)
    std::string action;        ///< "index", "create", "update" or "delete"
    std::string error_type;    ///< error.type, e.g. "document_parsing_exception" ("" if none)
    std::string error_reason;  ///< error.reason ("" if none)
};

/// A parsed bulk response.
struct bulk_response {
    bool errors = false;           ///< the response's "errors" flag
    std::vector<bulk_item> items;  ///< one per action, in request order
};

/// Classifies one item. An item is done when it carries no `error` (whatever its status: a
/// delete of a missing id answers 404 "not_found" without an error); with an error it is
/// retried for 429 and 5xx and rejected otherwise (a missing status counts as permanent).
item_outcome classify_item(int status, bool has_error) noexcept;

/// The `_bulk` path that asks the node for only what parse_bulk_response reads: each item's
/// status and error, and a whole-request error's. An unfiltered item also carries _index, _id,
/// _version, result, _shards, _seq_no and _primary_term: about 7 times the bytes to write and
/// parse.
inline constexpr std::string_view bulk_path =
        "/_bulk?filter_path=errors,items.*.status,items.*.error,error,status";

/// Parses a `_bulk` response body. Returns false (and says why in `error`) when it is not a
/// JSON object with an `items` array of single-key objects.
bool parse_bulk_response(std::string_view body, bulk_response& out, std::string& error);

/// The `error.type` and `error.reason` of a whole-request error body such as
/// `{"error":{"type":"es_rejected_execution_exception","reason":"..."},"status":429}`, as
/// "type: reason"; or the start of the body (at most 300 bytes) when it has no such error.
std::string describe_error_body(std::string_view body);

/// True for HTTP statuses worth retrying: 429 (too many requests) and 5xx.
constexpr bool retryable_status(long status) noexcept {
    return status == 429 || status >= 500;
}

}  // namespace sluice::es_detail
