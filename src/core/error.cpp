#include <sluice/core/error.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace sluice {
namespace {

std::string join_diagnostics(const std::vector<diagnostic>& diagnostics, std::size_t total) {
    std::string out;
    for (const auto& d : diagnostics) {
        if (!out.empty()) {
            out += '\n';
        }
        out += d.to_string();
    }
    if (total > diagnostics.size()) {
        out += fmt::format("\n({} more errors not shown)", total - diagnostics.size());
    }
    return out;
}

std::vector<diagnostic> sorted_and_capped(std::vector<diagnostic> diagnostics) {
    std::stable_sort(
            diagnostics.begin(), diagnostics.end(), [](const diagnostic& a, const diagnostic& b) {
                if (a.where.file != b.where.file) {
                    return a.where.file < b.where.file;
                }
                if (a.where.line != b.where.line) {
                    return a.where.line < b.where.line;
                }
                return a.where.column < b.where.column;
            });
    // The same problem found twice (e.g. by a field check and a bind check) is reported once.
    diagnostics.erase(std::unique(diagnostics.begin(),
                                  diagnostics.end(),
                                  [](const diagnostic& a, const diagnostic& b) {
                                      return a.to_string() == b.to_string();
                                  }),
                      diagnostics.end());
    return diagnostics;
}

}  // namespace

std::string diagnostic::to_string() const {
    if (where.file.empty()) {
        return fmt::format("error[{}]: {}", code, message);
    }
    if (where.line == 0) {
        return fmt::format("{}: error[{}]: {}", where.file, code, message);
    }
    return fmt::format(
            "{}:{}:{}: error[{}]: {}", where.file, where.line, where.column, code, message);
}

config_error::config_error(std::vector<diagnostic> diagnostics)
    : std::runtime_error("invalid configuration") {
    diagnostics_ = sorted_and_capped(std::move(diagnostics));
    total_ = diagnostics_.size();
    if (diagnostics_.size() > max_reported) {
        diagnostics_.resize(max_reported);
    }
    message_ = join_diagnostics(diagnostics_, total_);
}

operator_error::operator_error(const std::string& type,
                               const std::string& id,
                               const std::string& what)
    : std::runtime_error(fmt::format("{} '{}': {}", type, id, what)) {}

void diagnostics_collector::throw_if_any() const {
    if (!items_.empty()) {
        throw config_error(items_);
    }
}

}  // namespace sluice
