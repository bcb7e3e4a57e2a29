#pragma once

// Internal to operators/expr: the expression tree shared by the parser, the type checker and
// the evaluator. Not installed.

#include <sluice/core/column.hpp>
#include <sluice/core/data_type.hpp>
#include <sluice/ops/expression.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::detail::expr {

/// Value types during type checking: the column types plus the type of the `null` literal,
/// which fits anywhere.
enum class value_type : std::uint8_t {
    float64,
    int64,
    boolean,
    string,
    timestamp_ms,
    null
};

value_type from_data_type(data_type type) noexcept;
/// Precondition: type != null.
data_type to_data_type(value_type type) noexcept;
std::string_view to_string(value_type type) noexcept;

enum class node_kind : std::uint8_t {
    literal,
    column,
    unary,
    binary,
    call
};

enum class op : std::uint8_t {
    neg,
    logical_not,
    add,
    sub,
    mul,
    div,
    mod,
    eq,
    ne,
    lt,
    le,
    gt,
    ge,
    logical_and,
    logical_or,
};

/// The spelling used in messages ("+", "==", "and"...).
std::string_view to_string(op o) noexcept;

enum class function : std::uint8_t {
    abs,
    min,
    max,
    sqrt,
    log,
    exp,
    pow,
    floor,
    ceil,
    round,
    if_then_else,
    is_null,
    coalesce,
    starts_with,
    ends_with,
    contains,
    length,
};

/// A literal (also what constant folding produces). `is_null` literals keep the type they
/// were folded to (value_type::null only for a bare `null`).
struct literal_value {
    value_type type = value_type::null;
    bool is_null = true;
    double f64 = 0;
    std::int64_t i64 = 0;  // int64 and timestamp_ms
    bool boolean = false;
    std::string str;
};

/// One node of the tree. The parser fills kind, offset, name/oper/fn, args and literal; the
/// type checker fills type, operand_type and column_index (and may rewrite nodes).
struct node {
    node_kind kind = node_kind::literal;
    std::size_t offset = 0;  // 0-based: the operator token, function or column name, literal
    std::string name;        // column or function name as written
    op oper = op::add;
    function fn = function::abs;
    std::vector<std::unique_ptr<node>> args;
    literal_value literal;

    value_type type = value_type::null;          // result type
    value_type operand_type = value_type::null;  // type the operation computes in
    std::size_t column_index = 0;
};

using node_ptr = std::unique_ptr<node>;

/// Parses `text` into an untyped tree. On failure returns null and fills `error`.
node_ptr parse(std::string_view text, expression_error& error);

/// Names of the columns `text` refers to (empty if it does not parse).
std::vector<std::string> referenced_columns(std::string_view text);

/// Evaluates a typed tree over `rows` rows whose columns are laid out as the schema it was
/// compiled against, into a new column of `type` (the tree's type). Throws
/// std::invalid_argument when a column the tree reads is missing or of another type.
column evaluate_tree(const node& root,
                     data_type type,
                     std::span<const column_ptr> columns,
                     std::size_t rows);

/// Evaluates a bool tree into a selection (1 = true); returns the number selected.
std::size_t evaluate_tree_selection(const node& root,
                                    std::span<const column_ptr> columns,
                                    std::size_t rows,
                                    std::vector<std::uint8_t>& selection);

/// Evaluates a column-free typed tree once and returns its value (for constant folding).
literal_value evaluate_constant(const node& root);

/// The closest of `candidates` to `name` within a small edit distance, if any.
std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string_view>& candidates);

}  // namespace sluice::detail::expr
