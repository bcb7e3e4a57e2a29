#include <sluice/core/schema.hpp>

#include <fmt/format.h>

namespace sluice {

schema::schema(std::vector<field> fields)
    : fields_(std::move(fields)) {}

schema::schema(std::initializer_list<field> fields)
    : fields_(fields) {}

std::optional<std::size_t> schema::index_of(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < fields_.size(); ++i) {
        if (fields_[i].name == name) {
            return i;
        }
    }
    return std::nullopt;
}

std::string schema::to_string() const {
    std::string out = "{";
    for (std::size_t i = 0; i < fields_.size(); ++i) {
        fmt::format_to(std::back_inserter(out),
                       "{}{}: {}",
                       i == 0 ? "" : ", ",
                       fields_[i].name,
                       sluice::to_string(fields_[i].type));
    }
    out += "}";
    return out;
}

schema_ptr make_schema(std::vector<field> fields) {
    return std::make_shared<const schema>(std::move(fields));
}

}  // namespace sluice
