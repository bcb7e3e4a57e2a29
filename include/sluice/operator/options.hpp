#pragma once

#include <sluice/core/error.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

class option_spec;

/// The validated options of one operator (or of one nested object), as its factory sees them.
///
/// Every field declared in the spec can be read with the getter of its kind; absent fields
/// read as their declared default. The values were validated against the spec before the
/// factory runs, so the getters only throw on programming errors (wrong kind, undeclared key).
/// `location()` and `error()` point problems found later (e.g. in `bind`) at the YAML text.
class options {
public:
    struct impl;
    explicit options(std::shared_ptr<const impl> state);

    /// Options built in code (no YAML): `values` are YAML texts, e.g. {"path", "out.ndjson"}.
    /// Validated against `spec`; throws config_error when they do not fit.
    static options from_values(const option_spec& spec,
                               std::string type,
                               std::string id,
                               const std::vector<std::pair<std::string, std::string>>& values);

    const std::string& operator_type() const noexcept;
    const std::string& operator_id() const noexcept;

    /// True if the key is written in the configuration (defaults do not count).
    bool is_set(std::string_view key) const;

    std::string get_string(std::string_view key) const;
    std::int64_t get_int(std::string_view key) const;
    double get_number(std::string_view key) const;
    bool get_bool(std::string_view key) const;
    std::chrono::nanoseconds get_duration(std::string_view key) const;
    std::vector<std::string> get_string_list(std::string_view key) const;
    std::vector<std::pair<std::string, std::string>> get_string_map(std::string_view key) const;
    options child(std::string_view key) const;
    std::vector<std::pair<std::string, options>> children(std::string_view key) const;
    /// Keys written in the configuration but not declared (only with allow_unknown_fields).
    std::vector<std::pair<std::string, std::string>> extra_fields() const;

    /// Where the value of `key` is written (the enclosing mapping if absent). A dotted key
    /// ("schema.temperature") goes through nested mappings.
    source_location location(std::string_view key) const;
    /// Where this mapping starts.
    source_location location() const;
    /// A diagnostic located at `key`, with "<type> '<id>': " prefixed to `message`.
    diagnostic error(std::string_view key, std::string code, std::string message) const;

    const impl& state() const noexcept { return *impl_; }

private:
    std::shared_ptr<const impl> impl_;
};

}  // namespace sluice
