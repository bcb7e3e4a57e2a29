#include "operator/options_impl.hpp"

#include <sluice/core/duration.hpp>
#include <sluice/core/edit_distance.hpp>

#include <fmt/format.h>

#include <charconv>
#include <stdexcept>

namespace sluice {
namespace {

const option_field& declared_field(const options::impl& state, std::string_view key) {
    const option_field* f = state.spec ? state.spec->find(key) : nullptr;
    if (f == nullptr) {
        throw std::logic_error(fmt::format("{} '{}': option '{}{}' is not declared in its spec",
                                           state.type,
                                           state.id,
                                           state.key_prefix,
                                           key));
    }
    return *f;
}

// The value written in the configuration, else the declared default parsed as YAML.
YAML::Node value_of(const options::impl& state, std::string_view key) {
    const auto& f = declared_field(state, key);
    if (state.node.IsMap()) {
        const YAML::Node written = state.node[std::string(key)];
        if (written.IsDefined() && !written.IsNull()) {
            return written;
        }
    }
    if (!f.default_value.empty()) {
        return YAML::Load(f.default_value);
    }
    if (f.kind == option_kind::object || f.kind == option_kind::map_of_objects ||
        f.kind == option_kind::string_list || f.kind == option_kind::string_map) {
        return YAML::Node(YAML::NodeType::Null);
    }
    throw std::logic_error(fmt::format("{} '{}': option '{}{}' has no value and no default",
                                       state.type,
                                       state.id,
                                       state.key_prefix,
                                       key));
}

std::optional<std::int64_t> parse_integer(const std::string& text) {
    std::int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::optional<double> parse_number(const std::string& text) {
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::optional<bool> parse_bool(const std::string& text) {
    if (text == "true" || text == "True" || text == "yes" || text == "on") {
        return true;
    }
    if (text == "false" || text == "False" || text == "no" || text == "off") {
        return false;
    }
    return std::nullopt;
}

std::string describe_node(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Scalar:
            return fmt::format("'{}'", node.Scalar());
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Map:
            return "a mapping";
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            break;
    }
    return "nothing";
}

}  // namespace

source_location location_of(const YAML::Node& node,
                            const std::string& file,
                            const source_location& fallback) {
    const auto mark = node.Mark();
    if (mark.is_null() || mark.line < 0) {
        source_location where = fallback;
        if (where.file.empty()) {
            where.file = file;
        }
        return where;
    }
    return {file,
            static_cast<std::size_t>(mark.line) + 1,
            static_cast<std::size_t>(mark.column) + 1};
}

std::string join_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) {
            out += ", ";
        }
        out += n;
    }
    return out;
}

namespace {

void validate_value(const options::impl& state,
                    const option_field& f,
                    const YAML::Node& value,
                    diagnostics_collector& out);

std::string qualified(const options::impl& state, std::string_view key) {
    return fmt::format("{}{}", state.key_prefix, key);
}

void report(const options::impl& state,
            const YAML::Node& at,
            std::string code,
            std::string message,
            diagnostics_collector& out) {
    out.add(location_of(at, state.file, state.fallback),
            std::move(code),
            fmt::format("{} '{}': {}", state.type, state.id, message));
}

void check_bounds(const options::impl& state,
                  const option_field& f,
                  const YAML::Node& value,
                  double number,
                  const std::string& shown,
                  const std::function<std::string(double)>& show_limit,
                  diagnostics_collector& out) {
    if (f.min && number < *f.min) {
        report(state,
               value,
               "out-of-range",
               fmt::format("'{}' must be at least {}, got {}",
                           qualified(state, f.name),
                           show_limit(*f.min),
                           shown),
               out);
    } else if (f.max && number > *f.max) {
        report(state,
               value,
               "out-of-range",
               fmt::format("'{}' must be at most {}, got {}",
                           qualified(state, f.name),
                           show_limit(*f.max),
                           shown),
               out);
    }
}

std::string show_number(double value) {
    return fmt::format("{}", value);
}

std::string show_duration_ns(double value) {
    return format_duration(std::chrono::nanoseconds(static_cast<std::int64_t>(value)));
}

void validate_value(const options::impl& state,
                    const option_field& f,
                    const YAML::Node& value,
                    diagnostics_collector& out) {
    const auto name = qualified(state, f.name);
    const auto expect_scalar = [&](std::string_view what) {
        if (!value.IsScalar()) {
            report(state,
                   value,
                   "wrong-type",
                   fmt::format("'{}' expects {}, found {}", name, what, describe_node(value)),
                   out);
            return false;
        }
        return true;
    };
    switch (f.kind) {
        case option_kind::string:
            if (!expect_scalar("a string")) {
                return;
            }
            if (!f.choices.empty()) {
                const auto& text = value.Scalar();
                if (std::find(f.choices.begin(), f.choices.end(), text) == f.choices.end()) {
                    const auto guess = closest_name(text, f.choices);
                    report(state,
                           value,
                           "bad-choice",
                           fmt::format(
                                   "'{}' must be one of {}; found '{}'{}",
                                   name,
                                   join_names(f.choices),
                                   text,
                                   guess.empty() ? "" : fmt::format("; did you mean '{}'?", guess)),
                           out);
                }
            }
            return;
        case option_kind::integer: {
            if (!expect_scalar("an integer")) {
                return;
            }
            const auto parsed = parse_integer(value.Scalar());
            if (!parsed) {
                report(state,
                       value,
                       "wrong-type",
                       fmt::format("'{}' expects an integer, found '{}'", name, value.Scalar()),
                       out);
                return;
            }
            check_bounds(state,
                         f,
                         value,
                         static_cast<double>(*parsed),
                         value.Scalar(),
                         show_number,
                         out);
            return;
        }
        case option_kind::number: {
            if (!expect_scalar("a number")) {
                return;
            }
            const auto parsed = parse_number(value.Scalar());
            if (!parsed) {
                report(state,
                       value,
                       "wrong-type",
                       fmt::format("'{}' expects a number, found '{}'", name, value.Scalar()),
                       out);
                return;
            }
            check_bounds(state, f, value, *parsed, value.Scalar(), show_number, out);
            return;
        }
        case option_kind::boolean:
            if (!expect_scalar("true or false")) {
                return;
            }
            if (!parse_bool(value.Scalar())) {
                report(state,
                       value,
                       "wrong-type",
                       fmt::format("'{}' expects true or false, found '{}'", name, value.Scalar()),
                       out);
            }
            return;
        case option_kind::duration: {
            if (!expect_scalar("a duration")) {
                return;
            }
            const auto parsed = parse_duration(value.Scalar());
            if (!parsed) {
                report(state,
                       value,
                       "bad-duration",
                       fmt::format("'{}' expects a duration like 50ms, 5s, 1m or 2h; found '{}'",
                                   name,
                                   value.Scalar()),
                       out);
                return;
            }
            check_bounds(state,
                         f,
                         value,
                         static_cast<double>(parsed->count()),
                         value.Scalar(),
                         show_duration_ns,
                         out);
            return;
        }
        case option_kind::string_list:
            if (value.IsScalar()) {
                return;
            }
            if (!value.IsSequence()) {
                report(state,
                       value,
                       "wrong-type",
                       fmt::format("'{}' expects a list of strings, found {}",
                                   name,
                                   describe_node(value)),
                       out);
                return;
            }
            for (const auto& item : value) {
                if (!item.IsScalar()) {
                    report(state,
                           item,
                           "wrong-type",
                           fmt::format("'{}' expects a list of strings, found {} in it",
                                       name,
                                       describe_node(item)),
                           out);
                }
            }
            return;
        case option_kind::string_map:
            if (!value.IsMap()) {
                report(state,
                       value,
                       "wrong-type",
                       fmt::format("'{}' expects a mapping, found {}", name, describe_node(value)),
                       out);
                return;
            }
            for (const auto& item : value) {
                if (!item.second.IsScalar()) {
                    report(state,
                           item.second,
                           "wrong-type",
                           fmt::format("'{}.{}' expects a single value, found {}",
                                       name,
                                       item.first.Scalar(),
                                       describe_node(item.second)),
                           out);
                }
            }
            return;
        case option_kind::object: {
            if (!value.IsMap()) {
                report(state,
                       value,
                       "wrong-type",
                       fmt::format("'{}' expects a mapping, found {}", name, describe_node(value)),
                       out);
                return;
            }
            options::impl nested = state;
            nested.node.reset(value);
            nested.spec = f.nested.get();
            nested.key_prefix = name + ".";
            validate_options(nested, {}, out);
            return;
        }
        case option_kind::map_of_objects: {
            if (!value.IsMap()) {
                report(state,
                       value,
                       "wrong-type",
                       fmt::format("'{}' expects a mapping, found {}", name, describe_node(value)),
                       out);
                return;
            }
            for (const auto& item : value) {
                if (!item.second.IsMap()) {
                    report(state,
                           item.second,
                           "wrong-type",
                           fmt::format("'{}.{}' expects a mapping, found {}",
                                       name,
                                       item.first.Scalar(),
                                       describe_node(item.second)),
                           out);
                    continue;
                }
                options::impl nested = state;
                nested.node.reset(item.second);
                nested.spec = f.nested.get();
                nested.key_prefix = fmt::format("{}.{}.", name, item.first.Scalar());
                validate_options(nested, {}, out);
            }
            return;
        }
    }
}

}  // namespace

void validate_options(const options::impl& state,
                      const std::set<std::string, std::less<>>& reserved,
                      diagnostics_collector& out) {
    const std::size_t errors_before = out.items().size();
    const option_spec& spec = *state.spec;
    std::vector<std::string> names;
    for (const auto& f : spec.all_fields()) {
        names.push_back(f.name);
    }
    const bool is_map = state.node.IsMap();
    if (!is_map && !state.node.IsNull() && state.node.IsDefined()) {
        report(state,
               state.node,
               "wrong-type",
               fmt::format("'{}' expects a mapping, found {}",
                           state.key_prefix.empty()
                                   ? state.id
                                   : state.key_prefix.substr(0, state.key_prefix.size() - 1),
                           describe_node(state.node)),
               out);
        return;
    }
    if (is_map) {
        for (const auto& item : state.node) {
            const auto& key = item.first.Scalar();
            if (reserved.count(key) != 0 || spec.find(key) != nullptr ||
                spec.allows_unknown_fields()) {
                continue;
            }
            const auto guess = closest_name(key, names);
            const auto shown = qualified(state, key);
            out.add(location_of(item.first, state.file, state.fallback),
                    "unknown-field",
                    fmt::format("{} '{}' has no field '{}'{} (fields: {})",
                                state.type,
                                state.id,
                                shown,
                                guess.empty() ? "" : fmt::format("; did you mean '{}'?", guess),
                                join_names(names)));
        }
    }
    for (const auto& f : spec.all_fields()) {
        const YAML::Node written = is_map ? state.node[f.name] : YAML::Node();
        if (!written.IsDefined() || written.IsNull()) {
            if (f.required) {
                out.add(location_of(state.node, state.file, state.fallback),
                        "missing-field",
                        fmt::format("{} '{}' requires '{}'",
                                    state.type,
                                    state.id,
                                    qualified(state, f.name)));
            }
            continue;
        }
        validate_value(state, f, written, out);
    }
    if (out.items().size() == errors_before) {
        const options opts(std::make_shared<const options::impl>(state));
        for (const auto& check : spec.checks()) {
            check(opts, out);
        }
    }
}

options::options(std::shared_ptr<const impl> state)
    : impl_(std::move(state)) {}

options options::from_values(const option_spec& spec,
                             std::string type,
                             std::string id,
                             const std::vector<std::pair<std::string, std::string>>& values) {
    auto state = std::make_shared<impl>();
    state->node.reset(YAML::Node(YAML::NodeType::Map));
    for (const auto& [key, text] : values) {
        state->node[key] = YAML::Load(text);
    }
    state->spec = &spec;
    state->file = "<code>";
    state->type = std::move(type);
    state->id = std::move(id);
    diagnostics_collector problems;
    validate_options(*state, {}, problems);
    problems.throw_if_any();
    return options(std::move(state));
}

const std::string& options::operator_type() const noexcept {
    return impl_->type;
}

const std::string& options::operator_id() const noexcept {
    return impl_->id;
}

bool options::is_set(std::string_view key) const {
    if (!impl_->node.IsMap()) {
        return false;
    }
    const YAML::Node written = impl_->node[std::string(key)];
    return written.IsDefined() && !written.IsNull();
}

std::string options::get_string(std::string_view key) const {
    return value_of(*impl_, key).Scalar();
}

std::int64_t options::get_int(std::string_view key) const {
    const auto parsed = parse_integer(value_of(*impl_, key).Scalar());
    if (!parsed) {
        throw std::logic_error(fmt::format("option '{}' is not an integer", key));
    }
    return *parsed;
}

double options::get_number(std::string_view key) const {
    const auto parsed = parse_number(value_of(*impl_, key).Scalar());
    if (!parsed) {
        throw std::logic_error(fmt::format("option '{}' is not a number", key));
    }
    return *parsed;
}

bool options::get_bool(std::string_view key) const {
    const auto parsed = parse_bool(value_of(*impl_, key).Scalar());
    if (!parsed) {
        throw std::logic_error(fmt::format("option '{}' is not a bool", key));
    }
    return *parsed;
}

std::chrono::nanoseconds options::get_duration(std::string_view key) const {
    const auto parsed = parse_duration(value_of(*impl_, key).Scalar());
    if (!parsed) {
        throw std::logic_error(fmt::format("option '{}' is not a duration", key));
    }
    return *parsed;
}

std::vector<std::string> options::get_string_list(std::string_view key) const {
    const auto value = value_of(*impl_, key);
    std::vector<std::string> out;
    if (value.IsScalar()) {
        out.push_back(value.Scalar());
    } else if (value.IsSequence()) {
        for (const auto& item : value) {
            out.push_back(item.Scalar());
        }
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> options::get_string_map(
        std::string_view key) const {
    const auto value = value_of(*impl_, key);
    std::vector<std::pair<std::string, std::string>> out;
    if (value.IsMap()) {
        for (const auto& item : value) {
            out.emplace_back(item.first.Scalar(), item.second.Scalar());
        }
    }
    return out;
}

options options::child(std::string_view key) const {
    const auto& f = declared_field(*impl_, key);
    auto state = std::make_shared<impl>(*impl_);
    state->node.reset(value_of(*impl_, key));
    state->spec = f.nested.get();
    state->key_prefix = fmt::format("{}{}.", impl_->key_prefix, key);
    if (!state->node.IsDefined() || state->node.IsNull()) {
        state->fallback = location(key);
    }
    return options(std::move(state));
}

std::vector<std::pair<std::string, options>> options::children(std::string_view key) const {
    const auto& f = declared_field(*impl_, key);
    const auto value = value_of(*impl_, key);
    std::vector<std::pair<std::string, options>> out;
    if (!value.IsMap()) {
        return out;
    }
    for (const auto& item : value) {
        auto state = std::make_shared<impl>(*impl_);
        state->node.reset(item.second);
        state->spec = f.nested.get();
        state->key_prefix = fmt::format("{}{}.{}.", impl_->key_prefix, key, item.first.Scalar());
        out.emplace_back(item.first.Scalar(), options(std::move(state)));
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> options::extra_fields() const {
    std::vector<std::pair<std::string, std::string>> out;
    if (!impl_->node.IsMap()) {
        return out;
    }
    for (const auto& item : impl_->node) {
        const auto& key = item.first.Scalar();
        if (key == "type" || key == "inputs" || impl_->spec->find(key) != nullptr) {
            continue;
        }
        out.emplace_back(key, item.second.IsScalar() ? item.second.Scalar() : std::string());
    }
    return out;
}

source_location options::location(std::string_view key) const {
    YAML::Node current = impl_->node;
    std::string_view rest = key;
    while (!rest.empty() && current.IsMap()) {
        const auto dot = rest.find('.');
        const auto part = std::string(rest.substr(0, dot));
        const YAML::Node next = current[part];
        if (!next.IsDefined()) {
            break;
        }
        current.reset(next);  // rebind: operator= would overwrite the node
        rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    }
    return location_of(current, impl_->file, impl_->fallback);
}

source_location options::location() const {
    return location_of(impl_->node, impl_->file, impl_->fallback);
}

diagnostic options::error(std::string_view key, std::string code, std::string message) const {
    return {location(key),
            std::move(code),
            fmt::format("{} '{}': {}", impl_->type, impl_->id, message)};
}

}  // namespace sluice
