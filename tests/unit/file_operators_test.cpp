#include <sluice/core/batch.hpp>
#include <sluice/operator/context.hpp>
#include <sluice/operator/options.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/file.hpp>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace sluice;
namespace fs = std::filesystem;

namespace {

using option_values = std::vector<std::pair<std::string, std::string>>;

/// A fresh directory under the system temp dir, removed with everything in it.
class temp_dir {
public:
    temp_dir() {
        std::random_device random;
        path_ = fs::temp_directory_path() /
                ("sluice-file-test-" + std::to_string(random()) + "-" + std::to_string(random()));
        fs::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    fs::path path_;
};

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

const operator_registry& file_registry() {
    static operator_registry registry;
    static const bool registered = (register_file_operators(registry), true);
    (void)registered;
    return registry;
}

const operator_descriptor& descriptor(operator_role role, const std::string& type) {
    const operator_descriptor* found = file_registry().find(role, type);
    REQUIRE(found != nullptr);
    return *found;
}

std::unique_ptr<source> make_file_source(const option_values& values) {
    const auto& d = descriptor(operator_role::source, "file");
    build_context build;
    return d.make_source(options::from_values(d.spec, "file", "in", values), build);
}

std::unique_ptr<sink> make_sink(const std::string& type, const option_values& values) {
    const auto& d = descriptor(operator_role::sink, type);
    build_context build;
    return d.make_sink(options::from_values(d.spec, type, "out", values), build);
}

/// Remembers every rejected record (copies: the views die with the call).
class capturing_dead_letter final : public dead_letter_writer {
public:
    struct entry {
        std::string reason;
        std::string payload;
        std::vector<source_position> positions;
    };
    void write(const dead_letter_record& record) override {
        std::lock_guard lock(mutex_);
        entries.push_back(
                {std::string(record.reason), std::string(record.payload), record.positions});
    }
    std::vector<entry> entries;

private:
    std::mutex mutex_;
};

void bind_sink(sink& target, const schema_ptr& input) {
    diagnostics_collector problems;
    bind_context ctx("test", "out", nullptr, &problems);
    target.bind(input, ctx);
    REQUIRE(problems.empty());
}

/// sensor string, temperature float64, count int64, ok bool, at timestamp_ms; rows 0 and 2
/// full, row 1 all missing.
batch sample_batch() {
    auto sensor = std::make_shared<column>(data_type::string);
    auto temperature = std::make_shared<column>(data_type::float64);
    auto count = std::make_shared<column>(data_type::int64);
    auto ok = std::make_shared<column>(data_type::boolean);
    auto at = std::make_shared<column>(data_type::timestamp_ms);
    sensor->push_string("s-1");
    temperature->push_float64(21.5);
    count->push_int64(3);
    ok->push_bool(true);
    at->push_int64(1'767'225'600'000);
    sensor->push_null();
    temperature->push_null();
    count->push_null();
    ok->push_null();
    at->push_null();
    sensor->push_string("say \"hi\", then\nleave");
    temperature->push_float64(-0.25);
    count->push_int64(-7);
    ok->push_bool(false);
    at->push_int64(1'767'225'601'500);
    return batch(make_schema({{"sensor", data_type::string},
                              {"temperature", data_type::float64},
                              {"count", data_type::int64},
                              {"ok", data_type::boolean},
                              {"at", data_type::timestamp_ms}}),
                 {sensor, temperature, count, ok, at});
}

std::string config_error_text(const std::function<void()>& action) {
    try {
        action();
    } catch (const config_error& error) {
        std::string text;
        for (const diagnostic& d : error.diagnostics()) {
            text += d.code + ": " + d.message + "\n";
        }
        return text;
    }
    return "no error";
}

}  // namespace

TEST_CASE("the file source reads lines with their line numbers as positions", "[file]") {
    temp_dir dir;
    const std::string path = dir.file("input.ndjson");
    write_file(path, "{\"a\":1}\n{\"a\":2}\r\n\n{\"a\":3}\nlast without newline");
    auto in = make_file_source({{"path", path}, {"batch", "{max_records: 2}"}});
    REQUIRE(in->output_schema()->to_string() ==
            make_schema({{"value", data_type::string, false}})->to_string());
    operator_context ctx("file", "in", nullptr, nullptr, nullptr);
    source_batch out;

    REQUIRE(in->poll(out, ctx) == poll_status::produced);
    REQUIRE(out.data.num_rows() == 2);
    CHECK(out.data.column_at(0).string_at(0) == "{\"a\":1}");
    CHECK(out.data.column_at(0).string_at(1) == "{\"a\":2}");  // CRLF stripped
    CHECK(out.positions == std::vector<source_position>{{0, 1, 2}});

    REQUIRE(in->poll(out, ctx) == poll_status::produced);
    REQUIRE(out.data.num_rows() == 2);  // the blank line 3 is skipped
    CHECK(out.data.column_at(0).string_at(0) == "{\"a\":3}");
    CHECK(out.data.column_at(0).string_at(1) == "last without newline");
    CHECK(out.positions == std::vector<source_position>{{0, 3, 5}});

    CHECK(in->poll(out, ctx) == poll_status::finished);
}

TEST_CASE("the file source reads a large file across buffer refills", "[file]") {
    temp_dir dir;
    const std::string path = dir.file("big.txt");
    std::string text;
    for (int i = 1; i <= 200'000; ++i) {
        text += "line number " + std::to_string(i) + " " +
                std::string(static_cast<std::size_t>(i % 13), 'x') + "\n";
    }
    write_file(path, text);
    auto in = make_file_source({{"path", path}, {"batch", "{max_records: 4096}"}});
    operator_context ctx("file", "in", nullptr, nullptr, nullptr);
    source_batch out;
    std::int64_t expected_line = 1;
    for (int polls = 0; polls < 1000 && in->poll(out, ctx) == poll_status::produced; ++polls) {
        REQUIRE(out.positions.front().first == expected_line);
        for (std::size_t row = 0; row < out.data.num_rows(); ++row, ++expected_line) {
            const std::string want = "line number " + std::to_string(expected_line) + " " +
                                     std::string(static_cast<std::size_t>(expected_line % 13), 'x');
            REQUIRE(out.data.column_at(0).string_at(row) == want);
        }
        REQUIRE(out.positions.front().last == expected_line - 1);
    }
    CHECK(expected_line == 200'001);
}

TEST_CASE("the file source follows a growing file", "[file]") {
    temp_dir dir;
    const std::string path = dir.file("growing.log");
    write_file(path, "one\ntw");
    auto in =
            make_file_source({{"path", path}, {"follow", "true"}, {"batch", "{max_latency: 1ms}"}});
    std::atomic<bool> stop{false};
    operator_context ctx("file", "in", nullptr, nullptr, &stop);
    source_batch out;
    REQUIRE(in->poll(out, ctx) == poll_status::produced);
    REQUIRE(out.data.num_rows() == 1);  // "tw" waits for the end of its line
    CHECK(in->poll(out, ctx) == poll_status::idle);
    {
        std::ofstream more(path, std::ios::binary | std::ios::app);
        more << "o\nthree\n";
    }
    REQUIRE(in->poll(out, ctx) == poll_status::produced);
    REQUIRE(out.data.num_rows() == 2);
    CHECK(out.data.column_at(0).string_at(0) == "two");
    CHECK(out.data.column_at(0).string_at(1) == "three");
    CHECK(out.positions == std::vector<source_position>{{0, 2, 3}});
    stop = true;
    CHECK(in->poll(out, ctx) == poll_status::finished);
}

TEST_CASE("the file source reads RFC 4180 CSV and rejects bad rows with a reason", "[file]") {
    temp_dir dir;
    const std::string path = dir.file("readings.csv");
    write_file(path,
               "\xEF\xBB\xBFsensor,note,temperature,ok,at\r\n"
               "s-1,plain,21.5,true,1767225600000\r\n"
               "s-2,\"with, comma\",-3,false,2026-01-01T00:00:01Z\r\n"
               "s-3,\"multi\nline \"\"quoted\"\"\",1e2,1,\r\n"
               "s-4,bad number,abc,true,0\r\n"
               "s-5,too few fields\r\n"
               "s-6,\"\",,,\r\n"
               "s-7,\"closed\"junk,1,true,0\r\n"
               "s-8,last,+7.25,no,5");
    auto in = make_file_source(
            {{"path", path},
             {"format", "csv"},
             {"schema",
              "{sensor: string, temperature: float64, ok: bool, at: timestamp_ms, note: string}"},
             {"event_time", "at"}});
    const auto expected_schema = make_schema({{"sensor", data_type::string},
                                              {"temperature", data_type::float64},
                                              {"ok", data_type::boolean},
                                              {"at", data_type::timestamp_ms},
                                              {"note", data_type::string}});
    REQUIRE(*in->output_schema() == *expected_schema);
    capturing_dead_letter rejected;
    operator_context ctx("file", "in", nullptr, &rejected, nullptr);
    source_batch out;
    REQUIRE(in->poll(out, ctx) == poll_status::produced);
    const batch& rows = out.data;
    REQUIRE(rows.num_rows() == 5);
    CHECK(out.positions == std::vector<source_position>{{0, 2, 10}});
    CHECK(rows.event_time_column() == 3);
    CHECK(rows.watermark_ms() == 1'767'225'601'000);

    CHECK(rows.column_at(0).string_at(0) == "s-1");
    CHECK(rows.column_at(1).float64_values()[0] == 21.5);
    CHECK(rows.column_at(2).bool_values()[0] == 1);
    CHECK(rows.column_at(3).int64_values()[0] == 1'767'225'600'000);
    CHECK(rows.column_at(4).string_at(0) == "plain");

    CHECK(rows.column_at(4).string_at(1) == "with, comma");
    CHECK(rows.column_at(1).float64_values()[1] == -3.0);
    CHECK(rows.column_at(3).int64_values()[1] == 1'767'225'601'000);

    CHECK(rows.column_at(4).string_at(2) == "multi\nline \"quoted\"");
    CHECK(rows.column_at(1).float64_values()[2] == 100.0);
    CHECK_FALSE(rows.column_at(3).is_valid(2));  // an empty field is missing

    CHECK(rows.column_at(0).string_at(3) == "s-6");
    CHECK(rows.column_at(4).is_valid(3));  // "" is an empty string, not missing
    CHECK(rows.column_at(4).string_at(3).empty());
    CHECK_FALSE(rows.column_at(1).is_valid(3));
    CHECK_FALSE(rows.column_at(2).is_valid(3));

    CHECK(rows.column_at(1).float64_values()[4] == 7.25);
    CHECK(rows.column_at(2).bool_values()[4] == 0);

    REQUIRE(rejected.entries.size() == 3);
    CHECK(rejected.entries[0].reason ==
          "line 6: field 'temperature': cannot parse 'abc' as float64");
    CHECK(rejected.entries[0].payload == "s-4,bad number,abc,true,0");
    CHECK(rejected.entries[0].positions == std::vector<source_position>{{0, 6, 6}});
    CHECK(rejected.entries[1].reason == "line 7: expected 5 fields, found 2");
    CHECK(rejected.entries[2].reason ==
          "line 9: unexpected character 'j' after the closing quote of field 2");
    CHECK(ctx.metrics().rejected == 3);

    CHECK(in->poll(out, ctx) == poll_status::finished);
}

TEST_CASE("a CSV without a header maps columns by position", "[file]") {
    temp_dir dir;
    const std::string path = dir.file("plain.csv");
    write_file(path, "a;1\n\"b;c\";2\n");
    auto in = make_file_source({{"path", path},
                                {"format", "csv"},
                                {"header", "false"},
                                {"delimiter", ";"},
                                {"schema", "{name: string, n: int64}"}});
    operator_context ctx("file", "in", nullptr, nullptr, nullptr);
    source_batch out;
    REQUIRE(in->poll(out, ctx) == poll_status::produced);
    REQUIRE(out.data.num_rows() == 2);
    CHECK(out.data.column_at(0).string_at(1) == "b;c");
    CHECK(out.data.column_at(1).int64_values()[1] == 2);
    CHECK(out.positions == std::vector<source_position>{{0, 1, 2}});
}

TEST_CASE("a CSV unterminated quote at end of file is rejected", "[file]") {
    temp_dir dir;
    const std::string path = dir.file("broken.csv");
    write_file(path, "name\nok\n\"never closed\n");
    auto in = make_file_source({{"path", path}, {"format", "csv"}, {"schema", "{name: string}"}});
    capturing_dead_letter rejected;
    operator_context ctx("file", "in", nullptr, &rejected, nullptr);
    source_batch out;
    REQUIRE(in->poll(out, ctx) == poll_status::produced);
    CHECK(out.data.num_rows() == 1);
    REQUIRE(rejected.entries.size() == 1);
    CHECK(rejected.entries[0].reason == "line 3: unterminated quoted field 1");
    CHECK(rejected.entries[0].payload == "\"never closed");
}

TEST_CASE("file source configuration problems are reported at build time", "[file]") {
    temp_dir dir;
    const std::string missing = dir.file("nope.csv");
    CHECK(config_error_text([&] {
              make_file_source({{"path", missing}});
          }) == "io-error: file 'in': cannot open '" + missing + "': No such file or directory\n");

    const std::string path = dir.file("h.csv");
    write_file(path, "a,b\n1,2\n");
    CHECK(config_error_text([&] {
              make_file_source(
                      {{"path", path}, {"format", "csv"}, {"schema", "{a: int64, c: float64}"}});
          }) == "unknown-column: file 'in': field 'c' is not a column of '" + path +
                        "' (header: a, b)\n");
    CHECK(config_error_text([&] {
              make_file_source({{"path", path}, {"format", "csv"}});
          }) == "missing-field: file 'in': format 'csv' requires 'schema' (field -> type)\n");
    CHECK(config_error_text([&] {
              make_file_source({{"path", path}, {"format", "csv"}, {"schema", "{a: decimal}"}});
          }) ==
          "invalid-value: file 'in': field 'a' has unknown type 'decimal' (types: float64, int64, "
          "bool, string, timestamp_ms)\n");
    CHECK(config_error_text([&] {
              make_file_source({{"path", path},
                                {"format", "csv"},
                                {"schema", "{a: int64}"},
                                {"event_time", "a"}});
          }) ==
          "cross-field: file 'in': 'event_time' field 'a' must be of type timestamp_ms, got "
          "'int64'\n");
}

TEST_CASE("the ndjson file sink writes one object per row and creates directories", "[file]") {
    temp_dir dir;
    const std::string path = dir.file("nested/deeper/out.ndjson");
    auto out = make_sink("file", {{"path", path}});
    const batch rows = sample_batch();
    bind_sink(*out, rows.schema());
    operator_context ctx("file", "out", nullptr, nullptr, nullptr);
    out->consume(rows, ctx);
    // Written to the OS before consume returns: readable now, before finish.
    const std::string expected =
            "{\"sensor\":\"s-1\",\"temperature\":21.5,\"count\":3,\"ok\":true,\"at\":1767225600000}"
            "\n"
            "{\"sensor\":null,\"temperature\":null,\"count\":null,\"ok\":null,\"at\":null}\n"
            "{\"sensor\":\"say \\\"hi\\\", "
            "then\\nleave\",\"temperature\":-0.25,\"count\":-7,\"ok\":false,"
            "\"at\":1767225601500}\n";
    CHECK(read_file(path) == expected);
    out->consume(rows, ctx);
    out->finish(ctx);
    CHECK(read_file(path) == expected + expected);
}

TEST_CASE("the csv file sink quotes where needed and writes its header once", "[file]") {
    temp_dir dir;
    const std::string path = dir.file("out.csv");
    const std::string expected_rows =
            "s-1,21.5,3,true,2026-01-01T00:00:00.000Z\n"
            ",,,,\n"
            "\"say \"\"hi\"\", then\nleave\",-0.25,-7,false,2026-01-01T00:00:01.500Z\n";
    const batch rows = sample_batch();
    operator_context ctx("file", "out", nullptr, nullptr, nullptr);
    {
        auto out = make_sink("file",
                             {{"path", path}, {"format", "csv"}, {"timestamp_format", "iso8601"}});
        bind_sink(*out, rows.schema());
        out->consume(rows, ctx);
        out->consume(rows, ctx);
        out->finish(ctx);
    }
    CHECK(read_file(path) == "sensor,temperature,count,ok,at\n" + expected_rows + expected_rows);
    {
        auto out = make_sink("file",
                             {{"path", path},
                              {"format", "csv"},
                              {"timestamp_format", "iso8601"},
                              {"append", "true"}});
        bind_sink(*out, rows.schema());
        out->consume(rows, ctx);
        out->finish(ctx);
    }
    CHECK(read_file(path) ==
          "sensor,temperature,count,ok,at\n" + expected_rows + expected_rows + expected_rows);
}

TEST_CASE("csv written by the file sink reads back through the file source", "[file]") {
    temp_dir dir;
    const std::string path = dir.file("round.csv");
    const batch rows = sample_batch();
    operator_context ctx("file", "out", nullptr, nullptr, nullptr);
    auto out = make_sink("file", {{"path", path}, {"format", "csv"}});
    bind_sink(*out, rows.schema());
    out->consume(rows, ctx);
    out->finish(ctx);

    auto in = make_file_source(
            {{"path", path},
             {"format", "csv"},
             {"schema",
              "{sensor: string, temperature: float64, count: int64, ok: bool, at: timestamp_ms}"}});
    source_batch back;
    REQUIRE(in->poll(back, ctx) == poll_status::produced);
    REQUIRE(back.data.num_rows() == 3);
    for (std::size_t c = 0; c < rows.num_columns(); ++c) {
        for (std::size_t r = 0; r < 3; ++r) {
            INFO("column " << c << " row " << r);
            const column& want = rows.column_at(c);
            const column& got = back.data.column_at(c);
            REQUIRE(got.is_valid(r) == want.is_valid(r));
            if (!want.is_valid(r)) {
                continue;
            }
            switch (want.type()) {
                case data_type::string:
                    CHECK(got.string_at(r) == want.string_at(r));
                    break;
                case data_type::float64:
                    CHECK(got.float64_values()[r] == want.float64_values()[r]);
                    break;
                case data_type::boolean:
                    CHECK(got.bool_values()[r] == want.bool_values()[r]);
                    break;
                default:
                    CHECK(got.int64_values()[r] == want.int64_values()[r]);
                    break;
            }
        }
    }
}

TEST_CASE("a file sink that cannot open its file fails with an operator error", "[file]") {
    temp_dir dir;
    const std::string blocker = dir.file("not-a-dir");
    write_file(blocker, "x");
    auto out = make_sink("file", {{"path", blocker + "/out.ndjson"}});
    const batch rows = sample_batch();
    bind_sink(*out, rows.schema());
    operator_context ctx("file", "out", nullptr, nullptr, nullptr);
    CHECK_THROWS_AS(out->consume(rows, ctx), operator_error);
}

TEST_CASE("the stdout sink writes ndjson or csv to its stream", "[file]") {
    const auto& d = descriptor(operator_role::sink, "stdout");
    const batch rows = sample_batch();
    operator_context ctx("stdout", "out", nullptr, nullptr, nullptr);
    for (const auto& [format, expected] : std::vector<std::pair<std::string, std::string>>{
                 {"ndjson",
                  "{\"sensor\":\"s-1\",\"temperature\":21.5,\"count\":3,\"ok\":true,\"at\":"
                  "1767225600000}\n"},
                 {"csv", "sensor,temperature,count,ok,at\ns-1,21.5,3,true,1767225600000\n"}}) {
        std::FILE* stream = std::tmpfile();
        REQUIRE(stream != nullptr);
        auto out = make_stdout_sink(
                options::from_values(d.spec, "stdout", "out", {{"format", format}}), stream);
        bind_sink(*out, rows.schema());
        const std::vector<std::uint8_t> first_row{1, 0, 0};
        out->consume(rows.filter_rows(first_row), ctx);
        out->finish(ctx);
        std::rewind(stream);
        std::string text(4096, '\0');
        text.resize(std::fread(text.data(), 1, text.size(), stream));
        std::fclose(stream);
        CHECK(text == expected);
    }
}

TEST_CASE("the blackhole sink counts records and bytes", "[file]") {
    auto out = make_sink("blackhole", {});
    auto* hole = dynamic_cast<blackhole_sink*>(out.get());
    REQUIRE(hole != nullptr);
    CHECK(hole->traits().calls == concurrency::parallel);
    const batch rows = sample_batch();
    bind_sink(*out, rows.schema());
    operator_context ctx("blackhole", "out", nullptr, nullptr, nullptr);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) {
                out->consume(rows, ctx);
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    out->finish(ctx);
    CHECK(hole->records() == 4 * 1000 * 3);
    // Per batch: strings 3 + 20 bytes, two doubles, two ints, two bools, two timestamps.
    CHECK(hole->bytes() == 4 * 1000 * (23 + 16 + 16 + 2 + 16));
}

TEST_CASE("the dead-letter file appends one valid JSON line per rejected record", "[file]") {
    temp_dir dir;
    const std::string path = dir.file("dlq/rejected.ndjson");
    auto writer = make_dead_letter_file(path);
    writer->write({"json_decode",
                   "decode",
                   "invalid JSON: unclosed string at byte 17",
                   "{\"sensor\": \"s-1\nbad \xff",
                   false,
                   {{3, 100, 199}}});
    CHECK(read_file(path).size() > 0);  // durable before write() returned
    writer->write({"filter", "hot", "expression failed", "{\"temperature\":1e99}", true, {}});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&writer, t] {
            for (int i = 0; i < 50; ++i) {
                writer->write({"map",
                               "m" + std::to_string(t),
                               "division by zero",
                               "x",
                               false,
                               {{0, i, i}}});
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    writer->finish();

    const std::string text = read_file(path);
    std::vector<std::string> lines;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) {
        lines.push_back(line);
    }
    REQUIRE(lines.size() == 202);
    simdjson::dom::parser parser;
    for (const std::string& line : lines) {
        INFO(line);
        simdjson::dom::element doc;
        REQUIRE(parser.parse(simdjson::padded_string(line)).get(doc) == simdjson::SUCCESS);
        std::int64_t time = 0;
        CHECK(doc["time"].get(time) == simdjson::SUCCESS);
        CHECK(time > 1'700'000'000'000);
        for (const char* key : {"operator_type", "operator_id", "reason"}) {
            std::string_view value;
            CHECK(doc[key].get(value) == simdjson::SUCCESS);
        }
        simdjson::dom::array positions;
        CHECK(doc["positions"].get(positions) == simdjson::SUCCESS);
    }

    simdjson::dom::element first;
    REQUIRE(parser.parse(simdjson::padded_string(lines[0])).get(first) == simdjson::SUCCESS);
    std::string_view payload;
    REQUIRE(first["payload"].get(payload) == simdjson::SUCCESS);
    CHECK(payload == "{\"sensor\": \"s-1\nbad \xEF\xBF\xBD");
    std::string_view reason;
    REQUIRE(first["reason"].get(reason) == simdjson::SUCCESS);
    CHECK(reason == "invalid JSON: unclosed string at byte 17");
    std::int64_t partition = -1, from = -1, to = -1;
    REQUIRE(first["positions"].at(0)["partition"].get(partition) == simdjson::SUCCESS);
    REQUIRE(first["positions"].at(0)["first"].get(from) == simdjson::SUCCESS);
    REQUIRE(first["positions"].at(0)["last"].get(to) == simdjson::SUCCESS);
    CHECK(partition == 3);
    CHECK(from == 100);
    CHECK(to == 199);

    CHECK(lines[1].find(R"("payload":{"temperature":1e99},"positions":[]})") != std::string::npos);
}

TEST_CASE("a dead-letter file that cannot be opened throws an operator error naming it", "[file]") {
    temp_dir dir;
    const std::string blocker = dir.file("file");
    write_file(blocker, "x");
    CHECK_THROWS_AS(make_dead_letter_file(blocker + "/dlq.ndjson"), operator_error);
}
