// The elasticsearch sink's bulk response parser, on Elastic's own examples
// (shared/data/bulk-conformance, found through SLUICE_DATA_DIR) and on shapes captured from a
// live Elasticsearch 8.19 node. No server.
#include "../../operators/elasticsearch/bulk_response.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace sluice::es_detail;
namespace fs = std::filesystem;

namespace {

fs::path data_dir() {
    if (const char* env = std::getenv("SLUICE_DATA_DIR"); env != nullptr && *env != '\0') {
        return env;
    }
    return SLUICE_DEFAULT_DATA_DIR;
}

std::string conformance_file(const std::string& name) {
    const fs::path path = data_dir() / "bulk-conformance" / name;
    INFO("the shared data folder is absent: "
         << path
         << " does not exist (set SLUICE_DATA_DIR to the folder holding bulk-conformance/)");
    REQUIRE(fs::exists(path));
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bulk_response parse_ok(const std::string& body) {
    bulk_response r;
    std::string error;
    INFO(error);
    REQUIRE(parse_bulk_response(body, r, error));
    return r;
}

}  // namespace

TEST_CASE("Elastic's example of successful operations: a delete answered 404 is not an error",
          "[elasticsearch]") {
    const auto r = parse_ok(conformance_file("es-spec-BulkResponseExample1.json"));
    CHECK_FALSE(r.errors);
    REQUIRE(r.items.size() == 4);
    CHECK(r.items[0].action == "index");
    CHECK(r.items[0].status == 201);
    CHECK(r.items[1].action == "delete");
    CHECK(r.items[1].status == 404);
    CHECK(r.items[1].outcome == item_outcome::done);
    CHECK(r.items[1].error_type.empty());
    CHECK(r.items[2].action == "create");
    CHECK(r.items[3].action == "update");
    CHECK(r.items[3].status == 200);
    for (const auto& item : r.items) {
        CHECK(item.outcome == item_outcome::done);
    }
}

TEST_CASE("Elastic's example with failed updates: each error is permanent, the create is done",
          "[elasticsearch]") {
    const auto r = parse_ok(conformance_file("es-spec-BulkResponseExample2.json"));
    CHECK(r.errors);
    REQUIRE(r.items.size() == 3);
    CHECK(r.items[0].outcome == item_outcome::rejected);
    CHECK(r.items[0].status == 404);
    CHECK(r.items[0].error_type == "document_missing_exception");
    CHECK(r.items[0].error_reason == "[5]: document missing");
    CHECK(r.items[1].error_reason == "[6]: document missing");
    CHECK(r.items[2].outcome == item_outcome::done);
    CHECK(r.items[2].status == 201);
}

TEST_CASE("Elastic's filter_path example: errors without a status are permanent",
          "[elasticsearch]") {
    const auto r = parse_ok(conformance_file("es-spec-BulkResponseExample3.json"));
    CHECK_FALSE(r.errors);  // filtered out of the response
    REQUIRE(r.items.size() == 2);
    CHECK(r.items[0].status == 0);
    CHECK(r.items[0].outcome == item_outcome::rejected);
    CHECK(r.items[0].error_type == "document_missing_exception");
}

TEST_CASE("per-item 429s and 5xx are retried, a mapping conflict is rejected with its reason",
          "[elasticsearch]") {
    // Shapes answered by Elasticsearch 8.19.21 (SEARCH_WRITE_QUEUE=1 and a long-mapped field).
    const std::string body = R"({"errors":true,"took":3,"items":[
 {"index":{"_index":"t","_id":"0-1","_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}},
 {"index":{"_index":"t","_id":"0-2","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of TimedRunnable"}}},
 {"index":{"_index":"t","_id":"0-3","status":400,"error":{"type":"document_parsing_exception","reason":"[1:9] failed to parse field [code] of type [long] in document with id '0-3'. Preview of field's value: 'spike'","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"spike\""}}}},
 {"index":{"_index":"t","_id":"0-4","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}},
 {"create":{"_index":"t","_id":"0-5","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[0-5]: version conflict, document already exists"}}},
 {"index":{"_index":"t","_id":"0-6","status":429,"error":{"type":"rejected_execution_exception","reason":"OpenSearch spelling"}}}
]})";
    const auto r = parse_ok(body);
    CHECK(r.errors);
    REQUIRE(r.items.size() == 6);
    CHECK(r.items[0].outcome == item_outcome::done);
    CHECK(r.items[1].outcome == item_outcome::retry);
    CHECK(r.items[1].error_type == "es_rejected_execution_exception");
    CHECK(r.items[2].outcome == item_outcome::rejected);
    CHECK(r.items[2].error_type == "document_parsing_exception");
    CHECK(r.items[2].error_reason ==
          "[1:9] failed to parse field [code] of type [long] in document with id '0-3'. Preview of "
          "field's value: 'spike' (caused by: For input string: \"spike\")");
    CHECK(r.items[3].outcome == item_outcome::retry);
    CHECK(r.items[4].outcome == item_outcome::rejected);
    CHECK(r.items[5].outcome == item_outcome::retry);  // keyed on the status, not the type name
}

TEST_CASE("the sink's filtered answers: only each item's status and error", "[elasticsearch]") {
    // The first two items as Elasticsearch 8.19.21 answered /_bulk?filter_path=errors,
    // items.*.status,items.*.error,error,status (what the sink asks for): indexed, and a mapping
    // conflict; the third is a 429 in the same filtered shape.
    const std::string body =
            R"({"errors":true,"items":[{"index":{"status":201}},{"index":{"status":400,"error":{"type":"document_parsing_exception","reason":"[1:6] failed to parse field [a] of type [long] in document with id '2'. Preview of field's value: 'x'","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"x\""}}}},{"index":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"}}}]})";
    const auto r = parse_ok(body);
    CHECK(r.errors);
    REQUIRE(r.items.size() == 3);
    CHECK(r.items[0].outcome == item_outcome::done);
    CHECK(r.items[0].status == 201);
    CHECK(r.items[0].action == "index");
    CHECK(r.items[1].outcome == item_outcome::rejected);
    CHECK(r.items[1].error_type == "document_parsing_exception");
    CHECK(r.items[1].error_reason.find("(caused by: For input string: \"x\")") !=
          std::string::npos);
    CHECK(r.items[2].outcome == item_outcome::retry);
}

TEST_CASE("malformed bulk responses are reported, not guessed at", "[elasticsearch]") {
    bulk_response r;
    std::string error;
    CHECK_FALSE(parse_bulk_response("", r, error));
    CHECK(error.find("not JSON") != std::string::npos);
    CHECK_FALSE(parse_bulk_response("[1]", r, error));
    CHECK(error == "bulk response is not a JSON object");
    CHECK_FALSE(parse_bulk_response(R"({"errors":false})", r, error));
    CHECK(error == "bulk response has no 'items' array");
    CHECK_FALSE(parse_bulk_response(R"({"items":[{"index":{},"delete":{}}]})", r, error));
    CHECK(error.find("one action key") != std::string::npos);
    CHECK_FALSE(parse_bulk_response(R"({"items":[{"index":3}]})", r, error));
}

TEST_CASE("a whole-request error names its type and reason", "[elasticsearch]") {
    CHECK(describe_error_body(
                  R"({"error":{"root_cause":[],"type":"es_rejected_execution_exception","reason":"rejected execution"},"status":429})") ==
          "es_rejected_execution_exception: rejected execution");
    CHECK(describe_error_body("<html>Bad Gateway</html>\n") == "<html>Bad Gateway</html> ");
    CHECK(describe_error_body("") == "(empty body)");
    CHECK(retryable_status(429));
    CHECK(retryable_status(503));
    CHECK_FALSE(retryable_status(400));
    CHECK_FALSE(retryable_status(401));
    CHECK(classify_item(404, false) == item_outcome::done);
    CHECK(classify_item(500, true) == item_outcome::retry);
    CHECK(classify_item(400, true) == item_outcome::rejected);
}
