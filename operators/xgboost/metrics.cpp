// Held-out metrics for the model cards.

#include <sluice/ops/xgboost.hpp>

#include <cmath>

namespace sluice::ml {

classification_metrics classify_metrics(std::span<const std::int64_t> truth,
                                        std::span<const std::int64_t> predicted,
                                        std::size_t classes) {
    classification_metrics m;
    m.rows = truth.size();
    m.classes = classes;
    m.confusion.assign(classes, std::vector<std::size_t>(classes, 0));
    std::size_t correct = 0;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        const auto t = truth[i];
        const auto p = predicted[i];
        correct += t == p ? 1 : 0;
        if (t >= 0 && p >= 0 && static_cast<std::size_t>(t) < classes &&
            static_cast<std::size_t>(p) < classes) {
            ++m.confusion[static_cast<std::size_t>(t)][static_cast<std::size_t>(p)];
        }
    }
    m.accuracy = m.rows == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(m.rows);

    const auto per_class = [&](std::size_t k, double& precision, double& recall, double& f1) {
        std::size_t tp = m.confusion[k][k];
        std::size_t predicted_k = 0;
        std::size_t actual_k = 0;
        for (std::size_t j = 0; j < classes; ++j) {
            predicted_k += m.confusion[j][k];
            actual_k += m.confusion[k][j];
        }
        precision =
                predicted_k == 0 ? 0.0 : static_cast<double>(tp) / static_cast<double>(predicted_k);
        recall = actual_k == 0 ? 0.0 : static_cast<double>(tp) / static_cast<double>(actual_k);
        f1 = precision + recall == 0 ? 0.0 : 2 * precision * recall / (precision + recall);
    };
    if (classes == 2) {
        per_class(1, m.precision, m.recall, m.f1);
    } else if (classes > 2) {
        for (std::size_t k = 0; k < classes; ++k) {
            double p = 0;
            double r = 0;
            double f = 0;
            per_class(k, p, r, f);
            m.precision += p;
            m.recall += r;
            m.f1 += f;
        }
        m.precision /= static_cast<double>(classes);
        m.recall /= static_cast<double>(classes);
        m.f1 /= static_cast<double>(classes);
    }
    return m;
}

regression_metrics regress_metrics(std::span<const double> truth,
                                   std::span<const double> predicted) {
    regression_metrics m;
    m.rows = truth.size();
    if (m.rows == 0) {
        return m;
    }
    double mean = 0;
    for (const double t : truth) {
        mean += t;
    }
    mean /= static_cast<double>(m.rows);
    double sse = 0;
    double sae = 0;
    double sst = 0;
    for (std::size_t i = 0; i < m.rows; ++i) {
        const double e = predicted[i] - truth[i];
        sse += e * e;
        sae += std::abs(e);
        sst += (truth[i] - mean) * (truth[i] - mean);
    }
    m.rmse = std::sqrt(sse / static_cast<double>(m.rows));
    m.mae = sae / static_cast<double>(m.rows);
    m.r2 = sst == 0 ? 0.0 : 1.0 - sse / sst;
    return m;
}

}  // namespace sluice::ml
