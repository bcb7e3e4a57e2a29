// Model cards: what was trained on what, with which parameters, and how well it does on
// held-out rows, beside the numbers another system reported.

#include <sluice/core/row_json.hpp>
#include <sluice/ops/xgboost.hpp>

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>

namespace sluice::ml {

namespace {

std::string source_text(const training_spec& spec) {
    switch (spec.data.type) {
        case training_source::kind::simulator: {
            const auto& c = spec.data.simulator;
            return fmt::format("simulator (sensors {}, seed {}, interval {} ms, anomaly_rate {})",
                               c.sensors,
                               c.seed,
                               c.interval_ms,
                               c.anomaly_rate);
        }
        case training_source::kind::ndjson:
            return fmt::format("NDJSON file {}", spec.data.path);
        case training_source::kind::csv:
            return fmt::format("CSV file {}", spec.data.path);
    }
    return "?";
}

std::string split_text(const training_spec& spec) {
    return spec.split.method == split_spec::kind::time
                   ? fmt::format("by time: the latest {:.0f} % of rows held out",
                                 spec.split.test_fraction * 100)
                   : fmt::format("random (seed {}): {:.0f} % of rows held out",
                                 spec.split.seed,
                                 spec.split.test_fraction * 100);
}

// Our value of a metric the reference names ("accuracy", "rmse", ...), if we have it.
std::optional<double> our_metric(const training_result& r, const std::string& name) {
    if (r.classification) {
        const auto& c = *r.classification;
        if (name == "accuracy") {
            return c.accuracy;
        }
        if (name == "precision") {
            return c.precision;
        }
        if (name == "recall") {
            return c.recall;
        }
        if (name == "f1") {
            return c.f1;
        }
    }
    if (r.regression) {
        const auto& g = *r.regression;
        if (name == "rmse") {
            return g.rmse;
        }
        if (name == "mae") {
            return g.mae;
        }
        if (name == "r2") {
            return g.r2;
        }
    }
    return std::nullopt;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        throw std::runtime_error(fmt::format("cannot write '{}'", path));
    }
}

std::string quote(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

}  // namespace

std::string model_card_json(const training_spec& spec, const training_result& r) {
    std::string j = "{\n";
    j += fmt::format(
            "  \"name\": {},\n  \"description\": {},\n", quote(spec.name), quote(spec.description));
    j += fmt::format(
            "  \"model\": {},\n  \"objective\": {},\n  \"booster\": {},\n  \"task\": {},\n",
            quote(spec.model_path),
            quote(r.info.objective),
            quote(r.info.booster),
            quote(to_string(r.info.task)));
    j += "  \"features\": [";
    for (std::size_t i = 0; i < spec.features.size(); ++i) {
        j += (i ? ", " : "") + quote(spec.features[i]);
    }
    j += fmt::format("],\n  \"label\": {},\n", quote(spec.label));
    j += fmt::format("  \"data\": {},\n  \"split\": {},\n",
                     quote(source_text(spec)),
                     quote(split_text(spec)));
    j += fmt::format(
            "  \"rows\": {{\"train\": {}, \"test\": {}}},\n  \"rounds\": {},\n  \"trees\": {},\n",
            r.train_rows,
            r.test_rows,
            spec.rounds,
            r.info.num_trees);
    j += "  \"parameters\": {";
    for (std::size_t i = 0; i < spec.params.size(); ++i) {
        j += fmt::format("{}{}: {}",
                         i ? ", " : "",
                         quote(spec.params[i].first),
                         quote(spec.params[i].second));
    }
    j += "},\n  \"metrics\": {";
    if (r.classification) {
        const auto& c = *r.classification;
        j += fmt::format(
                "\"accuracy\": {:.6f}, \"precision\": {:.6f}, \"recall\": {:.6f}, \"f1\": {:.6f}, "
                "\"confusion\": [",
                c.accuracy,
                c.precision,
                c.recall,
                c.f1);
        for (std::size_t t = 0; t < c.confusion.size(); ++t) {
            j += t ? ", [" : "[";
            for (std::size_t p = 0; p < c.confusion[t].size(); ++p) {
                j += fmt::format("{}{}", p ? ", " : "", c.confusion[t][p]);
            }
            j += "]";
        }
        j += "]";
        if (r.info.task == model_task::binary) {
            j += fmt::format(", \"threshold\": {}", spec.threshold);
        }
    } else if (r.regression) {
        const auto& g = *r.regression;
        j += fmt::format(R"("rmse": {:.6f}, "mae": {:.6f}, "r2": {:.6f})", g.rmse, g.mae, g.r2);
    }
    j += "},\n  \"reference\": [";
    for (std::size_t i = 0; i < spec.reference.size(); ++i) {
        const auto& ref = spec.reference[i];
        const auto ours = our_metric(r, ref.name);
        j += fmt::format(R"({}{{"metric": {}, "reference": {}, "ours": {}, "source": {}}})",
                         i ? ", " : "",
                         quote(ref.name),
                         ref.value,
                         ours ? fmt::format("{:.6f}", *ours) : std::string("null"),
                         quote(ref.where));
    }
    j += "],\n  \"notes\": [";
    for (std::size_t i = 0; i < spec.notes.size(); ++i) {
        j += (i ? ", " : "") + quote(spec.notes[i]);
    }
    j += "]\n}\n";
    return j;
}

std::string model_card_markdown(const training_spec& spec, const training_result& r) {
    std::string m = fmt::format("# Model card: {}\n\n", spec.name);
    if (!spec.description.empty()) {
        m += spec.description + "\n\n";
    }
    std::string features;
    for (const auto& f : spec.features) {
        features += (features.empty() ? "" : ", ") + fmt::format("`{}`", f);
    }
    std::string params;
    for (const auto& [k, v] : spec.params) {
        params += (params.empty() ? "" : ", ") + fmt::format("{}={}", k, v);
    }
    m += "| | |\n|---|---|\n";
    m += fmt::format("| model | `{}` ({}, {}, {}) |\n",
                     spec.model_path,
                     r.info.objective,
                     r.info.booster,
                     to_string(r.info.task));
    m += fmt::format("| features | {} |\n| label | `{}` |\n", features, spec.label);
    m += fmt::format("| data | {} |\n| split | {} |\n", source_text(spec), split_text(spec));
    m += fmt::format("| rows | {} train, {} held out |\n", r.train_rows, r.test_rows);
    m += fmt::format("| rounds / trees | {} / {} |\n| parameters | {} |\n\n",
                     spec.rounds,
                     r.info.num_trees,
                     params);
    m += "## Held-out metrics\n\n| metric | ours |";
    const bool reference = !spec.reference.empty();
    m += reference ? " reference |\n|---|---|---|\n" : "\n|---|---|\n";
    const auto row = [&](const std::string& name, double value, bool percent) {
        std::string ref;
        for (const auto& x : spec.reference) {
            if (x.name == name) {
                ref = percent ? fmt::format("{:.1f} %", x.value * 100)
                              : fmt::format("{:.3f}", x.value);
                if (!x.where.empty()) {
                    ref += " (" + x.where + ")";
                }
            }
        }
        m += percent ? fmt::format("| {} | {:.1f} % |", name, value * 100)
                     : fmt::format("| {} | {:.3f} |", name, value);
        m += reference ? " " + ref + " |\n" : "\n";
    };
    if (r.classification) {
        const auto& c = *r.classification;
        row("accuracy", c.accuracy, true);
        row("precision", c.precision, true);
        row("recall", c.recall, true);
        row("f1", c.f1, true);
        m += fmt::format(
                "\n{} averages over classes{}.\n\nConfusion matrix (rows: true class, columns: "
                "predicted):\n\n|   |",
                c.classes > 2 ? "Precision, recall and F1 are macro"
                              : "Precision, recall and F1 are of class 1; no",
                r.info.task == model_task::binary ? fmt::format("; threshold {}", spec.threshold)
                                                  : "");
        for (std::size_t p = 0; p < c.classes; ++p) {
            m += fmt::format(" {} |", p);
        }
        m += "\n|---|";
        for (std::size_t p = 0; p < c.classes; ++p) {
            m += "---|";
        }
        m += "\n";
        for (std::size_t t = 0; t < c.classes; ++t) {
            m += fmt::format("| **{}** |", t);
            for (std::size_t p = 0; p < c.classes; ++p) {
                m += fmt::format(" {} |", c.confusion[t][p]);
            }
            m += "\n";
        }
    } else if (r.regression) {
        const auto& g = *r.regression;
        row("rmse", g.rmse, false);
        row("mae", g.mae, false);
        row("r2", g.r2, false);
    }
    if (!spec.notes.empty()) {
        m += "\n## Notes\n\n";
        for (const auto& n : spec.notes) {
            m += n + "\n\n";
        }
    }
    if (!r.evaluation_log.empty()) {
        m += fmt::format("Last boosting round: `{}`\n", r.evaluation_log.back().second);
    }
    return m;
}

void write_model_card(const training_spec& spec, const training_result& result) {
    if (spec.card_path.empty()) {
        return;
    }
    write_file(spec.card_path + ".json", model_card_json(spec, result));
    write_file(spec.card_path + ".md", model_card_markdown(spec, result));
}

}  // namespace sluice::ml
