// Training with the XGBoost C API: split, boost round by round, save, evaluate held-out rows.

#include "model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

namespace sluice::ml {

namespace {

using detail::check_xgb;

std::string param_or(const training_spec& spec, std::string_view key, std::string fallback) {
    for (const auto& [k, v] : spec.params) {
        if (k == key) {
            return v;
        }
    }
    return fallback;
}

struct split_rows {
    std::vector<std::size_t> train;
    std::vector<std::size_t> test;
};

split_rows split(const training_spec& spec, const training_table& table) {
    std::vector<std::size_t> order(table.rows());
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (spec.split.method == split_spec::kind::time) {
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return table.times[a] < table.times[b];
        });
    } else {
        std::mt19937_64 rng(spec.split.seed);
        std::shuffle(order.begin(), order.end(), rng);
    }
    const auto test = std::clamp<std::size_t>(
            static_cast<std::size_t>(
                    std::llround(spec.split.test_fraction * static_cast<double>(order.size()))),
            1,
            order.size() - 1);
    split_rows s;
    // Time split: the latest rows are held out. Random split: the first shuffled rows.
    if (spec.split.method == split_spec::kind::time) {
        s.train.assign(order.begin(), order.end() - static_cast<std::ptrdiff_t>(test));
        s.test.assign(order.end() - static_cast<std::ptrdiff_t>(test), order.end());
    } else {
        s.test.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(test));
        s.train.assign(order.begin() + static_cast<std::ptrdiff_t>(test), order.end());
    }
    return s;
}

struct matrix {
    std::vector<float> values;
    std::vector<float> labels;
};

matrix gather(const training_table& table, const std::vector<std::size_t>& rows) {
    const std::size_t f = table.features.size();
    matrix m;
    m.values.reserve(rows.size() * f);
    m.labels.reserve(rows.size());
    for (const auto r : rows) {
        m.values.insert(m.values.end(),
                        table.values.begin() + static_cast<std::ptrdiff_t>(r * f),
                        table.values.begin() + static_cast<std::ptrdiff_t>((r + 1) * f));
        m.labels.push_back(table.labels[r]);
    }
    return m;
}

void set_names(DMatrixHandle d, const std::vector<std::string>& names) {
    std::vector<const char*> raw;
    raw.reserve(names.size());
    for (const auto& n : names) {
        raw.push_back(n.c_str());
    }
    check_xgb(XGDMatrixSetStrFeatureInfo(d, "feature_name", raw.data(), raw.size()),
              "cannot set feature names");
}

}  // namespace

training_result train_model(const training_spec& spec,
                            const training_table& table,
                            const progress_callback& progress) {
    if (spec.rounds == 0) {
        throw std::runtime_error("rounds must be at least 1");
    }
    const std::string objective = param_or(spec, "objective", "reg:squarederror");
    if (!detail::objective_supported(objective)) {
        throw std::runtime_error(
                fmt::format("objective '{}' makes models the xgboost operator cannot use "
                            "(binary:logistic, multi:softprob, "
                            "multi:softmax, reg:squarederror, reg:logistic, count:poisson, "
                            "reg:gamma, reg:tweedie, ...)",
                            objective));
    }
    const bool multiclass = objective.rfind("multi:", 0) == 0;
    const bool binary = objective == "binary:logistic";
    std::size_t classes = 0;
    if (multiclass || binary) {
        float top = 0;
        for (const float l : table.labels) {
            if (!(l >= 0) || l != std::floor(l)) {
                throw std::runtime_error(fmt::format(
                        "label '{}' holds {}, not a class index 0, 1, 2, ...", spec.label, l));
            }
            top = std::max(top, l);
        }
        classes = binary ? 2 : static_cast<std::size_t>(top) + 1;
        if (binary && top > 1) {
            throw std::runtime_error(fmt::format(
                    "binary:logistic needs labels 0 and 1; '{}' holds {}", spec.label, top));
        }
        const auto given = param_or(spec, "num_class", "");
        if (multiclass && !given.empty()) {
            classes = std::max<std::size_t>(classes, std::stoul(given));
        }
    }

    const auto rows = split(spec, table);
    const auto train = gather(table, rows.train);
    const auto test = gather(table, rows.test);
    const std::size_t f = table.features.size();
    detail::dmatrix dtrain(train.values.data(), rows.train.size(), f);
    detail::dmatrix dtest(test.values.data(), rows.test.size(), f);
    check_xgb(
            XGDMatrixSetFloatInfo(dtrain.get(), "label", train.labels.data(), train.labels.size()),
            "cannot set labels");
    check_xgb(XGDMatrixSetFloatInfo(dtest.get(), "label", test.labels.data(), test.labels.size()),
              "cannot set labels");
    set_names(dtrain.get(), table.features);
    set_names(dtest.get(), table.features);

    DMatrixHandle both[2] = {dtrain.get(), dtest.get()};
    BoosterHandle handle = nullptr;
    check_xgb(XGBoosterCreate(both, 2, &handle), "cannot create a booster");
    const std::unique_ptr<void, int (*)(BoosterHandle)> owner(handle, &XGBoosterFree);
    for (const auto& [k, v] : spec.params) {
        check_xgb(XGBoosterSetParam(handle, k.c_str(), v.c_str()),
                  fmt::format("parameter {}={}", k, v));
    }
    // XGBoost 1.7 starts every model at base_score 0.5: far from a regression target such as
    // humidity (about 45), which ten rounds cannot make up. Start at the training mean instead
    // unless the spec sets base_score (XGBoost 2 does this by itself).
    if (!multiclass && !binary && param_or(spec, "base_score", "").empty() &&
        (objective == "reg:squarederror" || objective == "reg:pseudohubererror" ||
         objective == "reg:absoluteerror")) {
        double mean = 0;
        for (const float l : train.labels) {
            mean += l;
        }
        mean /= static_cast<double>(train.labels.size());
        const auto text = fmt::format("{}", static_cast<float>(mean));
        check_xgb(XGBoosterSetParam(handle, "base_score", text.c_str()), "parameter base_score");
    }
    if (multiclass && param_or(spec, "num_class", "").empty()) {
        const auto n = std::to_string(classes);
        check_xgb(XGBoosterSetParam(handle, "num_class", n.c_str()), "parameter num_class");
    }

    training_result result;
    result.train_rows = rows.train.size();
    result.test_rows = rows.test.size();
    const char* names[2] = {"train", "test"};
    const auto started = std::chrono::steady_clock::now();
    for (std::size_t round = 0; round < spec.rounds; ++round) {
        check_xgb(XGBoosterUpdateOneIter(handle, static_cast<int>(round), dtrain.get()),
                  fmt::format("boosting round {} failed", round + 1));
        const char* eval = nullptr;
        check_xgb(XGBoosterEvalOneIter(handle, static_cast<int>(round), both, names, 2, &eval),
                  "evaluation failed");
        result.evaluation_log.emplace_back(round + 1, eval);
        if (progress) {
            progress(round + 1, spec.rounds, eval);
        }
    }
    result.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    std::vector<const char*> feature_names;
    for (const auto& n : table.features) {
        feature_names.push_back(n.c_str());
    }
    check_xgb(XGBoosterSetStrFeatureInfo(
                      handle, "feature_name", feature_names.data(), feature_names.size()),
              "cannot set feature names");
    check_xgb(XGBoosterSaveModel(handle, spec.model_path.c_str()),
              fmt::format("cannot write '{}'", spec.model_path));

    // Held-out predictions with XGBoost's own predictor, as the operator's default backend.
    const bst_ulong* shape = nullptr;
    bst_ulong dims = 0;
    const float* predicted = nullptr;
    check_xgb(
            XGBoosterPredictFromDMatrix(
                    handle,
                    dtest.get(),
                    R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false})",
                    &shape,
                    &dims,
                    &predicted),
            "held-out prediction failed");
    const std::size_t n = rows.test.size();
    if (multiclass || binary) {
        std::vector<std::int64_t> truth(n);
        std::vector<std::int64_t> guess(n);
        const bool probabilities = objective != "multi:softmax";
        for (std::size_t i = 0; i < n; ++i) {
            truth[i] = static_cast<std::int64_t>(test.labels[i]);
            if (binary) {
                guess[i] = predicted[i] >= spec.threshold ? 1 : 0;
            } else if (probabilities) {
                const float* p = predicted + i * classes;
                guess[i] = std::max_element(p, p + classes) - p;
            } else {
                guess[i] = static_cast<std::int64_t>(predicted[i]);
            }
        }
        result.classification = classify_metrics(truth, guess, classes);
    } else {
        std::vector<double> truth(n);
        std::vector<double> guess(n);
        for (std::size_t i = 0; i < n; ++i) {
            truth[i] = test.labels[i];
            guess[i] = predicted[i];
        }
        result.regression = regress_metrics(truth, guess);
    }
    result.info = read_model_info(spec.model_path);
    return result;
}

}  // namespace sluice::ml
