#include "bulk_response.hpp"

#include <fmt/format.h>
#include <simdjson.h>

namespace sluice::es_detail {

item_outcome classify_item(int status, bool has_error) noexcept {
    if (!has_error) {
        return item_outcome::done;
    }
    return retryable_status(status) ? item_outcome::retry : item_outcome::rejected;
}

namespace {

// error is an object {type, reason, caused_by...} on every version since 5.x; very old nodes
// sent a plain string, kept as the type.
void read_error(const simdjson::dom::element& error, bulk_item& item) {
    if (error.is_string()) {
        item.error_type = std::string(error.get_string().value_unsafe());
        return;
    }
    std::string_view text;
    if (error["type"].get(text) == simdjson::SUCCESS) {
        item.error_type = std::string(text);
    }
    if (error["reason"].get(text) == simdjson::SUCCESS) {
        item.error_reason = std::string(text);
    }
    // The root cause is often more useful ("failed to parse field [x] of type [long]").
    simdjson::dom::object caused_by;
    if (error["caused_by"].get(caused_by) == simdjson::SUCCESS &&
        caused_by["reason"].get(text) == simdjson::SUCCESS && !text.empty()) {
        item.error_reason += fmt::format(" (caused by: {})", text);
    }
    if (item.error_type.empty()) {
        item.error_type = "unknown_error";
    }
}

}  // namespace

bool parse_bulk_response(std::string_view body, bulk_response& out, std::string& error) {
    out.errors = false;
    out.items.clear();
    // A parser per thread: it keeps its buffers between responses.
    thread_local simdjson::dom::parser parser;
    const simdjson::padded_string padded(body);
    simdjson::dom::element root;
    if (auto e = parser.parse(padded).get(root); e != simdjson::SUCCESS) {
        error = fmt::format("bulk response is not JSON: {}", simdjson::error_message(e));
        return false;
    }
    simdjson::dom::object object;
    if (root.get(object) != simdjson::SUCCESS) {
        error = "bulk response is not a JSON object";
        return false;
    }
    bool errors = false;
    if (object["errors"].get(errors) == simdjson::SUCCESS) {
        out.errors = errors;
    }
    simdjson::dom::array items;
    if (object["items"].get(items) != simdjson::SUCCESS) {
        error = "bulk response has no 'items' array";
        return false;
    }
    out.items.reserve(items.size());
    for (simdjson::dom::element element : items) {
        simdjson::dom::object wrapper;
        if (element.get(wrapper) != simdjson::SUCCESS || wrapper.size() != 1) {
            error = fmt::format("bulk response item {} is not an object with one action key",
                                out.items.size());
            return false;
        }
        const auto field = *wrapper.begin();
        bulk_item item;
        item.action = std::string(field.key);
        simdjson::dom::object result;
        if (field.value.get(result) != simdjson::SUCCESS) {
            error = fmt::format(
                    "bulk response item {} ('{}') is not an object", out.items.size(), item.action);
            return false;
        }
        std::int64_t status = 0;
        if (result["status"].get(status) == simdjson::SUCCESS) {
            item.status = static_cast<int>(status);
        }
        simdjson::dom::element err;
        const bool has_error = result["error"].get(err) == simdjson::SUCCESS && !err.is_null();
        if (has_error) {
            read_error(err, item);
        }
        item.outcome = classify_item(item.status, has_error);
        out.items.push_back(std::move(item));
    }
    return true;
}

std::string describe_error_body(std::string_view body) {
    thread_local simdjson::dom::parser parser;
    const simdjson::padded_string padded(body);
    simdjson::dom::element root;
    simdjson::dom::element err;
    if (parser.parse(padded).get(root) == simdjson::SUCCESS &&
        root["error"].get(err) == simdjson::SUCCESS) {
        bulk_item item;
        read_error(err, item);
        return item.error_reason.empty()
                       ? item.error_type
                       : fmt::format("{}: {}", item.error_type, item.error_reason);
    }
    std::string text(body.substr(0, 300));
    for (char& c : text) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    return text.empty() ? std::string("(empty body)") : text;
}

}  // namespace sluice::es_detail
