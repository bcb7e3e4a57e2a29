#pragma once

#include <sluice/core/error.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sluice {

class options;

/// What a configuration value must look like.
enum class option_kind {
    string,          ///< a scalar string (choices may restrict it)
    integer,         ///< a whole number (min/max may bound it)
    number,          ///< a floating-point number (min/max may bound it)
    boolean,         ///< true/false
    duration,        ///< "50ms", "5s", "1m" ...
    string_list,     ///< [a, b] (a single scalar is accepted as a list of one)
    string_map,      ///< {key: scalar, ...}, order kept (e.g. a schema, librdkafka properties)
    object,          ///< a nested mapping validated against `nested`
    map_of_objects,  ///< {name: {...}, ...}, each value validated against `nested`
};

std::string_view to_string(option_kind kind) noexcept;

class option_spec;

/// One field of an operator's option spec. The spec is the documentation: `sluice explain`
/// prints every field with its kind, default, bounds and doc line.
struct option_field {
    std::string name;
    option_kind kind = option_kind::string;
    bool required = false;
    std::string default_value;            ///< as it would be written in YAML; empty = no default
    std::string doc;                      ///< one line: meaning and unit
    std::vector<std::string> choices;     ///< allowed values of a string field
    std::optional<double> min;            ///< inclusive lower bound of integer/number/duration (ns)
    std::optional<double> max;            ///< inclusive upper bound
    std::shared_ptr<option_spec> nested;  ///< fields of an object / map_of_objects value
    bool secret = false;                  ///< never printed (passwords, API keys)

    option_field& require() {
        required = true;
        return *this;
    }
    option_field& defaults(std::string value) {
        default_value = std::move(value);
        return *this;
    }
    option_field& describe(std::string text) {
        doc = std::move(text);
        return *this;
    }
    option_field& one_of(std::vector<std::string> values) {
        choices = std::move(values);
        return *this;
    }
    option_field& at_least(double value) {
        min = value;
        return *this;
    }
    option_field& at_most(double value) {
        max = value;
        return *this;
    }
    option_field& hide_value() {
        secret = true;
        return *this;
    }
    /// Declares the fields of a nested object; returns the nested spec to fill.
    option_spec& fields();
};

/// The option spec of an operator: its fields and cross-field checks.
class option_spec {
public:
    /// Adds a field; the reference stays valid for the spec's lifetime.
    option_field& field(std::string name, option_kind kind);

    /// Accept keys that are not declared (kept for the operator; e.g. pass-through maps).
    option_spec& allow_unknown_fields() {
        allow_unknown_ = true;
        return *this;
    }
    bool allows_unknown_fields() const noexcept { return allow_unknown_; }

    /// A check over several fields, run after each field passed its own validation.
    /// Report problems with `opts.error(...)` into `out`.
    using cross_check = std::function<void(const options& opts, diagnostics_collector& out)>;
    option_spec& check(cross_check check) {
        checks_.push_back(std::move(check));
        return *this;
    }

    const std::deque<option_field>& all_fields() const noexcept { return fields_; }
    const option_field* find(std::string_view name) const noexcept;
    const std::vector<cross_check>& checks() const noexcept { return checks_; }

private:
    std::deque<option_field> fields_;  // deque: references from field() stay valid
    std::vector<cross_check> checks_;
    bool allow_unknown_ = false;
};

}  // namespace sluice
