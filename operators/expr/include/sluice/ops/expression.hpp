#pragma once

#include <sluice/core/batch.hpp>
#include <sluice/core/column.hpp>
#include <sluice/core/data_type.hpp>
#include <sluice/core/schema.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

/// \file
/// Sluice's expression language: compiled once against a schema, evaluated a column at a
/// time over batches. operators/expr/README.md is the language reference.
///
/// ```
/// auto compiled = sluice::compile_expression("temperature * 9 / 5 + 32", *input.schema());
/// if (!compiled) { report(compiled.error().to_string()); }
/// sluice::column fahrenheit = sluice::evaluate(*compiled, input);
/// ```

namespace sluice {

namespace detail::expr {
struct node;
}  // namespace detail::expr

class expression_result;
class compiled_expression;
expression_result compile_expression(std::string_view text, const schema& input);

/// Why an expression did not compile: a message and where in the expression text it points.
struct expression_error {
    std::string message;     ///< e.g. "unknown column 'temprature'; did you mean 'temperature'?"
    std::size_t offset = 0;  ///< 0-based byte offset of the offending token in the text

    /// The 1-based column of the offending token within the expression text.
    std::size_t column() const noexcept { return offset + 1; }
    /// "col 12: <message>".
    std::string to_string() const;
};

/// An expression type-checked against a schema, ready to evaluate over batches of that schema.
///
/// Immutable and cheap to copy (the compiled tree is shared). `evaluate` may be called on one
/// compiled expression from any number of threads at once.
class compiled_expression {
public:
    /// The type of the column `evaluate` returns (never "null": an always-null expression
    /// is a compile error because its type cannot be known).
    data_type type() const noexcept { return type_; }
    /// The expression text as given to `compile_expression`.
    const std::string& text() const noexcept { return text_; }
    /// True if the value does not depend on any column (it was folded to a literal).
    bool is_constant() const noexcept;
    /// Indices (into the schema compiled against) of the columns the expression reads, sorted.
    const std::vector<std::size_t>& columns_used() const noexcept { return columns_used_; }
    /// If the whole expression is a bare column reference: that column's index, else -1.
    std::ptrdiff_t column_reference() const noexcept;
    /// The tree (internal; detail/ has no stability promise).
    const detail::expr::node& root() const noexcept { return *root_; }

private:
    friend expression_result compile_expression(std::string_view text, const schema& input);
    std::shared_ptr<const detail::expr::node> root_;
    data_type type_ = data_type::float64;
    std::string text_;
    std::vector<std::size_t> columns_used_;
};

/// A compiled expression or the first error found in it.
class expression_result {
public:
    // NOLINTNEXTLINE(google-explicit-constructor): implicit, as std::expected's are
    expression_result(compiled_expression value)
        : state_(std::move(value)) {}
    // NOLINTNEXTLINE(google-explicit-constructor): implicit, as std::expected's are
    expression_result(expression_error error)
        : state_(std::move(error)) {}

    bool ok() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    /// Precondition: ok() (throws std::bad_variant_access otherwise).
    const compiled_expression& value() const& { return std::get<0>(state_); }
    compiled_expression&& value() && { return std::get<0>(std::move(state_)); }
    const compiled_expression& operator*() const& { return value(); }
    const compiled_expression* operator->() const { return &value(); }
    /// Precondition: !ok() (throws std::bad_variant_access otherwise).
    const expression_error& error() const { return std::get<1>(state_); }

private:
    std::variant<compiled_expression, expression_error> state_;
};

/// Parses and type-checks `text` against `input`: column names resolve to fields of `input`,
/// operator and function types are checked, constant sub-expressions are folded.
///
/// Never throws for a bad expression; returns an error naming the problem and its offset:
/// syntax errors (unterminated string, unexpected or trailing tokens), unknown columns and
/// functions (with the closest name as a suggestion), type mismatches, wrong arity, and an
/// expression that is always null. Thread-safe.
expression_result compile_expression(std::string_view text, const schema& input);

/// Evaluates `expr` over every row of `input`, vectorised a column at a time. The result has
/// `expr.type()` and `input.num_rows()` rows; missing values (null inputs, division by zero)
/// are marked in its validity bitmap.
///
/// Precondition: `input` has the schema `expr` was compiled against, or at least the same
/// fields at the indices the expression reads (throws std::invalid_argument otherwise: a bug,
/// not a data problem). Data never makes it throw. Thread-safe.
column evaluate(const compiled_expression& expr, const batch& input);

/// Like `evaluate`, but shares the input column when the expression is a bare column
/// reference instead of copying it.
column_ptr evaluate_shared(const compiled_expression& expr, const batch& input);

/// Same as `evaluate_shared`, over columns laid out as the schema compiled against (for
/// operators that build their output a column at a time). `columns[i]` may be null for the
/// indices the expression does not read. Precondition as for `evaluate`.
column_ptr evaluate_columns(const compiled_expression& expr,
                            std::span<const column_ptr> columns,
                            std::size_t num_rows);

/// For a bool expression: fills `selection` with one byte per row of `input`, 1 where the
/// expression is true and 0 where it is false or null (SQL WHERE semantics). Returns the number
/// of selected rows. Precondition: `expr.type() == data_type::boolean` (throws
/// std::invalid_argument otherwise) and as for `evaluate`. Thread-safe.
std::size_t evaluate_selection(const compiled_expression& expr,
                               const batch& input,
                               std::vector<std::uint8_t>& selection);

}  // namespace sluice
