// The two backends behind `predictor`: XGBoost's own predictor (a pool of boosters) and the
// compiled forest / native gblinear.

#include "forest.hpp"
#include "model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

namespace sluice::ml {

namespace detail {
namespace {

/// XGBoost's predictor. Boosters are not shared between concurrent calls: XGBoost 1.7
/// promises thread-safe prediction only for some tree methods (not gblinear, and the first
/// call configures the learner lazily), so each call leases a booster of its own from a pool
/// that grows to the number of concurrent callers. A lease costs one mutex round trip.
class xgboost_predictor final : public predictor {
public:
    xgboost_predictor(parsed_model model, std::string bytes, int threads)
        : predictor(std::move(model.info), prediction_backend::xgboost)
        , link_(model.link)
        , groups_(model.groups)
        , bytes_(std::move(bytes))
        , threads_(threads) {
        // Dense inplace prediction exists for tree boosters only in 1.7; gblinear needs a DMatrix.
        inplace_ = info().booster != "gblinear";
        // XGBoost 1.7 requires "cache_id" in the inplace-predict config (absent from its docs).
        // multi:softmax predicts class indices: ask for margins and apply softmax here.
        margins_ = info().objective == "multi:softmax";
        // One booster made and warmed now, so load errors surface at build time.
        auto first = make();
        warm(*first);
        pool_.push_back(std::move(first));
    }

    void predict(std::span<const float> values,
                 std::size_t rows,
                 std::span<float> out) const override {
        if (rows == 0) {
            return;
        }
        lease l(*this);
        run(*l.b, values.data(), rows, out.data());
    }

private:
    struct lease {
        explicit lease(const xgboost_predictor& p)
            : owner(p) {
            {
                std::lock_guard lock(owner.mutex_);
                if (!owner.pool_.empty()) {
                    b = std::move(owner.pool_.back());
                    owner.pool_.pop_back();
                }
            }
            if (!b) {
                b = owner.make();
            }
        }
        ~lease() {
            std::lock_guard lock(owner.mutex_);
            owner.pool_.push_back(std::move(b));
        }
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;
        lease(lease&&) = delete;
        lease& operator=(lease&&) = delete;
        const xgboost_predictor& owner;
        std::unique_ptr<booster> b;
    };

    std::unique_ptr<booster> make() const {
        auto b = std::make_unique<booster>();
        load_booster(*b, bytes_, info().path);
        const auto threads = std::to_string(threads_);
        check_xgb(XGBoosterSetParam(b->get(), "nthread", threads.c_str()), "cannot set nthread");
        return b;
    }

    void warm(const booster& b) const {
        std::vector<float> row(std::max<std::size_t>(info().num_features, 1), 0.0F);
        std::vector<float> out(groups_);
        run(b, row.data(), 1, out.data());
    }

    void run(const booster& b, const float* values, std::size_t rows, float* out) const {
        const char* config =
                margins_
                        ? R"({"type":1,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"missing":NaN,"cache_id":0})"
                        : R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"missing":NaN,"cache_id":0})";
        const bst_ulong* shape = nullptr;
        bst_ulong dims = 0;
        const float* result = nullptr;
        const std::size_t features = info().num_features;
        if (inplace_) {
            const auto array = fmt::format(
                    R"({{"data":[{},false],"shape":[{},{}],"typestr":"<f4","version":3}})",
                    reinterpret_cast<std::uintptr_t>(values),
                    rows,
                    features);
            check_xgb(XGBoosterPredictFromDense(
                              b.get(), array.c_str(), config, nullptr, &shape, &dims, &result),
                      fmt::format("XGBoost failed to predict with model '{}'", info().path));
        } else {
            // XGBoost refuses a DMatrix holding an infinity (the linear path has no inplace
            // predict): clamp to the largest finite float, as the native gblinear does too.
            std::vector<float> finite;
            if (std::any_of(
                        values, values + rows * features, [](float v) { return std::isinf(v); })) {
                finite.assign(values, values + rows * features);
                for (auto& v : finite) {
                    if (std::isinf(v)) {
                        v = std::copysign(std::numeric_limits<float>::max(), v);
                    }
                }
                values = finite.data();
            }
            dmatrix data(values, rows, features);
            check_xgb(XGBoosterPredictFromDMatrix(
                              b.get(), data.get(), config, &shape, &dims, &result),
                      fmt::format("XGBoost failed to predict with model '{}'", info().path));
        }
        bst_ulong total = 1;
        for (bst_ulong d = 0; d < dims; ++d) {
            total *= shape[d];
        }
        if (total != rows * groups_) {
            throw model_error(fmt::format(
                    "XGBoost returned {} values for {} rows of model '{}' ({} expected)",
                    total,
                    rows,
                    info().path,
                    rows * groups_));
        }
        std::memcpy(out, result, total * sizeof(float));
        if (margins_) {
            apply_link(link_, groups_, out, rows);
        }
    }

    link_function link_;
    std::size_t groups_;
    std::string bytes_;
    int threads_;
    bool inplace_ = true;
    bool margins_ = false;
    mutable std::mutex mutex_;
    mutable std::vector<std::unique_ptr<booster>> pool_;
};

/// The compiled forest (gbtree) or a dot product (gblinear). Immutable, thread-safe.
class native_predictor final : public predictor {
public:
    explicit native_predictor(parsed_model model)
        : predictor(model.info, prediction_backend::native)
        , model_(std::move(model)) {
        if (model_.info.booster == "gbtree") {
            forest_.emplace(model_);
            model_.trees.clear();  // the forest holds its own copy
            model_.trees.shrink_to_fit();
        }
    }

    void predict(std::span<const float> values,
                 std::size_t rows,
                 std::span<float> out) const override {
        if (forest_) {
            forest_->margins(values.data(), rows, out.data());
        } else {
            linear_margins(model_, values.data(), rows, out.data());
        }
        apply_link(model_.link, model_.groups, out.data(), rows);
    }

private:
    parsed_model model_;
    std::optional<compiled_forest> forest_;
};

}  // namespace
}  // namespace detail

std::unique_ptr<predictor> load_predictor(const std::string& path,
                                          prediction_backend backend,
                                          int threads) {
    auto bytes = detail::read_model_bytes(path);
    detail::booster b;
    detail::load_booster(b, bytes, path);
    auto model = detail::parse_booster(b, path);
    if (backend == prediction_backend::native) {
        if (model.info.booster == "dart") {
            throw model_error(
                    fmt::format("model file '{}' is a dart model, which the native backend does "
                                "not evaluate (use backend: xgboost)",
                                path));
        }
        if (model.has_categorical) {
            throw model_error(
                    fmt::format("model file '{}' has categorical splits, which the native backend "
                                "does not evaluate (use backend: xgboost)",
                                path));
        }
        return std::make_unique<detail::native_predictor>(std::move(model));
    }
    return std::make_unique<detail::xgboost_predictor>(
            std::move(model), std::move(bytes), std::max(threads, 1));
}

}  // namespace sluice::ml
