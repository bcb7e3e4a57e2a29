#pragma once

// The `xgboost` transform and its YAML-free C++ API: loading an XGBoost model, predicting
// with XGBoost's own predictor or with the compiled forest, training with the XGBoost C API,
// held-out metrics and model cards. Nothing here includes XGBoost, yaml-cpp or simdjson.

#include <sluice/operator/operator.hpp>
#include <sluice/ops/generator.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

class operator_registry;

/// Registers the `xgboost` transform.
void register_xgboost_operators(operator_registry& registry);

namespace ml {

/// A model file that cannot be used: missing, unreadable, corrupt, not an XGBoost model, or
/// of a kind this module does not support. The message names the file.
class model_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What a model predicts, derived from its objective.
enum class model_task {
    binary,      ///< binary:logistic: one probability per row
    multiclass,  ///< multi:softprob / multi:softmax: one probability per class
    regression,  ///< reg:*, count:poisson (identity, sigmoid or exp link): one value per row
};

/// Which predictor evaluates the model.
enum class prediction_backend {
    xgboost,  ///< XGBoost's own predictor through the C API
    native,   ///< the compiled forest (or a dot product for gblinear)
};

/// What a model file holds, read once at load time.
struct model_info {
    std::string path;                          ///< the file as given
    std::string objective;                     ///< e.g. "binary:logistic"
    std::string booster;                       ///< "gbtree", "gblinear" or "dart"
    model_task task = model_task::regression;  ///< derived from `objective`
    std::size_t num_features = 0;              ///< columns the model expects
    std::vector<std::string> feature_names;    ///< empty if the model was saved without names
    std::size_t num_classes = 1;               ///< > 1 only for multiclass
    double base_score = 0.5;                   ///< as stored (probability space for logistic)
    std::size_t num_trees = 0;                 ///< all trees (0 for gblinear)
    std::size_t num_parallel_tree = 1;         ///< trees per class per round (random forest > 1)
    std::size_t max_depth = 0;                 ///< deepest tree found (0 for gblinear)
};

/// The outputs per row of a model: num_classes for multiclass, else 1.
std::size_t outputs_per_row(const model_info& info) noexcept;

/// Short spellings for messages and cards: "binary", "multiclass", "regression".
std::string_view to_string(model_task task) noexcept;
std::string_view to_string(prediction_backend backend) noexcept;

/// A loaded model that predicts transformed outputs (probabilities or values) for a
/// row-major float matrix, NaN = missing.
///
/// Thread-safety: `predict` may be called from any number of threads at once. The XGBoost
/// backend keeps a pool of boosters, one per concurrent caller (each loaded from the same
/// bytes, each using one OpenMP thread unless `threads` says otherwise), because XGBoost 1.7
/// documents concurrent prediction only for some tree methods and never for gblinear; the
/// native backend is immutable after construction.
class predictor {
public:
    virtual ~predictor() = default;
    const model_info& info() const noexcept { return info_; }
    prediction_backend backend() const noexcept { return backend_; }

    /// Predicts `rows` rows of `info().num_features` floats each (`values.size()` must be
    /// rows * num_features) into `out` (rows * outputs_per_row(info()), row-major): the
    /// probability of class 1 (binary), per-class probabilities (multiclass) or the value
    /// (regression), computed as XGBoost does in float. NaN is a missing value. For gblinear
    /// models +-inf is clamped to +-FLT_MAX in both backends (XGBoost refuses infinities in the
    /// DMatrix its linear predictor needs). Throws model_error if XGBoost fails.
    virtual void predict(std::span<const float> values,
                         std::size_t rows,
                         std::span<float> out) const = 0;

protected:
    predictor(model_info info, prediction_backend backend)
        : info_(std::move(info))
        , backend_(backend) {}

private:
    model_info info_;
    prediction_backend backend_;
};

/// Loads an XGBoost model file (JSON or UBJSON, as saved by any XGBoost >= 1.0 binding)
/// for `backend`. `threads` is XGBoost's `nthread` per booster (xgboost backend only).
/// Throws model_error naming the file if it is missing, corrupt, of an unsupported objective
/// (supported: binary:logistic, multi:softprob, multi:softmax, reg:squarederror, reg:logistic,
/// reg:squaredlogerror, reg:pseudohubererror, reg:absoluteerror, count:poisson, reg:gamma,
/// reg:tweedie) or, for the native backend, is a dart model or uses categorical splits.
std::unique_ptr<predictor> load_predictor(const std::string& path,
                                          prediction_backend backend,
                                          int threads = 1);

/// Reads only the model's metadata (same errors as `load_predictor`).
model_info read_model_info(const std::string& path);

/// Options of the `xgboost` transform (what its YAML mapping holds).
struct xgboost_config {
    std::string model;  ///< model file (JSON or UBJSON), relative to the working directory
    /// Input column -> model feature name, in any order. An empty feature name means "by
    /// position": the i-th entry feeds the model's i-th feature (models saved without names).
    std::vector<std::pair<std::string, std::string>> features;
    prediction_backend backend = prediction_backend::xgboost;  ///< which predictor
    double threshold = 0.5;     ///< binary: label = 1 when probability >= threshold, 0..1
    std::string output_prefix;  ///< prefix of the default output names
    /// Explicit output names (overrides the prefix): binary [probability, label]; multiclass
    /// [class, probability of class 0, ...]; regression [value].
    std::vector<std::string> outputs;
    int threads = 1;  ///< XGBoost's nthread per booster (xgboost backend), >= 1
};

/// Makes an `xgboost` transform: loads the model and checks `config.features` against it.
/// Outputs, appended after the input columns:
/// - binary: `<prefix>probability` float64 and `<prefix>label` int64;
/// - multiclass: `<prefix>class` int64 (the most probable class, first on ties) and
///   `<prefix>probability_<k>` float64 per class k;
/// - regression: `<prefix>value` float64.
/// Input columns may be float64, int64 or bool (converted to float, as XGBoost reads them);
/// a null reaches the model as missing (NaN). Every batch is predicted in one call.
/// Thread-safety: parallel (see `predictor`). Throws model_error for an unusable model file
/// and std::invalid_argument for features or outputs that do not fit the model; the
/// registered factory turns both into config_error diagnostics at build time.
std::unique_ptr<transform> make_xgboost_transform(xgboost_config config, const std::string& id);

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

/// Held-out metrics of a classifier. Binary: precision/recall/F1 of class 1. Multiclass:
/// macro averages over classes (a class never predicted has precision 0).
struct classification_metrics {
    std::size_t rows = 0;
    std::size_t classes = 0;
    double accuracy = 0;
    double precision = 0;
    double recall = 0;
    double f1 = 0;
    std::vector<std::vector<std::size_t>> confusion;  ///< [true class][predicted class]
};

/// Held-out metrics of a regressor.
struct regression_metrics {
    std::size_t rows = 0;
    double rmse = 0;
    double mae = 0;
    double r2 = 0;  ///< 1 - SSE/SST; 0 when the truth is constant
};

/// `truth` and `predicted` hold class indices 0..classes-1 (values outside are counted as
/// wrong but not in the confusion matrix). Precondition: equal sizes.
classification_metrics classify_metrics(std::span<const std::int64_t> truth,
                                        std::span<const std::int64_t> predicted,
                                        std::size_t classes);
regression_metrics regress_metrics(std::span<const double> truth,
                                   std::span<const double> predicted);

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

/// Where training rows come from.
struct training_source {
    enum class kind {
        simulator,
        ndjson,
        csv
    };
    kind type = kind::simulator;            ///< which reader
    std::string path;                       ///< ndjson/csv file
    simulator_config simulator;             ///< simulator settings
    std::size_t rows = 100'000;             ///< simulator: readings to draw; files: 0 = all
    std::string time_column = "timestamp";  ///< column holding event time (ms or ISO-8601)
};

/// How rows are split into training and held-out test rows.
struct split_spec {
    enum class kind {
        time,
        random
    };
    kind method = kind::time;    ///< time: the latest `test_fraction` of event time is held out
    double test_fraction = 0.2;  ///< share of rows held out, 0 < f < 1
    std::uint64_t seed = 7;      ///< random split: seeds the shuffle
};

/// Metrics another system reported for the same task, shown beside ours in the card.
struct reference_metric {
    std::string name;   ///< "accuracy", "rmse", ...
    double value = 0;   ///< as reported
    std::string where;  ///< who reported it
};

/// Everything `sluice train` needs (read from a YAML spec by `load_training_spec`).
struct training_spec {
    std::string name;                   ///< model name, e.g. "status_predictor"
    std::string description;            ///< one line for the card
    training_source data;               ///< training rows
    std::vector<std::string> features;  ///< input columns, in model order
    std::string label;                  ///< label column (int, bool or float)
    std::size_t rounds = 10;            ///< boosting rounds, >= 1
    std::vector<std::pair<std::string, std::string>> params;  ///< XGBoost parameters, in order
    split_spec split;                                         ///< held-out rows
    std::string model_path;                   ///< where the model is written (.json or .ubj)
    std::string card_path;                    ///< card base path: writes <card_path>.json and .md
    std::vector<reference_metric> reference;  ///< the old stack's numbers, if any
    std::vector<std::string> notes;  ///< paragraphs for the card (differences, attribution)
    double threshold = 0.5;          ///< binary: probability at or above which label = 1
};

/// Reads a training spec (YAML). Relative paths inside it are kept as written. Throws
/// std::runtime_error with "file:line:col: message" on a bad spec.
training_spec load_training_spec(const std::string& path);

/// Rows loaded for training: features row-major (NaN = missing), labels and event times.
struct training_table {
    std::vector<std::string> features;
    std::vector<float> values;        ///< rows * features.size()
    std::vector<float> labels;        ///< one per row
    std::vector<std::int64_t> times;  ///< event time per row (ms), for the time split
    std::size_t rows() const noexcept { return labels.size(); }
};

/// Loads the rows `spec` describes. Throws std::runtime_error naming the file and line on
/// unreadable input or a missing column; a row whose label is missing is an error too.
training_table load_training_table(const training_spec& spec);

/// The result of a training run.
struct training_result {
    model_info info;
    std::size_t train_rows = 0;
    std::size_t test_rows = 0;
    std::optional<classification_metrics> classification;
    std::optional<regression_metrics> regression;
    std::vector<std::pair<std::size_t, std::string>> evaluation_log;  ///< round, XGBoost eval line
    double seconds = 0;  ///< wall time of the boosting rounds
};

/// Called after each boosting round with the round (1-based), the total and XGBoost's eval
/// line ("[0]\ttrain-mlogloss:... \ttest-mlogloss:...").
using progress_callback =
        std::function<void(std::size_t round, std::size_t rounds, const std::string& eval)>;

/// Trains `spec` on `table` with the XGBoost C API, writes the model to `spec.model_path`,
/// evaluates on the held-out rows (with XGBoost's predictor) and returns the result. Does not
/// write the card. Throws std::runtime_error on an XGBoost error or an unusable label.
training_result train_model(const training_spec& spec,
                            const training_table& table,
                            const progress_callback& progress = {});

/// Writes `<spec.card_path>.json` and `<spec.card_path>.md`. Throws std::runtime_error if a
/// file cannot be written.
void write_model_card(const training_spec& spec, const training_result& result);

/// The card's Markdown text (what `write_model_card` writes to the .md file).
std::string model_card_markdown(const training_spec& spec, const training_result& result);
/// The card's JSON text.
std::string model_card_json(const training_spec& spec, const training_result& result);

}  // namespace ml
}  // namespace sluice
