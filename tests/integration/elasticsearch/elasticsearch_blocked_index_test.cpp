// The elasticsearch sink's per-item failure handling against the real node. A real node
// answers the items of one index 429 while that index carries the flood-stage block
// (`index.blocks.read_only_allow_delete`), and the other items of the same bulk request
// normally: 201 when indexed, 400 `document_parsing_exception` for a mapping conflict. The
// records go to two daily indices (`<stem>-%Y.%m.%d`); one day's index is blocked before the
// run and unblocked once the sink has retried its items twice. Checked: only the blocked
// items are sent again (every indexed document has `_version` 1, so none was indexed twice),
// every document of the blocked day ends up indexed exactly once, the conflicts are
// dead-lettered with the node's error type and reason, and each source batch is acknowledged
// only when all its documents are indexed or dead-lettered.
#include "es_test_support.hpp"

#include <sluice/sluice.hpp>

#include <fmt/format.h>

#include <atomic>
#include <map>
#include <mutex>
#include <vector>

using namespace sluice;
using steady = std::chrono::steady_clock;

namespace {

// 2026-03-01T12:00:00Z and a day later: the blocked and the open day.
constexpr std::int64_t blocked_day_ms = 1'772'366'400'000;
constexpr std::int64_t open_day_ms = blocked_day_ms + 86'400'000;
constexpr std::int64_t total = 600;
constexpr std::int64_t batch_size = 50;

/// Batch b (records 50b..50b+49) holds only open-day records when b % 3 == 2; the others
/// alternate: even records on the blocked day, odd ones on the open day. So one bulk request
/// mixes both indices, and some batches never touch the blocked one.
bool open_only_batch(std::int64_t seq) {
    return (seq / batch_size) % 3 == 2;
}
bool on_blocked_day(std::int64_t seq) {
    return !open_only_batch(seq) && seq % 2 == 0;
}
/// Every 7th record's `code` is not a number: the index maps `code` as long, so it is a 400.
bool conflicts(std::int64_t seq) {
    return seq % 7 == 0;
}
std::string doc_id(std::int64_t seq) {
    return fmt::format("doc-{}", seq);
}

/// What the test sees of the run from the source's and the dead-letter writer's side.
struct observations {
    std::mutex mutex;
    std::string blocked_index;
    std::string open_index;
    std::map<std::int64_t, std::vector<std::string>> dead;  // seq -> reasons
    std::vector<std::pair<steady::time_point, source_position>> acked;
    std::vector<source_position> not_delivered;
    std::vector<std::string> violations;  // documents acknowledged before they were resolved
};

observations* observed = nullptr;

/// Asks the node (real-time GET, no refresh needed) which of the documents first..last exist.
std::map<std::int64_t, bool> found_on_node(std::int64_t first,
                                           std::int64_t last,
                                           const observations& o) {
    std::string docs;
    for (std::int64_t s = first; s <= last; ++s) {
        docs += fmt::format(R"({}{{"_index":"{}","_id":"{}"}})",
                            docs.empty() ? "" : ",",
                            on_blocked_day(s) ? o.blocked_index : o.open_index,
                            doc_id(s));
    }
    const auto r = es_test::request("POST", "/_mget", R"({"docs":[)" + docs + "]}");
    std::map<std::int64_t, bool> found;
    if (r.status != 200) {
        return found;  // every document then counts as not found
    }
    // Runs on the runtime's threads: no exception may leave it, and a document the answer
    // does not describe counts as not found.
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(r.body);
    simdjson::dom::array list;
    if (parser.parse(padded)["docs"].get_array().get(list) != simdjson::SUCCESS) {
        return found;
    }
    for (auto d : list) {
        std::string_view id;
        bool exists = false;
        if (d["_id"].get_string().get(id) == simdjson::SUCCESS && id.rfind("doc-", 0) == 0 &&
            d["found"].get_bool().get(exists) == simdjson::SUCCESS) {
            found[std::stoll(std::string(id.substr(4)))] = exists;
        }
    }
    return found;
}

/// The records, one batch of 50 per poll; records which positions are acknowledged and, at
/// that moment, whether each of their documents is on the node or in the dead letters.
class probe_source final : public source {
public:
    schema_ptr output_schema() const override {
        static const schema_ptr s = make_schema({{"seq", data_type::int64, false},
                                                 {"timestamp", data_type::timestamp_ms, false},
                                                 {"sensor_id", data_type::string, false},
                                                 {"code", data_type::string, false}});
        return s;
    }

    poll_status poll(source_batch& out, operator_context& ctx) override {
        if (next_ >= total || ctx.stop_requested()) {
            return poll_status::finished;
        }
        auto seq = std::make_shared<column>(data_type::int64);
        auto time = std::make_shared<column>(data_type::timestamp_ms);
        auto sensor = std::make_shared<column>(data_type::string);
        auto code = std::make_shared<column>(data_type::string);
        const std::int64_t first = next_;
        for (; next_ < first + batch_size; ++next_) {
            seq->push_int64(next_);
            time->push_int64((on_blocked_day(next_) ? blocked_day_ms : open_day_ms) + next_);
            sensor->push_string(fmt::format("sensor-{}", next_ % 10));
            code->push_string(conflicts(next_) ? fmt::format("x{}", next_) : std::to_string(next_));
        }
        out.data = batch(output_schema(), {seq, time, sensor, code});
        out.data.set_event_time_column(1);
        out.positions.assign(1, source_position{0, first, next_ - 1});
        return poll_status::produced;
    }

    void acknowledge(const std::vector<source_position>& positions) override {
        const auto now = steady::now();
        for (const auto& p : positions) {
            // Outside the lock: the node is asked over HTTP.
            const auto found = found_on_node(p.first, p.last, *observed);
            std::lock_guard lock(observed->mutex);
            observed->acked.emplace_back(now, p);
            for (std::int64_t s = p.first; s <= p.last; ++s) {
                const bool indexed = found.count(s) != 0 && found.at(s);
                if (!indexed && observed->dead.count(s) == 0) {
                    observed->violations.push_back(fmt::format(
                            "record {} acknowledged while neither indexed nor dead-lettered", s));
                }
            }
        }
    }

    void reject_positions(const std::vector<source_position>& positions) override {
        std::lock_guard lock(observed->mutex);
        observed->not_delivered.insert(
                observed->not_delivered.end(), positions.begin(), positions.end());
    }

private:
    std::int64_t next_ = 0;
};

/// Keeps every dead letter in memory (seq and reason), durable "before returning" as the
/// interface asks, so an acknowledgement that follows can be checked against it.
class memory_dead_letters final : public dead_letter_writer {
public:
    void write(const dead_letter_record& record) override {
        simdjson::dom::parser parser;
        const simdjson::padded_string padded(record.payload);
        std::int64_t seq = -1;  // a payload without a seq is reported as record -1
        if (parser.parse(padded)["seq"].get_int64().get(seq) != simdjson::SUCCESS) {
            seq = -1;
        }
        std::lock_guard lock(observed->mutex);
        observed->dead[seq].emplace_back(record.reason);
    }
};

std::int64_t retried_items(const pipeline& p) {
    for (const auto* m : p.metrics()) {
        if (m->id == "es") {
            return m->extra.value("retried_items");
        }
    }
    return -1;
}

std::int64_t live_count(const std::string& index) {
    const auto r = es_test::request("GET", "/" + index + "/_count");
    const auto at = r.body.find(R"("count":)");
    return r.status == 200 && at != std::string::npos ? std::stoll(r.body.substr(at + 8)) : -1;
}

/// Every document of `index`: id -> _version.
std::map<std::string, std::int64_t> versions_of(const std::string& index) {
    REQUIRE(es_test::request("POST", "/" + index + "/_refresh").status == 200);
    const auto r = es_test::request(
            "POST", "/" + index + "/_search", R"({"size":1000,"version":true,"_source":false})");
    INFO(r.body.substr(0, 500));
    REQUIRE(r.status == 200);
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(r.body);
    std::map<std::string, std::int64_t> out;
    // The array in a named variable: `for (auto hit : parse(...)[..].get_array().value())`
    // iterates over a reference into a temporary that dies before the loop starts (value() of
    // an rvalue result returns T&&); the release build read garbage from it (INCORRECT_TYPE).
    simdjson::dom::element root;
    REQUIRE(parser.parse(padded).get(root) == simdjson::SUCCESS);
    simdjson::dom::array hits;
    REQUIRE(root["hits"]["hits"].get_array().get(hits) == simdjson::SUCCESS);
    for (auto hit : hits) {
        std::string_view id;
        std::int64_t version = 0;
        INFO("hit: " << simdjson::minify(hit));
        REQUIRE(hit["_id"].get_string().get(id) == simdjson::SUCCESS);
        REQUIRE(hit["_version"].get_int64().get(version) == simdjson::SUCCESS);
        out[std::string(id)] = version;
    }
    return out;
}

void set_block(const std::string& index, const char* value) {
    const auto r =
            es_test::request("PUT",
                             "/" + index + "/_settings",
                             fmt::format(R"({{"index.blocks.read_only_allow_delete":{}}})", value));
    INFO(r.body);
    REQUIRE(r.status == 200);
}

}  // namespace

TEST_CASE(
        "items of a blocked index are retried alone until it opens and conflicts are dead-lettered",
        "[elasticsearch]") {
    es_test::require_node();
    observations o;
    observed = &o;
    const std::string stem = es_test::unique_index("sluice-it-retry");
    o.blocked_index = stem + "-2026.03.01";
    o.open_index = stem + "-2026.03.02";
    // Explicit mappings: `code` is a long, so "x<n>" is a mapping conflict.
    for (const auto& index : {o.blocked_index, o.open_index}) {
        const auto r = es_test::request(
                "PUT",
                "/" + index,
                R"({"settings":{"number_of_shards":1,"number_of_replicas":0},"mappings":{"properties":{)"
                R"("seq":{"type":"long"},"timestamp":{"type":"date"},"sensor_id":{"type":"keyword"},)"
                R"("code":{"type":"long"}}}})");
        INFO(r.body);
        REQUIRE(r.status == 200);
    }
    set_block(o.blocked_index, "true");

    // The node's own answer for an item of the blocked index, before the sink runs.
    {
        const auto r = es_test::request(
                "POST",
                "/_bulk",
                fmt::format(
                        "{{\"index\":{{\"_index\":\"{}\",\"_id\":\"probe\"}}}}\n{{\"seq\":-1}}\n",
                        o.blocked_index));
        INFO(r.body);
        REQUIRE(r.status == 200);
        REQUIRE(r.body.find(R"("status":429,"error":{"type":"cluster_block_exception")") !=
                std::string::npos);
        REQUIRE(r.body.find("TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark") !=
                std::string::npos);
    }

    std::int64_t blocked_docs = 0;
    std::int64_t blocked_indexed = 0;
    std::int64_t open_indexed = 0;
    std::int64_t conflict_count = 0;
    for (std::int64_t s = 0; s < total; ++s) {
        blocked_docs += on_blocked_day(s) ? 1 : 0;
        conflict_count += conflicts(s) ? 1 : 0;
        if (!conflicts(s)) {
            (on_blocked_day(s) ? blocked_indexed : open_indexed) += 1;
        }
    }
    constexpr std::int64_t open_only_batches = total / batch_size / 3;

    register_builtin_operators();
    static std::once_flag registered;
    std::call_once(registered, [] {
        operator_registry::global().add_source(
                "es_retry_probe",
                "test records over a blocked and an open day",
                [](option_spec&) {},
                [](const options&, build_context&) { return std::make_unique<probe_source>(); });
    });
    // Every record fits in one bulk request (max_docs); max_latency seals it.
    const std::string yaml = fmt::format(R"yaml(
name: es_retry_items
sources:
  probe: {{type: es_retry_probe}}
sinks:
  es: {{type: elasticsearch, inputs: [probe], url: "{url}", index: "{stem}-%Y.%m.%d", id: "doc-{{seq}}",
        template: {{create: false}}, max_docs: 10000, max_latency: 300ms, concurrency: 2,
        retry: {{initial_backoff: 100ms, max_backoff: 400ms}}}}
)yaml",
                                         fmt::arg("url", es_test::base_url()),
                                         fmt::arg("stem", stem));
    auto p = load_pipeline_from_string(yaml, "elasticsearch_blocked_index_test.yaml");
    p->set_dead_letter(std::make_unique<memory_dead_letters>());

    es_test::background_run run(*p);

    // While the index is blocked: the open day is indexed, the batches that touch only the
    // open day are acknowledged, and the blocked items are sent again at least twice each.
    bool retried_twice = false;
    std::size_t acked_while_blocked = 0;
    std::vector<source_position> acked_positions_while_blocked;
    const auto blocked_deadline = steady::now() + std::chrono::seconds(60);
    while (steady::now() < blocked_deadline && !run.finished()) {
        retried_twice = retried_items(*p) >= 2 * blocked_docs;
        {
            std::lock_guard lock(o.mutex);
            acked_while_blocked = o.acked.size();
        }
        if (retried_twice && acked_while_blocked >= static_cast<std::size_t>(open_only_batches) &&
            live_count(o.open_index) == open_indexed) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const std::int64_t retried_before_unblock = retried_items(*p);
    {
        std::lock_guard lock(o.mutex);
        for (const auto& [when, position] : o.acked) {
            acked_positions_while_blocked.push_back(position);
        }
    }
    const std::int64_t blocked_count_while_blocked = live_count(o.blocked_index);
    const auto unblocked_at = steady::now();
    set_block(o.blocked_index, "null");

    const auto run_deadline = steady::now() + std::chrono::seconds(60);
    while (!run.finished() && steady::now() < run_deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const bool ended_in_time = run.finished();
    if (!ended_in_time) {
        p->stop();  // the flush_timeout (120 s) then bounds the join
    }
    run.join();

    INFO("run error: " << run.error);
    REQUIRE(run.error.empty());
    REQUIRE(ended_in_time);
    CHECK(retried_twice);
    INFO("retried_items before the unblock: " << retried_before_unblock);
    CHECK(blocked_count_while_blocked == 0);
    // Only the open-only batches were acknowledged while the block was on: every other batch
    // holds blocked documents, which were not indexed yet.
    CHECK(acked_positions_while_blocked.size() == static_cast<std::size_t>(open_only_batches));
    for (const auto& position : acked_positions_while_blocked) {
        INFO("acknowledged while blocked: " << position.first << ".." << position.last);
        CHECK(open_only_batch(position.first));
    }

    CHECK(run.summary.records_read == static_cast<std::uint64_t>(total));
    CHECK(run.summary.records_rejected == static_cast<std::uint64_t>(conflict_count));
    // Each blocked item was sent again at least twice; the final count is at least that.
    CHECK(retried_items(*p) >= 2 * blocked_docs);

    // Each index holds exactly its day's non-conflicting documents, each indexed once:
    // `_version` 1 means no document of the open day was sent again after it was indexed.
    const auto blocked_versions = versions_of(o.blocked_index);
    const auto open_versions = versions_of(o.open_index);
    CHECK(es_test::count_of(o.blocked_index) == blocked_indexed);
    CHECK(es_test::count_of(o.open_index) == open_indexed);
    std::size_t missing = 0;
    for (std::int64_t s = 0; s < total; ++s) {
        if (conflicts(s)) {
            continue;
        }
        const auto& versions = on_blocked_day(s) ? blocked_versions : open_versions;
        const auto it = versions.find(doc_id(s));
        INFO("record " << s << (on_blocked_day(s) ? " (blocked day)" : " (open day)"));
        if (it == versions.end()) {
            ++missing;
            CHECK(it != versions.end());
        } else {
            CHECK(it->second == 1);
        }
    }
    CHECK(missing == 0);
    CHECK(blocked_versions.size() == static_cast<std::size_t>(blocked_indexed));
    CHECK(open_versions.size() == static_cast<std::size_t>(open_indexed));

    std::lock_guard lock(o.mutex);
    // The conflicts, and only they, are dead letters, once each, with the node's error type
    // and reason; those of the blocked day were answered 429 first and 400 after the unblock.
    CHECK(o.dead.size() == static_cast<std::size_t>(conflict_count));
    for (const auto& [seq, reasons] : o.dead) {
        INFO("dead letter of record " << seq << ": " << (reasons.empty() ? "" : reasons.front()));
        CHECK(conflicts(seq));
        REQUIRE(reasons.size() == 1);
        CHECK(reasons.front().rfind("document_parsing_exception: ", 0) == 0);
        CHECK(reasons.front().find(fmt::format(
                      "failed to parse field [code] of type [long] in document with id '{}'",
                      doc_id(seq))) != std::string::npos);
        CHECK(reasons.front().find(fmt::format("Preview of field's value: 'x{}'", seq)) !=
              std::string::npos);
    }

    // Every batch acknowledged once as delivered, the mixed ones only after the unblock, and
    // each only when its documents were on the node (real-time GET) or in the dead letters.
    CHECK(o.not_delivered.empty());
    CHECK(o.acked.size() == static_cast<std::size_t>(total / batch_size));
    std::set<std::int64_t> firsts;
    for (const auto& [when, position] : o.acked) {
        firsts.insert(position.first);
        if (!open_only_batch(position.first)) {
            INFO("batch " << position.first << ".." << position.last);
            CHECK(when > unblocked_at);
        }
    }
    CHECK(firsts.size() == static_cast<std::size_t>(total / batch_size));
    for (const auto& v : o.violations) {
        FAIL_CHECK(v);
    }
    observed = nullptr;

    es_test::request("DELETE", "/" + o.blocked_index + "," + o.open_index);
}
