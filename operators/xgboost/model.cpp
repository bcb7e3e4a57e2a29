#include "model.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

namespace sluice::ml {

std::size_t outputs_per_row(const model_info& info) noexcept {
    return info.task == model_task::multiclass ? info.num_classes : 1;
}

std::string_view to_string(model_task task) noexcept {
    switch (task) {
        case model_task::binary:
            return "binary";
        case model_task::multiclass:
            return "multiclass";
        case model_task::regression:
            return "regression";
    }
    return "?";
}

std::string_view to_string(prediction_backend backend) noexcept {
    return backend == prediction_backend::native ? "native" : "xgboost";
}

namespace detail {

namespace dom = simdjson::dom;

void check_xgb(int rc, const std::string& what) {
    if (rc != 0) {
        std::string reason = XGBGetLastError();
        // XGBoost prefixes a source location and may append a stack trace: keep the message.
        if (const auto at = reason.find(": ");
            reason.rfind('[', 0) == 0 && at != std::string::npos) {
            reason.erase(0, at + 2);
        }
        if (const auto nl = reason.find("\nStack trace"); nl != std::string::npos) {
            reason.erase(nl);
        }
        while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) {
            reason.pop_back();
        }
        throw model_error(fmt::format("{}: {}", what, reason));
    }
}

booster::booster() {
    check_xgb(XGBoosterCreate(nullptr, 0, &handle_), "cannot create an XGBoost booster");
}

booster::~booster() {
    if (handle_ != nullptr) {
        XGBoosterFree(handle_);
    }
}

dmatrix::dmatrix(const float* values, std::size_t rows, std::size_t cols) {
    check_xgb(XGDMatrixCreateFromMat(values, rows, cols, std::nanf(""), &handle_),
              "cannot build an XGBoost DMatrix");
}

dmatrix::~dmatrix() {
    if (handle_ != nullptr) {
        XGDMatrixFree(handle_);
    }
}

std::size_t tree_arrays::depth() const {
    // Iterative: a corrupt tree must not overflow the stack; cycles are rejected at parse.
    std::size_t deepest = 0;
    std::vector<std::pair<std::int32_t, std::size_t>> nodes_to_visit{{0, 0}};
    while (!nodes_to_visit.empty()) {
        const auto [node, d] = nodes_to_visit.back();
        nodes_to_visit.pop_back();
        if (left[node] < 0) {
            deepest = std::max(deepest, d);
            continue;
        }
        nodes_to_visit.emplace_back(left[node], d + 1);
        nodes_to_visit.emplace_back(right[node], d + 1);
    }
    return deepest;
}

std::string read_model_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        // generic_category().message rather than strerror, which is not thread-safe.
        throw model_error(fmt::format("model file '{}' cannot be opened: {}",
                                      path,
                                      std::generic_category().message(errno)));
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        throw model_error(fmt::format("model file '{}' cannot be read", path));
    }
    if (bytes.empty()) {
        throw model_error(fmt::format("model file '{}' is empty", path));
    }
    return bytes;
}

void load_booster(const booster& target, const std::string& bytes, const std::string& path) {
    // XGBoost tells JSON from UBJSON by the first byte ('{' vs UBJSON's '{' marker is the same,
    // so it looks further); the old binary format is accepted too.
    check_xgb(XGBoosterLoadModelFromBuffer(target.get(), bytes.data(), bytes.size()),
              fmt::format("model file '{}' is not a valid XGBoost model", path));
}

float base_margin_of(double base_score, link_function link) {
    const auto p = static_cast<float>(base_score);
    switch (link) {
        case link_function::sigmoid:
            return -std::log(1.0F / p - 1.0F);
        case link_function::exponential:
            return std::log(p);
        case link_function::identity:
        case link_function::softmax:
            return p;
    }
    return p;
}

void apply_link(link_function link, std::size_t groups, float* values, std::size_t rows) {
    switch (link) {
        case link_function::identity:
            return;
        case link_function::sigmoid:
            for (std::size_t i = 0; i < rows * groups; ++i) {
                values[i] = 1.0F / (1.0F + std::exp(-values[i]));
            }
            return;
        case link_function::exponential:
            for (std::size_t i = 0; i < rows * groups; ++i) {
                values[i] = std::exp(values[i]);
            }
            return;
        case link_function::softmax:
            for (std::size_t r = 0; r < rows; ++r) {
                float* v = values + r * groups;
                float top = v[0];
                for (std::size_t g = 1; g < groups; ++g) {
                    top = std::max(top, v[g]);
                }
                double sum = 0;
                for (std::size_t g = 0; g < groups; ++g) {
                    v[g] = std::exp(v[g] - top);
                    sum += v[g];
                }
                for (std::size_t g = 0; g < groups; ++g) {
                    v[g] /= static_cast<float>(sum);
                }
            }
            return;
    }
}

namespace {

struct objective_kind {
    std::string_view name;
    model_task task;
    link_function link;
};

constexpr objective_kind supported_objectives[] = {
        {"binary:logistic", model_task::binary, link_function::sigmoid},
        {"reg:logistic", model_task::regression, link_function::sigmoid},
        {"multi:softprob", model_task::multiclass, link_function::softmax},
        {"multi:softmax", model_task::multiclass, link_function::softmax},
        {"reg:squarederror", model_task::regression, link_function::identity},
        {"reg:linear", model_task::regression, link_function::identity},
        {"reg:squaredlogerror", model_task::regression, link_function::identity},
        {"reg:pseudohubererror", model_task::regression, link_function::identity},
        {"reg:absoluteerror", model_task::regression, link_function::identity},
        {"count:poisson", model_task::regression, link_function::exponential},
        {"reg:gamma", model_task::regression, link_function::exponential},
        {"reg:tweedie", model_task::regression, link_function::exponential},
};

// Model JSON keeps most scalars as strings ("5E-1", "3").
double number_of(const dom::element& e) {
    if (e.is_string()) {
        const std::string text(std::string_view(e.get_string().value()));
        return std::stod(text);
    }
    if (e.is_double()) {
        return e.get_double().value();
    }
    if (e.is_int64()) {
        return static_cast<double>(e.get_int64().value());
    }
    if (e.is_uint64()) {
        return static_cast<double>(e.get_uint64().value());
    }
    if (e.is_bool()) {
        return e.get_bool().value() ? 1.0 : 0.0;
    }
    throw std::invalid_argument("not a number");
}

template <typename T>
void read_array(const dom::element& parent, const char* key, std::vector<T>& out) {
    const dom::array values = parent[key].get_array();
    out.clear();
    out.reserve(values.size());
    for (const auto v : values) {
        out.push_back(static_cast<T>(number_of(v)));
    }
}

tree_arrays parse_tree(const dom::element& tree, std::size_t num_features, std::size_t index) {
    tree_arrays t;
    read_array(tree, "left_children", t.left);
    read_array(tree, "right_children", t.right);
    read_array(tree, "split_indices", t.feature);
    read_array(tree, "split_conditions", t.condition);
    read_array(tree, "default_left", t.default_left);
    std::vector<std::int32_t> split_type;
    if (tree["split_type"].error() == simdjson::SUCCESS) {
        read_array(tree, "split_type", split_type);
    }
    const std::size_t n = t.left.size();
    if (n == 0 || t.right.size() != n || t.feature.size() != n || t.condition.size() != n ||
        t.default_left.size() != n || (!split_type.empty() && split_type.size() != n)) {
        throw std::invalid_argument(fmt::format("tree {} has arrays of different lengths", index));
    }
    t.value.assign(n, 0.0F);
    // Every node must be reachable once from the root: no cycles, children in range.
    std::vector<std::uint8_t> seen(n, 0);
    std::vector<std::int32_t> nodes_to_visit{0};
    while (!nodes_to_visit.empty()) {
        const auto node = nodes_to_visit.back();
        nodes_to_visit.pop_back();
        if (seen[node] != 0) {
            throw std::invalid_argument(
                    fmt::format("tree {} is not a tree (node {} reached twice)", index, node));
        }
        seen[node] = 1;
        const auto l = t.left[node];
        const auto r = t.right[node];
        if (l == -1) {
            t.value[node] = t.condition[node];
            continue;
        }
        if (l < 0 || r < 0 || static_cast<std::size_t>(l) >= n ||
            static_cast<std::size_t>(r) >= n) {
            throw std::invalid_argument(
                    fmt::format("tree {} node {} has children out of range", index, node));
        }
        if (t.feature[node] < 0 || static_cast<std::size_t>(t.feature[node]) >= num_features) {
            throw std::invalid_argument(fmt::format("tree {} node {} splits on feature {} of {}",
                                                    index,
                                                    node,
                                                    t.feature[node],
                                                    num_features));
        }
        if (!split_type.empty() && split_type[node] != 0) {
            throw std::domain_error("categorical splits");
        }
        nodes_to_visit.push_back(l);
        nodes_to_visit.push_back(r);
    }
    return t;
}

}  // namespace

bool objective_supported(std::string_view objective) noexcept {
    for (const auto& k : supported_objectives) {
        if (k.name == objective) {
            return true;
        }
    }
    return false;
}

parsed_model parse_booster(const booster& loaded, const std::string& path) {
    bst_ulong length = 0;
    const char* raw = nullptr;
    check_xgb(XGBoosterSaveModelToBuffer(loaded.get(), R"({"format":"json"})", &length, &raw),
              fmt::format("model file '{}' cannot be serialised by XGBoost", path));
    const simdjson::padded_string text(raw, length);
    dom::parser parser;
    parsed_model m;
    m.info.path = path;
    try {
        const dom::element doc = parser.parse(text);
        const dom::element learner = doc["learner"];
        m.info.objective = std::string(std::string_view(learner["objective"]["name"].get_string()));
        const dom::element params = learner["learner_model_param"];
        m.info.num_features = static_cast<std::size_t>(number_of(params["num_feature"]));
        m.info.base_score = number_of(params["base_score"]);
        const auto num_class = static_cast<std::size_t>(number_of(params["num_class"]));
        if (learner["feature_names"].error() == simdjson::SUCCESS) {
            for (const auto name : learner["feature_names"].get_array()) {
                m.info.feature_names.emplace_back(std::string_view(name.get_string()));
            }
        }
        if (!m.info.feature_names.empty() && m.info.feature_names.size() != m.info.num_features) {
            throw std::invalid_argument(fmt::format("{} feature names for {} features",
                                                    m.info.feature_names.size(),
                                                    m.info.num_features));
        }
        const objective_kind* kind = nullptr;
        for (const auto& k : supported_objectives) {
            if (k.name == m.info.objective) {
                kind = &k;
            }
        }
        if (kind == nullptr) {
            throw model_error(fmt::format(
                    "model file '{}' has objective '{}', which this operator does not support "
                    "(binary:logistic, multi:softprob, multi:softmax, reg:squarederror, "
                    "reg:logistic, "
                    "count:poisson, reg:gamma, reg:tweedie and other reg:* objectives)",
                    path,
                    m.info.objective));
        }
        m.info.task = kind->task;
        m.link = kind->link;
        m.info.num_classes =
                kind->task == model_task::multiclass ? std::max<std::size_t>(num_class, 1) : 1;
        if (kind->task == model_task::multiclass && num_class < 2) {
            throw std::invalid_argument(
                    fmt::format("objective {} with num_class {}", m.info.objective, num_class));
        }
        m.groups = m.info.num_classes;
        m.base_margin = base_margin_of(m.info.base_score, m.link);

        const dom::element gb = learner["gradient_booster"];
        m.info.booster = std::string(std::string_view(gb["name"].get_string()));
        if (m.info.booster == "gbtree") {
            const dom::element model = gb["model"];
            m.info.num_parallel_tree = static_cast<std::size_t>(
                    number_of(model["gbtree_model_param"]["num_parallel_tree"]));
            std::vector<std::uint32_t> tree_info;
            read_array(model, "tree_info", tree_info);
            std::size_t index = 0;
            for (const auto tree : model["trees"].get_array()) {
                try {
                    m.trees.push_back(parse_tree(tree, m.info.num_features, index));
                } catch (const std::domain_error&) {
                    m.has_categorical = true;
                    m.trees.emplace_back();
                }
                if (index >= tree_info.size() || tree_info[index] >= m.groups) {
                    throw std::invalid_argument(
                            fmt::format("tree {} has no valid output group", index));
                }
                m.trees.back().group = tree_info[index];
                if (!m.trees.back().left.empty()) {
                    m.info.max_depth = std::max(m.info.max_depth, m.trees.back().depth());
                }
                ++index;
            }
            m.info.num_trees = m.trees.size();
        } else if (m.info.booster == "gblinear") {
            read_array(gb["model"], "weights", m.linear_weights);
            if (m.linear_weights.size() != (m.info.num_features + 1) * m.groups) {
                throw std::invalid_argument(
                        fmt::format("gblinear has {} weights for {} features and {} groups",
                                    m.linear_weights.size(),
                                    m.info.num_features,
                                    m.groups));
            }
        } else if (m.info.booster == "dart") {
            // Dart scales each tree by a drop weight; only XGBoost's predictor handles it here.
            m.info.num_parallel_tree = static_cast<std::size_t>(
                    number_of(gb["gbtree"]["model"]["gbtree_model_param"]["num_parallel_tree"]));
        } else {
            throw model_error(fmt::format(
                    "model file '{}' uses booster '{}' (gbtree, gblinear and dart are supported)",
                    path,
                    m.info.booster));
        }
    } catch (const simdjson::simdjson_error& e) {
        throw model_error(
                fmt::format("model file '{}' has an unexpected layout: {}", path, e.what()));
    } catch (const std::invalid_argument& e) {
        throw model_error(fmt::format("model file '{}' is inconsistent: {}", path, e.what()));
    } catch (const std::out_of_range& e) {
        throw model_error(
                fmt::format("model file '{}' holds a number out of range: {}", path, e.what()));
    }
    return m;
}

}  // namespace detail

model_info read_model_info(const std::string& path) {
    const auto bytes = detail::read_model_bytes(path);
    detail::booster b;
    detail::load_booster(b, bytes, path);
    return detail::parse_booster(b, path).info;
}

}  // namespace sluice::ml
