#include <sluice/operator/option_spec.hpp>

namespace sluice {

std::string_view to_string(option_kind kind) noexcept {
    switch (kind) {
        case option_kind::string:
            return "string";
        case option_kind::integer:
            return "integer";
        case option_kind::number:
            return "number";
        case option_kind::boolean:
            return "bool";
        case option_kind::duration:
            return "duration";
        case option_kind::string_list:
            return "list of strings";
        case option_kind::string_map:
            return "mapping of strings";
        case option_kind::object:
            return "mapping";
        case option_kind::map_of_objects:
            return "mapping of mappings";
    }
    return "unknown";
}

option_spec& option_field::fields() {
    if (!nested) {
        nested = std::make_shared<option_spec>();
    }
    return *nested;
}

option_field& option_spec::field(std::string name, option_kind kind) {
    auto& f = fields_.emplace_back();
    f.name = std::move(name);
    f.kind = kind;
    return f;
}

const option_field* option_spec::find(std::string_view name) const noexcept {
    for (const auto& f : fields_) {
        if (f.name == name) {
            return &f;
        }
    }
    return nullptr;
}

}  // namespace sluice
