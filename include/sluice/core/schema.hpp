#pragma once

#include <sluice/core/data_type.hpp>

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// One named, typed field of a schema.
struct field {
    std::string name;  ///< column name, unique within a schema
    data_type type;    ///< value type
    bool nullable = true;

    bool operator==(const field&) const = default;
};

/// Ordered named, typed fields. Immutable once built and shared between batches through
/// `schema_ptr`; thread-safe for concurrent reads.
class schema {
public:
    schema() = default;
    explicit schema(std::vector<field> fields);
    schema(std::initializer_list<field> fields);

    const std::vector<field>& fields() const noexcept { return fields_; }
    std::size_t size() const noexcept { return fields_.size(); }
    const field& at(std::size_t index) const { return fields_.at(index); }

    /// Index of the field called `name`, or nullopt.
    std::optional<std::size_t> index_of(std::string_view name) const noexcept;

    /// A readable one-line form: "{sensor_id: string, temperature: float64}".
    std::string to_string() const;

    bool operator==(const schema& other) const { return fields_ == other.fields_; }

private:
    std::vector<field> fields_;
};

using schema_ptr = std::shared_ptr<const schema>;

/// Convenience: make a shared schema.
schema_ptr make_schema(std::vector<field> fields);

}  // namespace sluice
