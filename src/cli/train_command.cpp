// `sluice train SPEC.yaml`: trains an XGBoost model from a training spec and writes the model
// and its card. Offered only when the xgboost operator family is built (its header is then
// visible); otherwise register_train_command() registers nothing.

#include "cli.hpp"

#if __has_include(<sluice/ops/xgboost.hpp>)

#    include <sluice/ops/xgboost.hpp>

#    include <fmt/format.h>

#    include <cstdio>
#    include <exception>
#    include <string>

namespace sluice::cli {

namespace {

int train_command(const arguments& args) {
    std::string spec_path;
    bool quiet = false;
    std::string model_override;
    std::string card_override;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& a = args[i];
        if (a == "--quiet") {
            quiet = true;
        } else if (a == "--model" || a == "--card") {
            if (i + 1 >= args.size()) {
                print_error(fmt::format("train: '{}' needs a value (a file path)", a));
                return exit_invalid;
            }
            (a == "--model" ? model_override : card_override) = args[++i];
        } else if (!a.empty() && a[0] == '-') {
            print_error(fmt::format("train: unknown option '{}'", a));
            return exit_invalid;
        } else if (spec_path.empty()) {
            spec_path = a;
        } else {
            print_error("train: only one SPEC.yaml is accepted");
            return exit_invalid;
        }
    }
    if (spec_path.empty()) {
        print_error("train: usage: sluice train SPEC.yaml [--model PATH] [--card PATH] [--quiet]");
        return exit_invalid;
    }
    ml::training_spec spec;
    try {
        spec = ml::load_training_spec(spec_path);
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "%s\n", e.what());
        return exit_invalid;
    }
    if (!model_override.empty()) {
        spec.model_path = model_override;
    }
    if (!card_override.empty()) {
        spec.card_path = card_override;
    }
    try {
        const auto table = ml::load_training_table(spec);
        if (!quiet) {
            (void)std::fprintf(stderr,
                               "training '%s': %zu rows, %zu features, label '%s', %zu rounds\n",
                               spec.name.c_str(),
                               table.rows(),
                               table.features.size(),
                               spec.label.c_str(),
                               spec.rounds);
        }
        const auto result = ml::train_model(
                spec, table, [&](std::size_t round, std::size_t rounds, const std::string& eval) {
                    if (!quiet) {
                        (void)std::fprintf(
                                stderr, "round %zu/%zu %s\n", round, rounds, eval.c_str());
                    }
                });
        ml::write_model_card(spec, result);
        std::string summary;
        if (result.classification) {
            const auto& c = *result.classification;
            summary = fmt::format("accuracy {:.2f} %, precision {:.3f}, recall {:.3f}, F1 {:.3f}",
                                  c.accuracy * 100,
                                  c.precision,
                                  c.recall,
                                  c.f1);
        } else if (result.regression) {
            const auto& g = *result.regression;
            summary = fmt::format("RMSE {:.3f}, MAE {:.3f}, R² {:.3f}", g.rmse, g.mae, g.r2);
        }
        std::printf(
                "%s: wrote %s (%zu trees); held out %zu rows: %s%s\n",
                spec.name.c_str(),
                spec.model_path.c_str(),
                result.info.num_trees,
                result.test_rows,
                summary.c_str(),
                spec.card_path.empty() ? "" : fmt::format("; card {}.md", spec.card_path).c_str());
        return exit_ok;
    } catch (const std::exception& e) {
        print_error(fmt::format("train '{}': {}", spec.name, e.what()));
        return exit_failure;
    }
}

}  // namespace

void register_train_command() {
    register_command({"train",
                      "train SPEC.yaml [--model PATH] [--card PATH] [--quiet]",
                      "train an XGBoost model from a training spec (simulator, NDJSON or CSV) "
                      "and write its card",
                      &train_command});
}

}  // namespace sluice::cli

#else

namespace sluice::cli {

// Built without the xgboost family: there is no `train` to offer, and --help leaves it out.
void register_train_command() {}

}  // namespace sluice::cli

#endif
