// Lexer and recursive-descent parser of the expression language (grammar in README.md).
// Errors carry the 0-based offset of the token they point at; nothing here throws for bad
// input.

#include "expression_ast.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

namespace sluice::detail::expr {

namespace {

enum class token_kind : std::uint8_t {
    end,
    integer,
    real,
    string,
    identifier,  // bare or `backquoted`
    lparen,
    rparen,
    comma,
    plus,
    minus,
    star,
    slash,
    percent,
    eq,
    ne,
    lt,
    le,
    gt,
    ge,
    logical_and,
    logical_or,
    logical_not,
    true_literal,
    false_literal,
    null,
};

struct token {
    token_kind kind = token_kind::end;
    std::size_t offset = 0;
    std::string_view source;  // the token as written
    std::string text;         // identifier name or string value (escapes resolved)
    std::int64_t integer = 0;
    double real = 0;
};

// Deeper nesting (parentheses, arguments, prefix operators) than this is reported instead of
// risking the stack.
constexpr int max_depth = 200;

bool is_ident_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}

bool is_ident_char(char c) {
    // Dots are allowed inside names so that flattened JSON fields ("location.lat") need no
    // backquotes; the language has no member access that they could clash with.
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.';
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

class lexer {
public:
    explicit lexer(std::string_view text)
        : text_(text) {}

    // Tokenizes everything up front; false (and `error`) on the first bad token.
    bool run(std::vector<token>& out, expression_error& error) {
        for (;;) {
            token t;
            if (!next(t, error)) {
                return false;
            }
            const bool done = t.kind == token_kind::end;
            out.push_back(std::move(t));
            if (done) {
                return true;
            }
        }
    }

private:
    bool fail(expression_error& error, std::size_t offset, std::string message) {
        error = {std::move(message), offset};
        return false;
    }

    bool next(token& t, expression_error& error) {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])) != 0) {
            ++pos_;
        }
        t.offset = pos_;
        if (pos_ >= text_.size()) {
            t.kind = token_kind::end;
            return true;
        }
        const char c = text_[pos_];
        const char n = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
        auto single = [&](token_kind kind, std::size_t length = 1) {
            t.kind = kind;
            t.source = text_.substr(pos_, length);
            pos_ += length;
            return true;
        };
        switch (c) {
            case '(':
                return single(token_kind::lparen);
            case ')':
                return single(token_kind::rparen);
            case ',':
                return single(token_kind::comma);
            case '+':
                return single(token_kind::plus);
            case '-':
                return single(token_kind::minus);
            case '*':
                return single(token_kind::star);
            case '/':
                return single(token_kind::slash);
            case '%':
                return single(token_kind::percent);
            case '=':
                return n == '=' ? single(token_kind::eq, 2) : single(token_kind::eq);
            case '!':
                return n == '=' ? single(token_kind::ne, 2) : single(token_kind::logical_not);
            case '<':
                if (n == '=') {
                    return single(token_kind::le, 2);
                }
                if (n == '>') {
                    return single(token_kind::ne, 2);
                }
                return single(token_kind::lt);
            case '>':
                return n == '=' ? single(token_kind::ge, 2) : single(token_kind::gt);
            case '&':
                if (n == '&') {
                    return single(token_kind::logical_and, 2);
                }
                return fail(error, pos_, "unexpected character '&'; did you mean '&&' or 'and'?");
            case '|':
                if (n == '|') {
                    return single(token_kind::logical_or, 2);
                }
                return fail(error, pos_, "unexpected character '|'; did you mean '||' or 'or'?");
            case '"':
            case '\'':
                return string_literal(t, error);
            case '`':
                return quoted_name(t, error);
            default:
                break;
        }
        if (std::isdigit(static_cast<unsigned char>(c)) != 0 ||
            (c == '.' && std::isdigit(static_cast<unsigned char>(n)) != 0)) {
            return number(t, error);
        }
        if (is_ident_start(c)) {
            return word(t);
        }
        if (std::isprint(static_cast<unsigned char>(c)) != 0) {
            return fail(error, pos_, fmt::format("unexpected character '{}'", c));
        }
        return fail(error,
                    pos_,
                    fmt::format("unexpected byte 0x{:02x}", static_cast<unsigned char>(c)));
    }

    bool string_literal(token& t, expression_error& error) {
        const char quote = text_[pos_];
        const std::size_t start = pos_;
        std::size_t i = pos_ + 1;
        std::string value;
        while (i < text_.size() && text_[i] != quote) {
            if (text_[i] == '\\') {
                if (i + 1 >= text_.size()) {
                    break;
                }
                const char e = text_[i + 1];
                switch (e) {
                    case '\\':
                    case '\'':
                    case '"':
                        value += e;
                        break;
                    case 'n':
                        value += '\n';
                        break;
                    case 't':
                        value += '\t';
                        break;
                    case 'r':
                        value += '\r';
                        break;
                    case '0':
                        value += '\0';
                        break;
                    default:
                        return fail(error,
                                    i,
                                    fmt::format("unknown escape '\\{}' in string literal "
                                                "(known: \\\\ \\' \\\" \\n \\t \\r \\0)",
                                                e));
                }
                i += 2;
                continue;
            }
            value += text_[i];
            ++i;
        }
        if (i >= text_.size()) {
            return fail(error, start, "unterminated string literal");
        }
        t.kind = token_kind::string;
        t.text = std::move(value);
        t.source = text_.substr(start, i + 1 - start);
        pos_ = i + 1;
        return true;
    }

    bool quoted_name(token& t, expression_error& error) {
        const std::size_t start = pos_;
        std::size_t i = pos_ + 1;
        std::string name;
        for (;;) {
            if (i >= text_.size()) {
                return fail(error, start, "unterminated quoted column name");
            }
            if (text_[i] == '`') {
                // `` inside a quoted name stands for one backquote.
                if (i + 1 < text_.size() && text_[i + 1] == '`') {
                    name += '`';
                    i += 2;
                    continue;
                }
                break;
            }
            name += text_[i];
            ++i;
        }
        if (name.empty()) {
            return fail(error, start, "empty quoted column name");
        }
        t.kind = token_kind::identifier;
        t.text = std::move(name);
        t.source = text_.substr(start, i + 1 - start);
        pos_ = i + 1;
        return true;
    }

    bool number(token& t, expression_error& error) {
        const std::size_t start = pos_;
        std::size_t i = pos_;
        bool is_real = false;
        auto digits = [&] {
            while (i < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i])) != 0) {
                ++i;
            }
        };
        digits();
        if (i < text_.size() && text_[i] == '.') {
            is_real = true;
            ++i;
            digits();
        }
        if (i < text_.size() && (text_[i] == 'e' || text_[i] == 'E')) {
            std::size_t j = i + 1;
            if (j < text_.size() && (text_[j] == '+' || text_[j] == '-')) {
                ++j;
            }
            if (j < text_.size() && std::isdigit(static_cast<unsigned char>(text_[j])) != 0) {
                is_real = true;
                i = j;
                digits();
            }
        }
        if (i < text_.size() && is_ident_char(text_[i])) {
            std::size_t end = i;
            while (end < text_.size() && is_ident_char(text_[end])) {
                ++end;
            }
            return fail(error,
                        start,
                        fmt::format("invalid number '{}'", text_.substr(start, end - start)));
        }
        const std::string_view source = text_.substr(start, i - start);
        t.source = source;
        pos_ = i;
        if (is_real) {
            // strtod on a NUL-terminated copy: from_chars for double is not in every libstdc++
            // this project supports.
            const std::string copy(source);
            t.kind = token_kind::real;
            t.real = std::strtod(copy.c_str(), nullptr);
            return true;
        }
        t.kind = token_kind::integer;
        const auto [ptr, ec] =
                std::from_chars(source.data(), source.data() + source.size(), t.integer);
        if (ec != std::errc{} || ptr != source.data() + source.size()) {
            return fail(error,
                        start,
                        fmt::format("integer literal {} is out of range for int64", source));
        }
        return true;
    }

    bool word(token& t) {
        const std::size_t start = pos_;
        while (pos_ < text_.size() && is_ident_char(text_[pos_])) {
            ++pos_;
        }
        t.source = text_.substr(start, pos_ - start);
        const std::string_view w = t.source;
        // Keywords are case-insensitive (as in SQL); a column with such a name needs backquotes.
        if (iequals(w, "and")) {
            t.kind = token_kind::logical_and;
        } else if (iequals(w, "or")) {
            t.kind = token_kind::logical_or;
        } else if (iequals(w, "not")) {
            t.kind = token_kind::logical_not;
        } else if (iequals(w, "true")) {
            t.kind = token_kind::true_literal;
        } else if (iequals(w, "false")) {
            t.kind = token_kind::false_literal;
        } else if (iequals(w, "null")) {
            t.kind = token_kind::null;
        } else {
            t.kind = token_kind::identifier;
            t.text = std::string(w);
        }
        return true;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

bool is_comparison(token_kind kind) {
    switch (kind) {
        case token_kind::eq:
        case token_kind::ne:
        case token_kind::lt:
        case token_kind::le:
        case token_kind::gt:
        case token_kind::ge:
            return true;
        default:
            return false;
    }
}

op comparison_op(token_kind kind) {
    switch (kind) {
        case token_kind::eq:
            return op::eq;
        case token_kind::ne:
            return op::ne;
        case token_kind::lt:
            return op::lt;
        case token_kind::le:
            return op::le;
        case token_kind::gt:
            return op::gt;
        default:
            return op::ge;
    }
}

class parser {
public:
    parser(std::vector<token> tokens, expression_error& error)
        : tokens_(std::move(tokens))
        , error_(error) {}

    node_ptr run() {
        if (peek().kind == token_kind::end) {
            fail(peek().offset, "empty expression");
            return nullptr;
        }
        node_ptr root = parse_or(0);
        if (!root) {
            return nullptr;
        }
        if (peek().kind != token_kind::end) {
            const token& t = peek();
            if (t.kind == token_kind::rparen) {
                fail(t.offset, "unmatched ')'");
            } else {
                fail(t.offset,
                     fmt::format("unexpected {} after the end of the expression", describe(t)));
            }
            return nullptr;
        }
        return root;
    }

private:
    const token& peek() const { return tokens_[pos_]; }
    const token& advance() { return tokens_[pos_++]; }

    void fail(std::size_t offset, std::string message) {
        if (!failed_) {
            error_ = {std::move(message), offset};
            failed_ = true;
        }
    }

    static std::string describe(const token& t) {
        if (t.kind == token_kind::end) {
            return "end of input";
        }
        return fmt::format("'{}'", t.source);
    }

    bool too_deep(int depth) {
        if (depth > max_depth) {
            fail(peek().offset, fmt::format("expression is nested more than {} deep", max_depth));
            return true;
        }
        return false;
    }

    // The operator keeps its spelling ("&&" or "and") so that messages quote what was written.
    static node_ptr make_binary(op o, const token& t, node_ptr lhs, node_ptr rhs) {
        auto n = std::make_unique<node>();
        n->kind = node_kind::binary;
        n->oper = o;
        n->offset = t.offset;
        n->name = std::string(t.source);
        n->args.push_back(std::move(lhs));
        n->args.push_back(std::move(rhs));
        return n;
    }

    static node_ptr make_unary(op o, const token& t, node_ptr operand) {
        auto n = std::make_unique<node>();
        n->kind = node_kind::unary;
        n->oper = o;
        n->offset = t.offset;
        n->name = std::string(t.source);
        n->args.push_back(std::move(operand));
        return n;
    }

    node_ptr parse_or(int depth) {
        if (too_deep(depth)) {
            return nullptr;
        }
        node_ptr lhs = parse_and(depth);
        while (lhs && peek().kind == token_kind::logical_or) {
            const token& o = advance();
            node_ptr rhs = parse_and(depth);
            if (!rhs) {
                return nullptr;
            }
            lhs = make_binary(op::logical_or, o, std::move(lhs), std::move(rhs));
        }
        return lhs;
    }

    node_ptr parse_and(int depth) {
        node_ptr lhs = parse_not(depth);
        while (lhs && peek().kind == token_kind::logical_and) {
            const token& o = advance();
            node_ptr rhs = parse_not(depth);
            if (!rhs) {
                return nullptr;
            }
            lhs = make_binary(op::logical_and, o, std::move(lhs), std::move(rhs));
        }
        return lhs;
    }

    // `not` (and `!`) binds looser than comparisons, as in SQL: `not a > 1` is `not (a > 1)`.
    node_ptr parse_not(int depth) {
        if (too_deep(depth)) {
            return nullptr;
        }
        if (peek().kind == token_kind::logical_not) {
            const token& o = advance();
            node_ptr operand = parse_not(depth + 1);
            if (!operand) {
                return nullptr;
            }
            return make_unary(op::logical_not, o, std::move(operand));
        }
        return parse_comparison(depth);
    }

    node_ptr parse_comparison(int depth) {
        node_ptr lhs = parse_additive(depth);
        if (!lhs || !is_comparison(peek().kind)) {
            return lhs;
        }
        const token& o = advance();
        node_ptr rhs = parse_additive(depth);
        if (!rhs) {
            return nullptr;
        }
        if (is_comparison(peek().kind)) {
            fail(peek().offset,
                 fmt::format("comparisons cannot be chained: '{}' follows '{}'; combine them "
                             "with 'and'",
                             peek().source,
                             o.source));
            return nullptr;
        }
        return make_binary(comparison_op(o.kind), o, std::move(lhs), std::move(rhs));
    }

    node_ptr parse_additive(int depth) {
        node_ptr lhs = parse_multiplicative(depth);
        while (lhs && (peek().kind == token_kind::plus || peek().kind == token_kind::minus)) {
            const token& o = advance();
            node_ptr rhs = parse_multiplicative(depth);
            if (!rhs) {
                return nullptr;
            }
            lhs = make_binary(o.kind == token_kind::plus ? op::add : op::sub,
                              o,
                              std::move(lhs),
                              std::move(rhs));
        }
        return lhs;
    }

    node_ptr parse_multiplicative(int depth) {
        node_ptr lhs = parse_unary(depth);
        while (lhs && (peek().kind == token_kind::star || peek().kind == token_kind::slash ||
                       peek().kind == token_kind::percent)) {
            const token& o = advance();
            node_ptr rhs = parse_unary(depth);
            if (!rhs) {
                return nullptr;
            }
            const op which = o.kind == token_kind::star    ? op::mul
                             : o.kind == token_kind::slash ? op::div
                                                           : op::mod;
            lhs = make_binary(which, o, std::move(lhs), std::move(rhs));
        }
        return lhs;
    }

    node_ptr parse_unary(int depth) {
        if (too_deep(depth)) {
            return nullptr;
        }
        if (peek().kind == token_kind::minus) {
            const token& o = advance();
            node_ptr operand = parse_unary(depth + 1);
            if (!operand) {
                return nullptr;
            }
            return make_unary(op::neg, o, std::move(operand));
        }
        if (peek().kind == token_kind::plus) {
            // Unary plus changes nothing; it is accepted so that "+5" reads as written.
            advance();
            return parse_unary(depth + 1);
        }
        return parse_primary(depth);
    }

    node_ptr parse_primary(int depth) {
        const token& t = peek();
        auto n = std::make_unique<node>();
        n->offset = t.offset;
        switch (t.kind) {
            case token_kind::integer:
                n->literal.type = value_type::int64;
                n->literal.is_null = false;
                n->literal.i64 = t.integer;
                advance();
                return n;
            case token_kind::real:
                n->literal.type = value_type::float64;
                n->literal.is_null = false;
                n->literal.f64 = t.real;
                advance();
                return n;
            case token_kind::string:
                n->literal.type = value_type::string;
                n->literal.is_null = false;
                n->literal.str = t.text;
                advance();
                return n;
            case token_kind::true_literal:
            case token_kind::false_literal:
                n->literal.type = value_type::boolean;
                n->literal.is_null = false;
                n->literal.boolean = t.kind == token_kind::true_literal;
                advance();
                return n;
            case token_kind::null:
                advance();
                return n;  // a literal of type null
            case token_kind::identifier:
                return parse_name(depth);
            case token_kind::lparen: {
                const std::size_t open = advance().offset;
                node_ptr inner = parse_or(depth + 1);
                if (!inner) {
                    return nullptr;
                }
                if (peek().kind != token_kind::rparen) {
                    fail(peek().offset,
                         fmt::format("expected ')' to close '(' at col {}, found {}",
                                     open + 1,
                                     describe(peek())));
                    return nullptr;
                }
                advance();
                return inner;
            }
            default:
                fail(t.offset, fmt::format("expected an expression, found {}", describe(t)));
                return nullptr;
        }
    }

    node_ptr parse_name(int depth) {
        const token& t = advance();
        auto n = std::make_unique<node>();
        n->offset = t.offset;
        n->name = t.text;
        // A backquoted name is always a column, even when followed by '('.
        const bool quoted = !t.source.empty() && t.source.front() == '`';
        if (quoted || peek().kind != token_kind::lparen) {
            n->kind = node_kind::column;
            return n;
        }
        n->kind = node_kind::call;
        advance();  // (
        if (peek().kind == token_kind::rparen) {
            advance();
            return n;
        }
        for (;;) {
            node_ptr arg = parse_or(depth + 1);
            if (!arg) {
                return nullptr;
            }
            n->args.push_back(std::move(arg));
            if (peek().kind == token_kind::comma) {
                advance();
                continue;
            }
            if (peek().kind == token_kind::rparen) {
                advance();
                return n;
            }
            fail(peek().offset,
                 fmt::format("expected ',' or ')' in the arguments of '{}', found {}",
                             n->name,
                             describe(peek())));
            return nullptr;
        }
    }

    std::vector<token> tokens_;
    std::size_t pos_ = 0;
    expression_error& error_;
    bool failed_ = false;
};

void collect_columns(const node& n, std::vector<std::string>& out) {
    if (n.kind == node_kind::column) {
        out.push_back(n.name);
    }
    for (const auto& arg : n.args) {
        collect_columns(*arg, out);
    }
}

}  // namespace

node_ptr parse(std::string_view text, expression_error& error) {
    std::vector<token> tokens;
    if (!lexer(text).run(tokens, error)) {
        return nullptr;
    }
    return parser(std::move(tokens), error).run();
}

std::vector<std::string> referenced_columns(std::string_view text) {
    expression_error ignored;
    std::vector<std::string> names;
    if (node_ptr root = parse(text, ignored)) {
        collect_columns(*root, names);
    }
    return names;
}

}  // namespace sluice::detail::expr
