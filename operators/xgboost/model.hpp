#pragma once

// Internal: an XGBoost model parsed into plain arrays (from XGBoost's own JSON dump of the
// loaded booster), shared by both backends and the trainer. Includes the XGBoost C API, so
// only .cpp files of this folder include it.

#include <sluice/ops/xgboost.hpp>

#include <xgboost/c_api.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::ml::detail {

/// How margins become outputs.
enum class link_function {
    identity,
    sigmoid,
    softmax,
    exponential
};

/// One tree as XGBoost stores it (node i: children, split feature and condition; a leaf has
/// left == -1 and its value in `value`).
struct tree_arrays {
    std::vector<std::int32_t> left;
    std::vector<std::int32_t> right;
    std::vector<std::int32_t> feature;
    std::vector<float> condition;  ///< split threshold (go left if x < condition)
    std::vector<std::uint8_t> default_left;
    std::vector<float> value;   ///< leaf value (leaves only)
    std::uint32_t group = 0;    ///< output group (class) the tree adds to
    std::size_t depth() const;  ///< edges on the longest root-to-leaf path
};

/// A parsed model: metadata, link, base margin, and trees or linear weights.
struct parsed_model {
    model_info info;
    link_function link = link_function::identity;
    std::size_t groups = 1;             ///< margins per row (num_classes for multiclass)
    float base_margin = 0;              ///< base_score moved to margin space, as XGBoost does
    std::vector<tree_arrays> trees;     ///< gbtree
    std::vector<float> linear_weights;  ///< gblinear: (num_features + 1) * groups, bias last
    bool has_categorical = false;       ///< some split is categorical (native backend refuses)
};

/// Throws model_error("<what>: <XGBoost's last error>") when `rc` != 0.
void check_xgb(int rc, const std::string& what);

/// An owned BoosterHandle.
class booster {
public:
    booster();
    ~booster();
    booster(const booster&) = delete;
    booster& operator=(const booster&) = delete;
    booster(booster&& other) noexcept
        : handle_(other.handle_) {
        other.handle_ = nullptr;
    }
    booster& operator=(booster&&) = delete;
    BoosterHandle get() const noexcept { return handle_; }

private:
    BoosterHandle handle_ = nullptr;
};

/// An owned DMatrixHandle.
class dmatrix {
public:
    /// A dense matrix of `rows` x `cols` floats, NaN = missing.
    dmatrix(const float* values, std::size_t rows, std::size_t cols);
    ~dmatrix();
    dmatrix(const dmatrix&) = delete;
    dmatrix& operator=(const dmatrix&) = delete;
    dmatrix(dmatrix&&) = delete;
    dmatrix& operator=(dmatrix&&) = delete;
    DMatrixHandle get() const noexcept { return handle_; }

private:
    DMatrixHandle handle_ = nullptr;
};

/// The file's bytes; throws model_error naming the file if it cannot be read or is empty.
std::string read_model_bytes(const std::string& path);

/// Loads `bytes` (JSON or UBJSON) into `target`; throws model_error naming `path`.
void load_booster(const booster& target, const std::string& bytes, const std::string& path);

/// Parses a loaded booster (through its JSON serialisation). Throws model_error naming
/// `path` for unsupported objectives or boosters, or an inconsistent model.
parsed_model parse_booster(const booster& loaded, const std::string& path);

/// True if the operator can use a model with this objective (the list in load_predictor's doc).
bool objective_supported(std::string_view objective) noexcept;

/// The margin a model starts from: base_score through the inverse link.
float base_margin_of(double base_score, link_function link);

/// Applies `link` to `groups` margins per row, in place, in float as XGBoost does.
void apply_link(link_function link, std::size_t groups, float* values, std::size_t rows);

}  // namespace sluice::ml::detail
