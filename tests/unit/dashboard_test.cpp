// The dashboard: the sink's bounded state (history, sensors, alerts, buckets, histograms), the
// coalescing cursor browsers read through, severities, the Prometheus text, and the server
// with a browser that never reads.
#include "../../operators/dashboard/dashboard_hub.hpp"
#include "../../operators/dashboard/dashboard_json.hpp"

#include <sluice/config/loader.hpp>
#include <sluice/ops/dashboard.hpp>
#include <sluice/sluice.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace sluice;
using namespace sluice::dashboard_detail;

namespace {

observation reading(std::string_view sensor,
                    std::int64_t time_ms,
                    double temperature,
                    bool anomaly = false) {
    observation o;
    o.sensor = sensor;
    o.location = "building-1/floor-1";
    o.time_ms = time_ms;
    o.temperature = temperature;
    o.humidity = 45.0;
    o.anomaly = anomaly;
    return o;
}

void add_one(dashboard_state& state, const observation& o, std::int64_t now_ms = 1000) {
    state.add(std::span<const observation>(&o, 1), now_ms);
}

std::vector<point> history_of(const dashboard_state& state, std::string_view id) {
    std::vector<point> points;
    sensor_summary summary;
    std::string location;
    REQUIRE(state.sensor_history(id, points, summary, location));
    return points;
}

}  // namespace

TEST_CASE("a sensor's history keeps only its newest readings, so memory stops growing",
          "[dashboard]") {
    state_limits limits;
    limits.history = 10;
    dashboard_state state(limits);
    for (int i = 0; i < 25; ++i) {
        add_one(state, reading("s1", i, 20.0 + i * 0.01));
    }
    const auto points = history_of(state, "s1");
    REQUIRE(points.size() == 10);
    CHECK(points.front().time_ms == 15);
    CHECK(points.back().time_ms == 24);
    const auto bytes = state.memory_bytes();
    for (int i = 25; i < 5000; ++i) {
        add_one(state, reading("s1", i, 21.0));
    }
    CHECK(state.memory_bytes() == bytes);
    CHECK(state.totals().events == 5000);
}

TEST_CASE("readings of sensors past max_sensors are counted but not kept", "[dashboard]") {
    state_limits limits;
    limits.max_sensors = 3;
    dashboard_state state(limits);
    for (const auto* id : {"a", "b", "c", "d", "e", "a", "e"}) {
        add_one(state, reading(id, 1, 20.0));
    }
    const auto totals = state.totals();
    CHECK(totals.sensors == 3);
    CHECK(totals.events == 7);
    CHECK(totals.untracked_events == 3);  // d, e, e
    std::vector<point> points;
    sensor_summary summary;
    std::string location;
    CHECK_FALSE(state.sensor_history("d", points, summary, location));
}

TEST_CASE("rows without a sensor id are skipped and counted", "[dashboard]") {
    dashboard_state state({});
    add_one(state, reading("", 1, 20.0));
    CHECK(state.totals().skipped_rows == 1);
    CHECK(state.totals().events == 0);
}

TEST_CASE("a reader gets everything first, then one coalesced frame of what changed, then nothing",
          "[dashboard]") {
    dashboard_state state({});
    add_one(state, reading("a", 1, 20.0));
    add_one(state, reading("b", 1, 21.0));
    cursor c;
    delta d;
    REQUIRE(state.read(c, 1000, d));
    CHECK(d.new_sensors.size() == 2);
    CHECK(d.sensors.size() == 2);
    CHECK(d.histograms);

    // Ten batches for "a" while the browser was not reading: one summary with the latest.
    for (int batch = 0; batch < 10; ++batch) {
        std::vector<observation> rows;
        for (int i = 0; i < 10; ++i) {
            rows.push_back(reading("a", 2 + batch * 10 + i, 22.0 + i));
        }
        state.add(rows, 1000);
    }
    REQUIRE(state.read(c, 1000, d));
    CHECK(d.new_sensors.empty());
    REQUIRE(d.sensors.size() == 1);
    CHECK(d.sensors[0].index == 0);
    CHECK(d.sensors[0].count == 101);
    CHECK(d.sensors[0].last.time_ms == 101);
    CHECK(d.sensors[0].last.temperature == Approx(31.0));

    CHECK_FALSE(state.read(c, 1000, d));
}

TEST_CASE("the alert history is bounded and a reader that fell behind is told of the gap",
          "[dashboard]") {
    state_limits limits;
    limits.max_alerts = 10;
    dashboard_state state(limits);
    cursor behind;
    delta d;
    add_one(state, reading("a", 0, 20.0, true));
    REQUIRE(state.read(behind, 1000, d));
    REQUIRE(d.alerts.size() == 1);
    CHECK_FALSE(d.alerts_gap);

    for (int i = 1; i <= 24; ++i) {
        add_one(state, reading("a", i, 40.0, true));
    }
    CHECK(state.totals().anomalies == 25);
    CHECK(state.totals().alerts_evicted == 15);

    cursor fresh;
    REQUIRE(state.read(fresh, 1000, d));
    REQUIRE(d.alerts.size() == 10);
    CHECK(d.alerts.front().id == 16);
    CHECK(d.alerts.back().id == 25);
    CHECK_FALSE(d.alerts_gap);  // a new reader never saw the old ones: nothing is missing for it

    REQUIRE(state.read(behind, 1000, d));
    CHECK(d.alerts.size() == 10);
    CHECK(d.alerts_gap);  // ids 2..15 went by unseen
}

TEST_CASE("severity comes from a label, a score, or the deviation from the sensor's baseline",
          "[dashboard]") {
    dashboard_state state({});
    auto labelled = reading("a", 1, 30.0, true);
    labelled.severity_label = "CRITICAL";
    add_one(state, labelled);
    auto warning = reading("a", 2, 30.0, true);
    warning.severity_label = "warning";
    add_one(state, warning);
    auto scored = reading("a", 3, 30.0, true);
    scored.score = 0.3;  // medium: 0.25 <= 0.3 < 0.5
    add_one(state, scored);
    auto top = reading("a", 4, 30.0, true);
    top.score = 0.75;  // critical starts at 0.75
    add_one(state, top);

    for (int i = 0; i < 20; ++i) {
        add_one(state, reading("b", 10 + i, 20.0));  // baseline 20 degrees
    }
    add_one(state, reading("b", 40, 36.0, true));  // 16 / 20 = 0.8
    add_one(state, reading("b", 41, 27.0, true));  // 7 / 20 = 0.35
    add_one(state, reading("b", 42, 22.0, true));  // 2 / 20 = 0.1
    // Anomalies do not move the baseline: the next one is still measured from 20.
    add_one(state, reading("b", 43, 31.0, true));  // 11 / 20 = 0.55

    add_one(state, reading("c", 50, 40.0, true));  // no baseline yet

    cursor c;
    delta d;
    REQUIRE(state.read(c, 1000, d));
    std::vector<severity> levels;
    for (const auto& a : d.alerts) {
        levels.push_back(a.level);
    }
    CHECK(levels == std::vector<severity>{severity::critical,
                                          severity::medium,
                                          severity::medium,
                                          severity::critical,
                                          severity::critical,
                                          severity::medium,
                                          severity::low,
                                          severity::high,
                                          severity::medium});
    CHECK(d.alerts[4].score == Approx(0.8));
    CHECK(std::isnan(d.alerts[0].score));
    CHECK(std::isnan(d.alerts[8].score));
    CHECK(severity_from_label("Major") == severity::high);
    CHECK(severity_from_label("info") == severity::low);
    CHECK(severity_from_label("") == severity::none);
}

TEST_CASE("histograms count the readings held and forget the evicted ones", "[dashboard]") {
    state_limits limits;
    limits.history = 10;
    dashboard_state state(limits);
    const auto bin = [](double t) {
        return static_cast<std::size_t>((t + 20.0) / 0.5);
    };
    for (int i = 0; i < 10; ++i) {
        add_one(state, reading("a", i, 20.2));
    }
    cursor c;
    delta d;
    REQUIRE(state.read(c, 1000, d));
    CHECK(d.temperature.normal[bin(20.2)] == 10);
    for (int i = 0; i < 6; ++i) {
        add_one(state, reading("a", 10 + i, 35.1, i % 2 == 0));
    }
    REQUIRE(state.read(c, 1000, d));
    CHECK(d.temperature.normal[bin(20.2)] == 4);
    CHECK(d.temperature.normal[bin(35.1)] == 3);
    CHECK(d.temperature.anomalous[bin(35.1)] == 3);
    std::uint64_t held = 0;
    for (std::size_t i = 0; i < d.temperature.normal.size(); ++i) {
        held += d.temperature.normal[i] + d.temperature.anomalous[i];
    }
    CHECK(held == 10);
}

TEST_CASE("a watched sensor's readings come whole first, then as appends, whole again after a gap",
          "[dashboard]") {
    state_limits limits;
    limits.history = 5;
    dashboard_state state(limits);
    for (int i = 0; i < 3; ++i) {
        add_one(state, reading("a", i, 20.0));
    }
    cursor c;
    c.watch = "a";
    delta d;
    REQUIRE(state.read(c, 1000, d));
    CHECK(d.watch_found);
    CHECK(d.watch_reset);
    CHECK(d.watch_points.size() == 3);

    add_one(state, reading("a", 3, 21.0));
    add_one(state, reading("b", 3, 21.0));
    REQUIRE(state.read(c, 1000, d));
    CHECK_FALSE(d.watch_reset);
    REQUIRE(d.watch_points.size() == 1);
    CHECK(d.watch_points[0].time_ms == 3);

    for (int i = 4; i < 20; ++i) {  // more than the history holds
        add_one(state, reading("a", i, 21.0));
    }
    REQUIRE(state.read(c, 1000, d));
    CHECK(d.watch_reset);
    REQUIRE(d.watch_points.size() == 5);
    CHECK(d.watch_points.front().time_ms == 15);
}

TEST_CASE("fleet buckets close once their second of wall time is over", "[dashboard]") {
    dashboard_state state({});
    add_one(state, reading("a", 1, 20.0), 1000);
    add_one(state, reading("b", 1, 24.0, true), 1500);
    cursor c;
    delta d;
    REQUIRE(state.read(c, 1900, d));
    CHECK(d.buckets.empty());
    add_one(state, reading("a", 2, 22.0), 2100);
    REQUIRE(state.read(c, 2200, d));
    REQUIRE(d.buckets.size() == 1);
    const auto& b = d.buckets[0];
    CHECK(b.start_ms == 1000);
    CHECK(b.count == 2);
    CHECK(b.anomalies == 1);
    CHECK(b.temperature_min == Approx(20.0));
    CHECK(b.temperature_max == Approx(24.0));
    CHECK(b.temperature_sum / b.temperature_n == Approx(22.0));
    // Nothing new: no frame, until the wall clock closes the open bucket.
    CHECK_FALSE(state.read(c, 2500, d));
    REQUIRE(state.read(c, 3000, d));
    REQUIRE(d.buckets.size() == 1);
    CHECK(d.buckets[0].start_ms == 2000);
}

TEST_CASE("fleet frames are JSON with the documented arrays", "[dashboard]") {
    dashboard_state state({});
    auto o = reading("sensor-\"1\"", 5, 21.5, true);
    add_one(state, o);
    cursor c;
    delta d;
    REQUIRE(state.read(c, 1000, d));
    std::string json;
    append_delta_json(json, d);
    CHECK(json.find(R"("new_sensors":[["sensor-\"1\"","building-1/floor-1"]])") !=
          std::string::npos);
    CHECK(json.find(R"("sensors":[[0,5,21.5,45,2,1,1,1000,2]])") != std::string::npos);
    CHECK(json.find(R"("alerts":[[1,1000,5,0,21.5,45,null,2]])") != std::string::npos);
    std::string fixed;
    append_fixed(fixed, -0.001, 2);
    append_fixed(fixed, std::nan(""), 2);
    CHECK(fixed == "0null");
}

TEST_CASE("Prometheus text has one TYPE per family, exact cumulative buckets and escaped labels",
          "[dashboard]") {
    operator_metrics source;
    source.id = "fleet";
    source.type = "kafka";
    source.role = "source";
    source.records_out = 42;
    source.extra.set("consumer_lag", 17);
    source.batch_latency.record(1500);             // 1.5 us
    source.batch_latency.record(3'000'000);        // 3 ms
    source.batch_latency.record(100'000'000'000);  // 100 s: past the last finite bound
    operator_metrics sink;
    sink.id = "es \"main\"";
    sink.type = "elasticsearch";
    sink.role = "sink";
    sink.records_in = 40;
    sink.records_out = 40;
    sink.rejected = 2;
    sink.extra.add("bulk_failed", 2);
    const std::vector<std::int64_t> created{0, 0, 0};
    sink.event_latency.record_since(created, 5'000'000);  // three records, 5 ms each

    std::string text;
    append_prometheus_text(text, "plant", {&source, &sink});
    std::istringstream lines(text);
    std::map<std::string, int> types;
    std::map<std::string, std::string> samples;
    std::set<std::string> families_seen;
    std::string current_family;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("# TYPE ", 0) == 0) {
            const auto name = line.substr(7, line.find(' ', 7) - 7);
            ++types[name];
            CHECK(families_seen.insert(name).second);  // a family appears in one block
            current_family = name;
            continue;
        }
        if (line.rfind("# HELP ", 0) == 0) {
            continue;
        }
        const auto space = line.rfind(' ');
        REQUIRE(space != std::string::npos);
        samples[line.substr(0, space)] = line.substr(space + 1);
        CHECK(line.rfind(current_family, 0) == 0);  // samples sit under their family's TYPE
    }
    for (const auto& [name, count] : types) {
        CHECK(count == 1);
    }
    const std::string src = R"(pipeline="plant",operator="fleet",type="kafka",role="source")";
    const std::string dst =
            R"(pipeline="plant",operator="es \"main\"",type="elasticsearch",role="sink")";
    CHECK(samples["sluice_records_out_total{" + src + "}"] == "42");
    CHECK(samples["sluice_records_in_total{" + dst + "}"] == "40");
    CHECK(samples["sluice_records_rejected_total{" + dst + "}"] == "2");
    CHECK(samples["sluice_kafka_consumer_lag{" + src + "}"] == "17");
    CHECK(samples["sluice_elasticsearch_bulk_failed_total{" + dst + "}"] == "2");
    CHECK(text.find("# TYPE sluice_kafka_consumer_lag gauge") != std::string::npos);
    CHECK(text.find("# TYPE sluice_elasticsearch_bulk_failed_total counter") != std::string::npos);
    CHECK(text.find("# TYPE sluice_batch_latency_seconds histogram") != std::string::npos);

    // 1.5 us falls in le=2.047e-06; 3 ms in le=0.004194303; 100 s only in +Inf.
    CHECK(samples["sluice_batch_latency_seconds_bucket{" + src + ",le=\"2.047e-06\"}"] == "1");
    CHECK(samples["sluice_batch_latency_seconds_bucket{" + src + ",le=\"0.002097151\"}"] == "1");
    CHECK(samples["sluice_batch_latency_seconds_bucket{" + src + ",le=\"0.004194303\"}"] == "2");
    CHECK(samples["sluice_batch_latency_seconds_bucket{" + src + ",le=\"68.719476735\"}"] == "2");
    CHECK(samples["sluice_batch_latency_seconds_bucket{" + src + ",le=\"137.438953471\"}"] == "3");
    CHECK(samples["sluice_batch_latency_seconds_bucket{" + src + ",le=\"+Inf\"}"] == "3");
    CHECK(samples["sluice_batch_latency_seconds_count{" + src + "}"] == "3");
    CHECK(std::stod(samples["sluice_batch_latency_seconds_sum{" + src + "}"]) ==
          Approx(100.0030015));
    CHECK(samples["sluice_event_latency_seconds_bucket{" + dst + ",le=\"0.008388607\"}"] == "3");
    CHECK(samples["sluice_event_latency_seconds_count{" + dst + "}"] == "3");
    CHECK(samples.count("sluice_event_latency_seconds_count{" + src + "}") == 0);  // sinks only
}

namespace {

/// The dashboard channel the last loaded pipeline called `name` made.
std::shared_ptr<dashboard_channel> channel_of(const std::string& pipeline) {
    const auto channels = dashboard_hub::global().find(pipeline);
    REQUIRE(channels.size() == 1);
    return channels[0];
}

const char* fleet_yaml = R"(
name: dashboard_unit
sources:
  fleet: {type: generator, sensors: 50, count: 20000, rate: 0, seed: 3, anomaly_rate: 0.02, emit: columns}
sinks:
  live: {type: dashboard, inputs: [fleet], history: 20, max_alerts: 100}
  all: {type: blackhole, inputs: [fleet]}
)";

}  // namespace

TEST_CASE("the dashboard sink reads the configured columns of every batch", "[dashboard]") {
    register_builtin_operators();
    pipeline_settings settings;
    auto p = load_pipeline_from_string(fleet_yaml, "dashboard.yaml", {}, settings);
    CHECK_FALSE(settings.dashboard);
    p->run();
    const auto channel = channel_of("dashboard_unit");
    const auto totals = channel->state().totals();
    CHECK(totals.events == 20000);
    CHECK(totals.sensors == 50);
    CHECK(totals.anomalies > 200);  // 2 % of 20000 = 400 expected
    CHECK(totals.anomalies < 700);
    const auto view = channel->view();
    CHECK(view.anomaly_column == "is_anomaly");
    CHECK(view.severity_column.empty());
    std::uint64_t alerts = 0;
    for (const auto* m : p->metrics()) {
        if (m->id == "live") {
            alerts = static_cast<std::uint64_t>(m->extra.value("alerts"));
            CHECK(m->extra.value("sensors") == 50);
        }
    }
    CHECK(alerts == totals.anomalies);
    cursor c;
    delta d;
    REQUIRE(channel->state().read(c, 0, d));
    CHECK(d.alerts.size() == 100);
    CHECK(history_of(channel->state(), "sensor-0001").size() == 20);
}

TEST_CASE("the top-level dashboard key gives the listen address", "[dashboard][config]") {
    register_builtin_operators();
    const std::string yaml =
            "name: t\ndashboard: {listen: '[::1]:9100'}\nsources:\n  raw: {type: generator, count: "
            "1}\n"
            "sinks:\n  out: {type: blackhole, inputs: [raw]}\n";
    pipeline_settings settings;
    load_pipeline_from_string(yaml, "t.yaml", {}, settings);
    REQUIRE(settings.dashboard);
    CHECK(settings.dashboard->host == "::1");
    CHECK(settings.dashboard->port == 9100);
    load_pipeline_from_string(
            "name: t\ndashboard: {}\nsources:\n  raw: {type: generator, count: 1}\n"
            "sinks:\n  out: {type: blackhole, inputs: [raw]}\n",
            "t.yaml",
            {},
            settings);
    REQUIRE(settings.dashboard);
    CHECK(settings.dashboard->host == "127.0.0.1");
    CHECK(settings.dashboard->port == 8080);

    CHECK(parse_listen_address("8081")->port == 8081);
    CHECK(parse_listen_address(":0")->host == "127.0.0.1");
    CHECK(parse_listen_address("localhost:80")->host == "localhost");
    std::string why;
    CHECK_FALSE(parse_listen_address("127.0.0.1:70000", &why));
    CHECK(why == "port 70000 is above 65535");
    CHECK_FALSE(parse_listen_address("::1:80", &why));
    CHECK_FALSE(parse_listen_address("pipeline.yaml"));
}

namespace {

int connect_to(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    return fd;
}

/// One HTTP/1.0 GET; returns the whole response (headers and body).
std::string http_get(int port, const std::string& path) {
    const int fd = connect_to(port);
    const auto request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    REQUIRE(::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
    std::string response;
    char buffer[4096];
    for (int i = 0; i < 10000; ++i) {  // bounded: the server closes after an HTTP/1.0 answer
        const auto n = ::recv(fd, buffer, sizeof(buffer), 0);
        if (n <= 0) {
            break;
        }
        response.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return response;
}

}  // namespace

TEST_CASE("the server answers health, metrics, pages and sensors on a port it chose",
          "[dashboard][http]") {
    register_builtin_operators();
    auto p = load_pipeline_from_string(fleet_yaml, "dashboard.yaml");
    dashboard_server_options options;
    options.port = 0;
    dashboard_server server(*p, options);
    server.start();
    REQUIRE(server.port() > 0);
    CHECK(server.url() == "http://127.0.0.1:" + std::to_string(server.port()) + "/");
    p->run();
    server.mark_finished();

    CHECK(http_get(server.port(), "/healthz").find("\r\n\r\nok\n") != std::string::npos);
    const auto metrics = http_get(server.port(), "/metrics");
    CHECK(metrics.find("text/plain; version=0.0.4") != std::string::npos);
    CHECK(metrics.find(
                  R"(sluice_records_out_total{pipeline="dashboard_unit",operator="live",type="dashboard",role="sink"} 20000)") !=
          std::string::npos);
    CHECK(metrics.find(
                  R"(sluice_dashboard_sensors{pipeline="dashboard_unit",operator="live",type="dashboard",role="sink"} 50)") !=
          std::string::npos);
    const auto page = http_get(server.port(), "/anomalies");
    CHECK(page.find("text/html") != std::string::npos);
    CHECK(page.find("<script src=\"/vendor/uPlot.iife.min.js\">") != std::string::npos);
    CHECK(http_get(server.port(), "/vendor/uPlot.iife.min.js").find("uPlot") != std::string::npos);
    const auto sensor = http_get(server.port(), "/api/sensors/sensor-0007");
    CHECK(sensor.find(R"({"id":"sensor-0007","location":"building-)") != std::string::npos);
    CHECK(http_get(server.port(), "/api/sensors/nobody").find("404") != std::string::npos);
    CHECK(http_get(server.port(), "/nothing-here.js").find("404") != std::string::npos);
    server.stop();
}

TEST_CASE("a browser that never reads its stream holds back neither the pipeline nor stop()",
          "[dashboard][http]") {
    register_builtin_operators();
    const std::string yaml = R"(
name: dashboard_stuck
sources:
  fleet: {type: generator, sensors: 1000, count: 300000, rate: 0, seed: 5, anomaly_rate: 0.01, emit: columns}
sinks:
  live: {type: dashboard, inputs: [fleet]}
)";
    auto p = load_pipeline_from_string(yaml, "stuck.yaml");
    dashboard_server_options options;
    options.port = 0;
    options.frame_interval = std::chrono::milliseconds(100);
    dashboard_server server(*p, options);
    server.start();
    // Several streams that ask for everything and never read a byte: their socket buffers fill.
    std::vector<int> stuck;
    for (int i = 0; i < 4; ++i) {
        const int fd = connect_to(server.port());
        const std::string request =
                "GET /api/stream?watch=sensor-0001 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        REQUIRE(::send(fd, request.data(), request.size(), 0) ==
                static_cast<ssize_t>(request.size()));
        stuck.push_back(fd);
    }
    const auto summary = p->run();
    CHECK(summary.records_written == 300000);
    CHECK(channel_of("dashboard_stuck")->state().totals().events == 300000);
    server.stop();  // returns although four streams are blocked in a write
    for (const int fd : stuck) {
        ::close(fd);
    }
}
