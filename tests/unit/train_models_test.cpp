// `sluice train`'s library side: training specs, splits, metrics, cards, the three shipped
// models retrained from their specs, and a model trained on real data (UCI Occupancy).

#include <sluice/ops/xgboost.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>

using namespace sluice;
using namespace sluice::ml;
namespace fs = std::filesystem;

namespace {

fs::path scratch_dir() {
    const auto dir = fs::temp_directory_path() / ("sluice_train_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// A number from a card's JSON text: `"key": 0.123`.
double card_number(const std::string& json, const std::string& key) {
    std::smatch m;
    const std::regex pattern("\"" + key + "\": ([-0-9.eE]+)");
    REQUIRE(std::regex_search(json, m, pattern));
    return std::stod(m[1].str());
}

training_spec shipped_spec(const std::string& name) {
    auto spec = load_training_spec(
            (fs::path(SLUICE_SOURCE_DIR) / "models" / (name + ".train.yaml")).string());
    spec.model_path = (scratch_dir() / (name + ".json")).string();
    spec.card_path = (scratch_dir() / (name + ".card")).string();
    return spec;
}

std::string shipped_card(const std::string& name) {
    return read_text(fs::path(SLUICE_SOURCE_DIR) / "models" / (name + ".card.json"));
}

/// The data folder: $SLUICE_DATA_DIR, else ../shared/data beside the source tree.
fs::path data_dir() {
    if (const char* dir = std::getenv("SLUICE_DATA_DIR"); dir != nullptr && *dir != '\0') {
        return dir;
    }
    ::setenv("SLUICE_DATA_DIR", SLUICE_DEFAULT_DATA_DIR, 0);  // for ${SLUICE_DATA_DIR} in specs
    return SLUICE_DEFAULT_DATA_DIR;
}

}  // namespace

TEST_CASE("classification metrics follow their definitions", "[train][metrics]") {
    // truth:     0 0 1 1 1 0
    // predicted: 0 1 1 1 0 0  -> tp 2, fp 1, fn 1, tn 2
    const std::vector<std::int64_t> truth{0, 0, 1, 1, 1, 0};
    const std::vector<std::int64_t> guess{0, 1, 1, 1, 0, 0};
    const auto m = classify_metrics(truth, guess, 2);
    CHECK(m.accuracy == Approx(4.0 / 6));
    CHECK(m.precision == Approx(2.0 / 3));
    CHECK(m.recall == Approx(2.0 / 3));
    CHECK(m.f1 == Approx(2.0 / 3));
    CHECK(m.confusion == std::vector<std::vector<std::size_t>>{{2, 1}, {1, 2}});
    // Three classes: macro averages; class 2 is never predicted (precision 0).
    const auto k = classify_metrics(
            std::vector<std::int64_t>{0, 1, 2, 2}, std::vector<std::int64_t>{0, 1, 1, 0}, 3);
    CHECK(k.accuracy == Approx(0.5));
    CHECK(k.precision == Approx((1.0 / 2 + 1.0 / 2 + 0) / 3));
    CHECK(k.recall == Approx((1.0 + 1.0 + 0) / 3));
    CHECK(k.confusion[2] == std::vector<std::size_t>{1, 1, 0});
}

TEST_CASE("regression metrics follow their definitions", "[train][metrics]") {
    const std::vector<double> truth{1, 2, 3, 4};
    const std::vector<double> guess{1, 3, 3, 2};  // errors 0, 1, 0, -2
    const auto m = regress_metrics(truth, guess);
    CHECK(m.rmse == Approx(std::sqrt(5.0 / 4)));
    CHECK(m.mae == Approx(3.0 / 4));
    CHECK(m.r2 == Approx(1 - 5.0 / 5));  // SST = 2.25+0.25+0.25+2.25 = 5
}

TEST_CASE("the shipped models retrain from their specs to the metrics in their cards",
          "[train][models]") {
    SECTION("status_predictor: a random forest of 20 trees per class") {
        const auto spec = shipped_spec("status_predictor");
        std::size_t rounds_seen = 0;
        const auto r = train_model(spec,
                                   load_training_table(spec),
                                   [&](std::size_t round, std::size_t, const std::string& eval) {
                                       ++rounds_seen;
                                       CHECK(round == rounds_seen);
                                       CHECK_THAT(eval, Catch::Contains("test-mlogloss"));
                                   });
        CHECK(rounds_seen == 1);
        REQUIRE(r.classification);
        CHECK(r.info.num_trees == 60);
        CHECK(r.classification->accuracy >= 0.90);
        CHECK(r.classification->f1 >= 0.85);
        CHECK(r.classification->accuracy ==
              Approx(card_number(shipped_card("status_predictor"), "accuracy")).margin(0.005));
    }
    SECTION("anomaly_detector: L2 logistic regression") {
        const auto spec = shipped_spec("anomaly_detector");
        const auto r = train_model(spec, load_training_table(spec));
        REQUIRE(r.classification);
        CHECK(r.info.booster == "gblinear");
        // Spikes are 10 % of the data: beat the 90 % of always answering "normal".
        CHECK(r.classification->accuracy >= 0.93);
        CHECK(r.classification->precision >= 0.9);
        CHECK(r.classification->recall >= 0.4);
        CHECK(r.classification->accuracy ==
              Approx(card_number(shipped_card("anomaly_detector"), "accuracy")).margin(0.005));
    }
    SECTION("humidity_regressor: 10 boosted trees") {
        const auto spec = shipped_spec("humidity_regressor");
        // Progress is reported once per boosting round, in order, with XGBoost's eval line.
        std::vector<std::size_t> rounds_seen;
        const auto r =
                train_model(spec,
                            load_training_table(spec),
                            [&](std::size_t round, std::size_t rounds, const std::string& eval) {
                                rounds_seen.push_back(round);
                                CHECK(rounds == 10);
                                CHECK_THAT(eval, Catch::Contains("test-rmse"));
                            });
        CHECK(rounds_seen == std::vector<std::size_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
        REQUIRE(r.regression);
        CHECK(r.info.num_trees == 10);
        CHECK(r.regression->rmse <= 8.0);
        CHECK(r.regression->r2 >= 0.1);
        CHECK(r.regression->rmse ==
              Approx(card_number(shipped_card("humidity_regressor"), "rmse")).margin(0.05));
    }
}

TEST_CASE("a model trained on real data (UCI Occupancy) predicts its separate test file",
          "[train][real-data]") {
    const auto folder = data_dir() / "uci-occupancy";
    INFO("UCI Occupancy data expected in " << folder << " (set SLUICE_DATA_DIR)");
    REQUIRE(fs::exists(folder / "datatraining.txt"));
    auto spec = shipped_spec("occupancy_detector");
    REQUIRE(fs::path(spec.data.path) == folder / "datatraining.txt");
    const auto table = load_training_table(spec);
    CHECK(table.rows() == 8143);
    const auto r = train_model(spec, table);
    REQUIRE(r.classification);
    CHECK(r.classification->accuracy >= 0.95);
    write_model_card(spec, r);
    CHECK_THAT(read_text(spec.card_path + ".md"), Catch::Contains("Candanedo"));

    // datatest.txt was never seen in training: predict it with both backends.
    auto test_spec = spec;
    test_spec.data.path = (folder / "datatest.txt").string();
    const auto test = load_training_table(test_spec);
    CHECK(test.rows() == 2665);
    for (const auto backend : {prediction_backend::xgboost, prediction_backend::native}) {
        const auto p = load_predictor(spec.model_path, backend);
        std::vector<float> probability(test.rows());
        p->predict(test.values, test.rows(), probability);
        std::size_t correct = 0;
        for (std::size_t i = 0; i < test.rows(); ++i) {
            correct += (probability[i] >= 0.5F ? 1.0F : 0.0F) == test.labels[i] ? 1 : 0;
        }
        const double accuracy = static_cast<double>(correct) / static_cast<double>(test.rows());
        INFO(to_string(backend) << " accuracy on datatest.txt " << accuracy);
        CHECK(accuracy >= 0.95);
    }
}

TEST_CASE("splits hold out the requested share, by time or seeded at random", "[train]") {
    training_spec spec;
    spec.name = "split";
    spec.data.rows = 5'000;
    spec.features = {"temperature"};
    spec.label = "humidity";
    spec.rounds = 2;
    spec.params = {{"objective", "reg:squarederror"}, {"nthread", "1"}, {"max_depth", "2"}};
    spec.model_path = (scratch_dir() / "split.json").string();
    spec.split.test_fraction = 0.3;
    const auto table = load_training_table(spec);
    const auto by_time = train_model(spec, table);
    CHECK(by_time.test_rows == 1500);
    CHECK(by_time.train_rows == 3500);
    spec.split.method = split_spec::kind::random;
    spec.split.seed = 11;
    const auto a = train_model(spec, table);
    const auto b = train_model(spec, table);
    spec.split.seed = 12;
    const auto c = train_model(spec, table);
    CHECK(a.test_rows == 1500);
    CHECK(a.regression->rmse == b.regression->rmse);  // same seed, same split
    CHECK(a.regression->rmse != c.regression->rmse);  // another seed, other rows held out
}

TEST_CASE("the model card lists features, rows, parameters and metrics beside the reference",
          "[train][card]") {
    auto spec = shipped_spec("humidity_regressor");
    spec.data.rows = 4'000;
    const auto r = train_model(spec, load_training_table(spec));
    write_model_card(spec, r);
    const auto md = read_text(spec.card_path + ".md");
    CHECK_THAT(md, Catch::Contains("# Model card: humidity_regressor"));
    CHECK_THAT(md, Catch::Contains("| features | `temperature`, `hour_of_day`, `day_of_week` |"));
    CHECK_THAT(md, Catch::Contains("| rows | 3200 train, 800 held out |"));
    CHECK_THAT(md, Catch::Contains("objective=reg:squarederror"));
    CHECK_THAT(md, Catch::Contains("| metric | ours | reference |"));
    CHECK_THAT(md, Catch::Contains("2.300 (old stack, on its own simulated data)"));
    const auto json = read_text(spec.card_path + ".json");
    CHECK(card_number(json, "rmse") == Approx(r.regression->rmse).margin(1e-5));
    CHECK_THAT(json,
               Catch::Contains(
                       "\"reference\": [{\"metric\": \"rmse\", \"reference\": 2.3, \"ours\": "));
}

TEST_CASE("bad training specs and data name the file and the place", "[train]") {
    const auto dir = scratch_dir();
    const auto spec_path = (dir / "bad.train.yaml").string();
    std::ofstream(spec_path) << "name: x\nlabel: y\nfeatures: [a]\ndata: {source: simulator, "
                                "colour: red}\noutput: {model: m.json}\n";
    try {
        load_training_spec(spec_path);
        FAIL("no error");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) ==
              spec_path +
                      ":4:27: error: 'data' has no field 'colour' (fields: path, rows, "
                      "simulator, source, time_column)");
    }
    const auto csv = (dir / "bad.csv").string();
    std::ofstream(csv) << "a,b,label\n1,2,0\n3,oops,1\n";
    training_spec spec;
    spec.data.type = training_source::kind::csv;
    spec.data.path = csv;
    spec.data.time_column = "";
    spec.data.rows = 0;
    spec.features = {"a", "b"};
    spec.label = "label";
    CHECK_THROWS_WITH(load_training_table(spec), csv + ":3: column 'b' holds 'oops', not a number");
    spec.features = {"a", "c"};
    CHECK_THROWS_WITH(load_training_table(spec), csv + ": no column 'c' (columns: a, b, label)");
    spec.params = {{"objective", "rank:pairwise"}};
    spec.features = {"a"};
    CHECK_THROWS_WITH(
            train_model(spec, training_table{{"a"}, {1, 2}, {0, 1}, {1, 2}}),
            Catch::Contains(
                    "objective 'rank:pairwise' makes models the xgboost operator cannot use"));
}

TEST_CASE("NDJSON training data reads nulls as missing and ISO times", "[train]") {
    const auto path = (scratch_dir() / "rows.ndjson").string();
    {
        std::ofstream out(path);
        for (int i = 0; i < 200; ++i) {
            out << "{\"t\":\"2026-01-01T00:" << (i / 60 < 10 ? "0" : "") << i / 60 << ":"
                << (i % 60 < 10 ? "0" : "") << i % 60
                << "Z\",\"x\":" << (i % 7 == 0 ? "null" : std::to_string(i))
                << ",\"ok\":" << (i % 2 ? "true" : "false") << "}\n";
        }
    }
    training_spec spec;
    spec.data.type = training_source::kind::ndjson;
    spec.data.path = path;
    spec.data.time_column = "t";
    spec.data.rows = 0;
    spec.features = {"x"};
    spec.label = "ok";
    const auto t = load_training_table(spec);
    REQUIRE(t.rows() == 200);
    CHECK(std::isnan(t.values[0]));
    CHECK(t.values[1] == 1.0F);
    CHECK(t.labels[1] == 1.0F);
    CHECK(t.times[61] - t.times[0] == 61'000);
}
