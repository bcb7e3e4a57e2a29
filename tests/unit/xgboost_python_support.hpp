#pragma once

// Shared by the xgboost tests that check models written by XGBoost's Python package (Debian
// python3-xgboost, used only in tests): run a script that writes models and the package's own
// predictions as CSV, then read those numbers back.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace xgboost_python {

/// What every script starts with: `out` (the folder) and train_and_save(), which trains each
/// model, saves it as JSON and as UBJSON, and writes the rows T (rows.csv) and the package's
/// own predictions for them (<name>.expected.csv).
inline const char* const prelude = R"PY(
import sys, numpy as np, xgboost as xgb
out = sys.argv[1]
def train_and_save(models, X, T, names, seed, rounds):
    np.savetxt(out + "/rows.csv", T, delimiter=",", fmt="%.9g")
    for name, (y, params) in models.items():
        b = xgb.train(dict(params, seed=seed, nthread=1), xgb.DMatrix(X, label=y, feature_names=names), rounds)
        b.save_model(out + "/" + name + ".json")
        b.save_model(out + "/" + name + ".ubj")
        p = b.predict(xgb.DMatrix(T, feature_names=names))
        np.savetxt(out + "/" + name + ".expected.csv", p.reshape(len(T), -1), delimiter=",", fmt="%.9g")
)PY";

/// Writes `prelude` + `script` to `dir`/make_models.py and runs it with `dir` as its argument.
inline void run_script(const std::filesystem::path& dir, const std::string& script) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "make_models.py") << prelude << script;
    const auto command =
            "/usr/bin/python3 " + (dir / "make_models.py").string() + " " + dir.string();
    INFO("running " << command);
    REQUIRE(std::system(command.c_str()) == 0);
}

/// Every number of a CSV file written by numpy.savetxt, row by row ("nan" = missing).
inline std::vector<double> read_csv(const std::filesystem::path& path) {
    std::vector<double> values;
    std::ifstream in(path);
    std::string line;
    std::string cell;
    while (std::getline(in, line)) {
        std::stringstream s(line);
        while (std::getline(s, cell, ',')) {
            values.push_back(cell == "nan" ? std::numeric_limits<double>::quiet_NaN()
                                           : std::stod(cell));
        }
    }
    return values;
}

}  // namespace xgboost_python
