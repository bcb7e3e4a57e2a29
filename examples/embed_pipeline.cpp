// Builds the sensor-analytics pipeline in code, no YAML file: the same logic as
// pipelines/quickstart.yaml (simulator -> json_decode -> three models side by side -> zip ->
// per-sensor recent mean -> severity -> alerts and 1-minute hopping window statistics), with
// sinks of our own that count what arrives.
//
//   embed_pipeline [RECORDS] [MODELS_DIR]        (MODELS_DIR defaults to ./models)
//
// Prints what it counted, and exits 0 if every record was accounted for.
#include <sluice/sluice.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

// A sink of our own: counts rows (and, if the input has it, rows whose `column` is true).
// Sinks run serially unless they say otherwise.
class counting_sink final : public sluice::sink {
public:
    explicit counting_sink(std::string required_column)
        : required_(std::move(required_column)) {}
    void bind(const sluice::schema_ptr& input, sluice::bind_context& ctx) override {
        if (!input->index_of(required_)) {
            ctx.error("", "schema-mismatch", "needs a '" + required_ + "' column");
        }
    }
    void consume(const sluice::batch& input, sluice::operator_context&) override {
        rows += input.num_rows();
    }
    std::size_t rows = 0;

private:
    std::string required_;
};

// Creates a registered operator from option values written as YAML text.
template <typename Operator>
std::unique_ptr<Operator> make(sluice::operator_role role,
                               const std::string& type,
                               const std::string& id,
                               const std::vector<std::pair<std::string, std::string>>& values) {
    const auto* descriptor = sluice::operator_registry::global().find(role, type);
    sluice::build_context build{"embedded"};
    const auto opts = sluice::options::from_values(descriptor->spec, type, id, values);
    if constexpr (std::is_same_v<Operator, sluice::source>) {
        return descriptor->make_source(opts, build);
    } else {
        return descriptor->make_transform(opts, build);
    }
}

}  // namespace

int main(int argc, char** argv) {
    using sluice::operator_role;
    using sluice::transform;
    const std::string records = argc > 1 ? argv[1] : "100000";
    const std::string models = argc > 2 ? argv[2] : "models";
    sluice::register_builtin_operators();
    try {
        sluice::pipeline p("embedded");
        const auto add = [&](const std::string& id,
                             const std::string& type,
                             std::vector<std::string> inputs,
                             const std::vector<std::pair<std::string, std::string>>& options) {
            p.add_transform({id, type, std::move(inputs), {}},
                            make<transform>(operator_role::transform, type, id, options));
        };
        p.add_source({"fleet", "generator", {}, {}},
                     make<sluice::source>(operator_role::source,
                                          "generator",
                                          "fleet",
                                          {{"count", records},
                                           {"sensors", "50"},
                                           {"rate", "0"},
                                           {"emit", "json"},
                                           {"anomaly_rate", "0.02"}}));
        add("parsed",
            "json_decode",
            {"fleet"},
            {{"schema",
              "{sensor_id: string, temperature: float64, humidity: float64, timestamp: "
              "timestamp_ms, "
              "hour_of_day: int64, day_of_week: int64, status_flag: int64, location: string}"}});
        // The three models see the same batch at the same time; zip joins their columns.
        add("status",
            "xgboost",
            {"parsed"},
            {{"model", models + "/status_predictor.json"},
             {"features", "[temperature, humidity, hour_of_day, day_of_week]"}});
        add("anomaly",
            "xgboost",
            {"parsed"},
            {{"model", models + "/anomaly_detector.json"},
             {"features", "[temperature, humidity, hour_of_day]"}});
        add("humidity",
            "xgboost",
            {"parsed"},
            {{"model", models + "/humidity_regressor.json"},
             {"features", "[temperature, hour_of_day, day_of_week]"}});
        add("scored", "zip", {"status", "anomaly", "humidity"}, {});
        add("recent",
            "rolling",
            {"scored"},
            {{"key", "sensor_id"}, {"columns", "[temperature]"}, {"size", "60"}});
        add("enriched",
            "map",
            {"recent"},
            {{"columns",
              "{temperature_deviation: 'coalesce(min(abs(temperature_zscore) / 6.0, 1.0), 0.0)', "
              "severity: '0.7 * anomaly_probability + 0.3 * temperature_deviation', "
              "alert: 'anomaly_label == 1'}"}});
        add("alerts", "filter", {"enriched"}, {{"condition", "alert"}});
        add("stats",
            "window",
            {"enriched"},
            {{"key", "[sensor_id]"},
             {"time", "{column: timestamp, max_out_of_orderness: 10s}"},
             {"window", "{kind: hopping, size: 60s, slide: 30s}"},
             {"aggregates",
              "{temperature_mean: {mean: temperature}, temperature_p95: {quantile: temperature, q: "
              "0.95}, "
              "readings: {count: '*'}}"}});

        auto all = std::make_unique<counting_sink>("severity");
        auto alerts = std::make_unique<counting_sink>("severity");
        auto windows = std::make_unique<counting_sink>("window_id");
        auto* all_rows = all.get();
        auto* alert_rows = alerts.get();
        auto* window_rows = windows.get();
        p.add_sink({"all", "counting", {"enriched"}, {}}, std::move(all));
        p.add_sink({"alert_count", "counting", {"alerts"}, {}}, std::move(alerts));
        p.add_sink({"window_count", "counting", {"stats"}, {}}, std::move(windows));

        const auto summary = p.run();
        std::printf(
                "read %llu readings: %zu scored, %zu alerts, %zu per-sensor windows, %llu "
                "rejected\n",
                static_cast<unsigned long long>(summary.records_read),
                all_rows->rows,
                alert_rows->rows,
                window_rows->rows,
                static_cast<unsigned long long>(summary.records_rejected));
        const bool all_accounted =
                summary.records_read == all_rows->rows + summary.records_rejected;
        return all_accounted && alert_rows->rows > 0 && window_rows->rows > 0 ? EXIT_SUCCESS
                                                                              : EXIT_FAILURE;
    } catch (const sluice::config_error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
}
