#include <sluice/core/assert.hpp>
#include <sluice/core/batch.hpp>

namespace sluice {

batch::batch(schema_ptr schema, std::vector<column_ptr> columns)
    : schema_(std::move(schema))
    , columns_(std::move(columns)) {
    SLUICE_ASSERT(schema_ != nullptr);
    SLUICE_ASSERT(schema_->size() == columns_.size());
    num_rows_ = columns_.empty() ? 0 : columns_.front()->size();
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        SLUICE_ASSERT(columns_[i] != nullptr);
        SLUICE_ASSERT(columns_[i]->size() == num_rows_);
        const auto expected = schema_->at(i).type;
        const auto actual = columns_[i]->type();
        SLUICE_ASSERT(expected == actual ||
                      (is_integer_storage(expected) && is_integer_storage(actual)));
    }
}

const column* batch::find_column(std::string_view name) const noexcept {
    if (!schema_) {
        return nullptr;
    }
    const auto index = schema_->index_of(name);
    return index ? columns_[*index].get() : nullptr;
}

void batch::set_created_ns(column_ptr created) {
    SLUICE_ASSERT(created == nullptr ||
                  (created->type() == data_type::int64 && created->size() == num_rows_));
    created_ns_ = std::move(created);
}

void batch::inherit_lineage(const batch& input, std::span<const std::uint8_t> selection) {
    inherit_lineage(input);
    if (input.created_ns_ && selection.size() == input.num_rows_) {
        auto kept = std::make_shared<const column>(input.created_ns_->filter(selection));
        created_ns_ = kept->size() == num_rows_ ? std::move(kept) : nullptr;
    }
}

void batch::inherit_lineage(const batch& input) {
    created_ns_ = input.num_rows_ == num_rows_ ? input.created_ns_ : nullptr;
    origin_ = input.origin_;
    watermark_ms_ = input.watermark_ms_;
    acks_ = input.acks_;
    flight_ = input.flight_;
    event_time_column_.reset();
    if (input.event_time_column_ && input.schema_ && schema_) {
        const auto& name = input.schema_->at(*input.event_time_column_).name;
        event_time_column_ = schema_->index_of(name);
    }
}

std::vector<source_position> batch::source_positions() const {
    std::vector<source_position> out;
    for (const auto& ack : acks_) {
        const auto& positions = ack->positions();
        out.insert(out.end(), positions.begin(), positions.end());
    }
    return out;
}

batch batch::filter_rows(std::span<const std::uint8_t> selection) const {
    std::vector<column_ptr> kept;
    kept.reserve(columns_.size());
    for (const auto& c : columns_) {
        kept.push_back(std::make_shared<const column>(c->filter(selection)));
    }
    batch out(schema_, std::move(kept));
    out.inherit_lineage(*this, selection);
    return out;
}

batch batch::with_column(const field& new_field, column_ptr values) const {
    SLUICE_ASSERT(values != nullptr && values->size() == num_rows_);
    std::vector<field> fields = schema_->fields();
    std::vector<column_ptr> columns = columns_;
    if (const auto index = schema_->index_of(new_field.name)) {
        fields[*index] = new_field;
        columns[*index] = std::move(values);
    } else {
        fields.push_back(new_field);
        columns.push_back(std::move(values));
    }
    batch out(make_schema(std::move(fields)), std::move(columns));
    out.inherit_lineage(*this);
    return out;
}

}  // namespace sluice
