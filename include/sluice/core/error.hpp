#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice {

/// A place in a configuration file; line and column are 1-based (0 = unknown).
struct source_location {
    std::string file;
    std::size_t line = 0;
    std::size_t column = 0;
};

/// One configuration problem, printed like a compiler's:
/// `path:LINE:COL: error[code]: message`.
struct diagnostic {
    source_location where;
    std::string code;     ///< stable machine-readable kind, e.g. "unknown-field"
    std::string message;  ///< names the operator type and id, expected vs found

    std::string to_string() const;
};

/// Thrown at load/build time when a pipeline is invalid. Holds every diagnostic found
/// (sorted by position, at most `max_reported`), not only the first.
class config_error : public std::runtime_error {
public:
    static constexpr std::size_t max_reported = 20;

    explicit config_error(std::vector<diagnostic> diagnostics);
    const std::vector<diagnostic>& diagnostics() const noexcept { return diagnostics_; }
    /// How many problems were found in all, including those beyond `max_reported`.
    std::size_t total() const noexcept { return total_; }
    /// Every shown diagnostic, one per line.
    const char* what() const noexcept override { return message_.c_str(); }

private:
    std::vector<diagnostic> diagnostics_;
    std::string message_;
    std::size_t total_ = 0;
};

/// Thrown when an operator cannot go on at run time (e.g. an output file cannot be written).
/// The message names the operator type and id.
class operator_error : public std::runtime_error {
public:
    operator_error(const std::string& type, const std::string& id, const std::string& what);
};

/// Collects diagnostics, then throws them all at once.
class diagnostics_collector {
public:
    void add(diagnostic d) { items_.push_back(std::move(d)); }
    void add(source_location where, std::string code, std::string message) {
        items_.push_back({std::move(where), std::move(code), std::move(message)});
    }
    bool empty() const noexcept { return items_.empty(); }
    const std::vector<diagnostic>& items() const noexcept { return items_; }
    /// Throws config_error if any diagnostic was added.
    void throw_if_any() const;

private:
    std::vector<diagnostic> items_;
};

}  // namespace sluice
