// The `xgboost` transform: columns -> feature matrix -> one predict call per batch -> columns.

#include <sluice/operator/registry.hpp>
#include <sluice/ops/xgboost.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace sluice {

namespace ml {
namespace {

/// A problem with one option, found while building (key + code for the diagnostic).
struct option_problem : std::invalid_argument {
    option_problem(std::string k, std::string c, const std::string& message)
        : std::invalid_argument(message)
        , key(std::move(k))
        , code(std::move(c)) {}
    std::string key;
    std::string code;
};

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        out += out.empty() ? "" : ", ";
        out += n;
    }
    return out;
}

class xgboost_transform final : public transform {
public:
    xgboost_transform(xgboost_config config, const std::string& id)
        : config_(std::move(config)) {
        if (config_.features.empty()) {
            throw option_problem(
                    "features", "missing-field", "'features' must name at least one column");
        }
        predictor_ = load_predictor(config_.model, config_.backend, config_.threads);
        const auto& info = predictor_->info();
        map_features(info);
        name_outputs(info, id);
    }

    operator_traits traits() const override { return {concurrency::parallel, false}; }

    schema_ptr bind(const schema_ptr& input, bind_context& ctx) override {
        column_index_.clear();
        bool ok = true;
        for (std::size_t i = 0; i < model_columns_.size(); ++i) {
            const auto& name = model_columns_[i];
            const auto index = input->index_of(name);
            const std::string key = by_position_ ? "features" : "feature_map";
            if (!index) {
                ctx.error(key,
                          "schema-mismatch",
                          fmt::format("column '{}' (model feature '{}') is not in the input {}",
                                      name,
                                      feature_label(i),
                                      input->to_string()));
                ok = false;
                continue;
            }
            const auto type = input->at(*index).type;
            if (type != data_type::float64 && type != data_type::int64 &&
                type != data_type::boolean) {
                ctx.error(
                        key,
                        "schema-mismatch",
                        fmt::format(
                                "column '{}' is {}; model features must be float64, int64 or bool",
                                name,
                                to_string(type)));
                ok = false;
            }
            column_index_.push_back(*index);
        }
        for (const auto& out : output_fields_) {
            if (input->index_of(out.name)) {
                ctx.error(config_.outputs.empty() ? "output_prefix" : "outputs",
                          "schema-mismatch",
                          fmt::format("output column '{}' already exists in the input; choose "
                                      "another name",
                                      out.name));
                ok = false;
            }
        }
        if (!ok) {
            return nullptr;
        }
        auto fields = input->fields();
        fields.insert(fields.end(), output_fields_.begin(), output_fields_.end());
        output_schema_ = make_schema(std::move(fields));
        return output_schema_;
    }

    batch process(const batch& input, operator_context& ctx) override {
        if (!output_schema_) {
            throw operator_error(
                    ctx.type(), ctx.id(), "process() called before a successful bind()");
        }
        const std::size_t rows = input.num_rows();
        const std::size_t features = model_columns_.size();
        std::vector<float> values(rows * features);
        for (std::size_t f = 0; f < features; ++f) {
            const column& c = input.column_at(column_index_[f]);
            float* dst = values.data() + f;
            const auto nan = std::numeric_limits<float>::quiet_NaN();
            switch (c.type()) {
                case data_type::float64: {
                    const auto v = c.float64_values();
                    for (std::size_t r = 0; r < rows; ++r) {
                        dst[r * features] = static_cast<float>(v[r]);
                    }
                    break;
                }
                case data_type::int64: {
                    const auto v = c.int64_values();
                    for (std::size_t r = 0; r < rows; ++r) {
                        dst[r * features] = static_cast<float>(v[r]);
                    }
                    break;
                }
                default: {
                    const auto v = c.bool_values();
                    for (std::size_t r = 0; r < rows; ++r) {
                        dst[r * features] = v[r] != 0 ? 1.0F : 0.0F;
                    }
                    break;
                }
            }
            if (c.has_nulls()) {
                for (std::size_t r = 0; r < rows; ++r) {
                    if (!c.is_valid(r)) {
                        dst[r * features] = nan;
                    }
                }
            }
        }
        const auto& info = predictor_->info();
        const std::size_t per_row = outputs_per_row(info);
        std::vector<float> predicted(rows * per_row);
        try {
            predictor_->predict(values, rows, predicted);
        } catch (const model_error& e) {
            throw operator_error(ctx.type(), ctx.id(), e.what());
        }

        std::vector<column_ptr> columns = input.columns();
        switch (info.task) {
            case model_task::binary: {
                auto probability = std::make_shared<column>(data_type::float64);
                auto label = std::make_shared<column>(data_type::int64);
                probability->resize(rows);
                label->resize(rows);
                auto& p = probability->mutable_float64();
                auto& l = label->mutable_int64();
                for (std::size_t r = 0; r < rows; ++r) {
                    p[r] = predicted[r];
                    l[r] = predicted[r] >= config_.threshold ? 1 : 0;
                }
                columns.push_back(std::move(probability));
                columns.push_back(std::move(label));
                break;
            }
            case model_task::multiclass: {
                auto cls = std::make_shared<column>(data_type::int64);
                cls->resize(rows);
                auto& c = cls->mutable_int64();
                std::vector<std::shared_ptr<column>> probs;
                for (std::size_t k = 0; k < per_row; ++k) {
                    probs.push_back(std::make_shared<column>(data_type::float64));
                    probs.back()->resize(rows);
                }
                for (std::size_t r = 0; r < rows; ++r) {
                    const float* row = predicted.data() + r * per_row;
                    c[r] = std::max_element(row, row + per_row) - row;
                    for (std::size_t k = 0; k < per_row; ++k) {
                        probs[k]->mutable_float64()[r] = row[k];
                    }
                }
                columns.push_back(std::move(cls));
                for (auto& p : probs) {
                    columns.push_back(std::move(p));
                }
                break;
            }
            case model_task::regression: {
                auto value = std::make_shared<column>(data_type::float64);
                value->resize(rows);
                auto& v = value->mutable_float64();
                for (std::size_t r = 0; r < rows; ++r) {
                    v[r] = predicted[r];
                }
                columns.push_back(std::move(value));
                break;
            }
        }
        batch out(output_schema_, std::move(columns));
        out.inherit_lineage(input);
        return out;
    }

private:
    // Orders the configured columns by the model's feature index.
    void map_features(const model_info& info) {
        by_position_ = std::all_of(config_.features.begin(),
                                   config_.features.end(),
                                   [](const auto& f) { return f.second.empty(); });
        const auto& names = info.feature_names;
        const std::string key = by_position_ ? "features" : "feature_map";
        const std::string model_features =
                names.empty() ? fmt::format("{} unnamed features", info.num_features) : join(names);
        if (config_.features.size() != info.num_features) {
            throw option_problem(key,
                                 "feature-mismatch",
                                 fmt::format("model '{}' expects {} features ({}); {} given",
                                             config_.model,
                                             info.num_features,
                                             model_features,
                                             config_.features.size()));
        }
        model_columns_.assign(info.num_features, std::string());
        if (names.empty()) {
            if (!by_position_) {
                throw option_problem(
                        key,
                        "feature-mismatch",
                        fmt::format(
                                "model '{}' has no feature names; list the columns in model order "
                                "with 'features'",
                                config_.model));
            }
            for (std::size_t i = 0; i < config_.features.size(); ++i) {
                model_columns_[i] = config_.features[i].first;
            }
            return;
        }
        for (const auto& [column_name, feature] : config_.features) {
            const auto& wanted = feature.empty() ? column_name : feature;
            const auto it = std::find(names.begin(), names.end(), wanted);
            if (it == names.end()) {
                throw option_problem(
                        key,
                        "feature-mismatch",
                        fmt::format("'{}' is not a feature of model '{}' (features: {})",
                                    wanted,
                                    config_.model,
                                    model_features));
            }
            auto& slot = model_columns_[static_cast<std::size_t>(it - names.begin())];
            if (!slot.empty()) {
                throw option_problem(key,
                                     "feature-mismatch",
                                     fmt::format("model feature '{}' is given twice", wanted));
            }
            slot = column_name;
        }
    }

    std::string feature_label(std::size_t i) const {
        const auto& names = predictor_->info().feature_names;
        return names.empty() ? fmt::format("#{}", i) : names[i];
    }

    void name_outputs(const model_info& info, const std::string& id) {
        std::vector<std::string> defaults;
        std::vector<data_type> types;
        switch (info.task) {
            case model_task::binary:
                defaults = {"probability", "label"};
                types = {data_type::float64, data_type::int64};
                break;
            case model_task::multiclass:
                defaults = {"class"};
                types = {data_type::int64};
                for (std::size_t k = 0; k < info.num_classes; ++k) {
                    defaults.push_back(fmt::format("probability_{}", k));
                    types.push_back(data_type::float64);
                }
                break;
            case model_task::regression:
                defaults = {"value"};
                types = {data_type::float64};
                break;
        }
        if (!config_.outputs.empty() && config_.outputs.size() != defaults.size()) {
            throw option_problem(
                    "outputs",
                    "output-mismatch",
                    fmt::format("model '{}' is {} and makes {} outputs ({}); 'outputs' names {}",
                                config_.model,
                                to_string(info.task),
                                defaults.size(),
                                join(defaults),
                                config_.outputs.size()));
        }
        const std::string prefix = config_.output_prefix.empty() ? id + "_" : config_.output_prefix;
        for (std::size_t i = 0; i < defaults.size(); ++i) {
            const auto name = config_.outputs.empty() ? prefix + defaults[i] : config_.outputs[i];
            for (const auto& existing : output_fields_) {
                if (existing.name == name) {
                    throw option_problem("outputs",
                                         "output-mismatch",
                                         fmt::format("output '{}' is named twice", name));
                }
            }
            output_fields_.push_back({name, types[i], false});
        }
    }

    xgboost_config config_;
    std::unique_ptr<predictor> predictor_;
    bool by_position_ = true;
    std::vector<std::string> model_columns_;  // input column per model feature index
    std::vector<sluice::field> output_fields_;
    std::vector<std::size_t> column_index_;  // input index per model feature, set by bind
    schema_ptr output_schema_;
};

void describe(option_spec& spec) {
    spec.field("model", option_kind::string)
            .require()
            .describe(
                    "XGBoost model file (JSON or UBJSON, from `sluice train` or XGBoost's Python/R "
                    "packages), "
                    "relative to the working directory");
    spec.field("features", option_kind::string_list)
            .describe(
                    "input columns, named as the model's features (or, for a model without feature "
                    "names, "
                    "in model order); float64, int64 or bool; nulls are missing values");
    spec.field("feature_map", option_kind::string_map)
            .describe("instead of 'features': input column -> model feature name");
    spec.field("backend", option_kind::string)
            .defaults("xgboost")
            .one_of({"xgboost", "native"})
            .describe(
                    "xgboost: XGBoost's predictor; native: the compiled forest (same results to "
                    "1e-5, faster)");
    spec.field("threshold", option_kind::number)
            .defaults("0.5")
            .at_least(0)
            .at_most(1)
            .describe("binary models: label is 1 when the probability is at least this");
    spec.field("output_prefix", option_kind::string)
            .describe(
                    "prefix of the output columns (default: the operator id and '_'): "
                    "probability/label, "
                    "class/probability_<k> or value");
    spec.field("outputs", option_kind::string_list)
            .describe(
                    "explicit output names instead of the prefix: [probability, label], [class, "
                    "p0, p1, ...] "
                    "or [value]");
    spec.field("threads", option_kind::integer)
            .defaults("1")
            .at_least(1)
            .at_most(256)
            .describe(
                    "XGBoost threads per predict call (xgboost backend); the graph already runs "
                    "batches in "
                    "parallel");
    spec.check([](const options& o, diagnostics_collector& out) {
        const bool list = o.is_set("features");
        const bool map = o.is_set("feature_map");
        if (list == map) {
            out.add(o.error(list ? "feature_map" : "",
                            list ? "cross-field" : "missing-field",
                            list ? "give either 'features' or 'feature_map', not both"
                                 : "requires 'features' (or 'feature_map')"));
        }
    });
}

xgboost_config read_config(const options& opts) {
    xgboost_config c;
    c.model = opts.get_string("model");
    if (opts.is_set("features")) {
        for (auto& name : opts.get_string_list("features")) {
            c.features.emplace_back(std::move(name), std::string());
        }
    } else {
        c.features = opts.get_string_map("feature_map");
        for (auto& [column_name, feature] : c.features) {
            if (feature.empty()) {
                feature = column_name;
            }
        }
    }
    c.backend = opts.get_string("backend") == "native" ? prediction_backend::native
                                                       : prediction_backend::xgboost;
    c.threshold = opts.get_number("threshold");
    c.output_prefix =
            opts.is_set("output_prefix") ? opts.get_string("output_prefix") : std::string();
    if (opts.is_set("outputs")) {
        c.outputs = opts.get_string_list("outputs");
    }
    c.threads = static_cast<int>(opts.get_int("threads"));
    return c;
}

}  // namespace

std::unique_ptr<transform> make_xgboost_transform(xgboost_config config, const std::string& id) {
    return std::make_unique<xgboost_transform>(std::move(config), id);
}

}  // namespace ml

void register_xgboost_operators(operator_registry& registry) {
    registry.add_transform(
            "xgboost",
            "predicts with an XGBoost model (binary, multiclass, regression), a batch per call",
            &ml::describe,
            [](const options& opts, build_context&) -> std::unique_ptr<transform> {
                auto config = ml::read_config(opts);
                try {
                    return ml::make_xgboost_transform(std::move(config), opts.operator_id());
                } catch (const ml::model_error& e) {
                    throw config_error({opts.error("model", "bad-model", e.what())});
                } catch (const ml::option_problem& e) {
                    throw config_error({opts.error(e.key, e.code, e.what())});
                }
            });
}

}  // namespace sluice
