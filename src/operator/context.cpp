#include <sluice/core/log.hpp>
#include <sluice/operator/context.hpp>
#include <sluice/operator/operator.hpp>

#include <fmt/format.h>

#include <charconv>
#include <chrono>

namespace sluice {

namespace {

void raise(std::map<std::string, std::int64_t, std::less<>>& values,
           std::string_view key,
           std::int64_t value) {
    auto it = values.find(key);
    if (it == values.end()) {
        values.emplace(std::string(key), value);
    } else if (value > it->second) {
        it->second = value;
    }
}

}  // namespace

void resume_state::advance(std::string_view key, std::int64_t value) {
    std::lock_guard lock(mutex_);
    raise(values_, key, value);
}

void resume_state::restore(std::string_view key, std::int64_t value) {
    std::lock_guard lock(mutex_);
    raise(resumed_, key, value);
    raise(values_, key, value);
}

std::optional<std::int64_t> resume_state::value(std::string_view key) const {
    std::lock_guard lock(mutex_);
    const auto it = values_.find(key);
    return it == values_.end() ? std::nullopt : std::optional<std::int64_t>(it->second);
}

std::optional<std::int64_t> resume_state::resumed(std::string_view key) const {
    std::lock_guard lock(mutex_);
    const auto it = resumed_.find(key);
    return it == resumed_.end() ? std::nullopt : std::optional<std::int64_t>(it->second);
}

std::map<std::string, std::int64_t, std::less<>> resume_state::values() const {
    std::lock_guard lock(mutex_);
    return values_;
}

std::string resume_state::encode(const std::map<std::string, std::int64_t, std::less<>>& values) {
    if (values.empty()) {
        return {};
    }
    std::string out = "{";
    for (const auto& [key, value] : values) {
        if (out.size() > 1) {
            out += ',';
        }
        out += '"';
        for (const char c : key) {
            if (c == '"' || c == '\\') {
                out += '\\';
                out += c;
            } else if (static_cast<unsigned char>(c) < 0x20) {
                out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
            } else {
                out += c;
            }
        }
        out += fmt::format("\":{}", value);
    }
    out += '}';
    return out;
}

std::optional<std::map<std::string, std::int64_t, std::less<>>> resume_state::decode(
        std::string_view text) {
    std::map<std::string, std::int64_t, std::less<>> values;
    if (text.empty()) {
        return values;
    }
    std::size_t at = 0;
    const auto expect = [&](char c) {
        if (at < text.size() && text[at] == c) {
            ++at;
            return true;
        }
        return false;
    };
    if (!expect('{')) {
        return std::nullopt;
    }
    if (expect('}')) {
        return at == text.size() ? std::optional(values) : std::nullopt;
    }
    // Exactly what encode() writes: no white space, string keys with \" \\ \u00XX escapes.
    while (true) {
        if (!expect('"')) {
            return std::nullopt;
        }
        std::string key;
        while (at < text.size() && text[at] != '"') {
            char c = text[at++];
            if (c == '\\') {
                if (at >= text.size()) {
                    return std::nullopt;
                }
                c = text[at++];
                if (c == 'u') {
                    unsigned code = 0;
                    if (at + 4 > text.size() ||
                        std::from_chars(text.data() + at, text.data() + at + 4, code, 16).ptr !=
                                text.data() + at + 4 ||
                        code >= 0x20) {
                        return std::nullopt;
                    }
                    at += 4;
                    c = static_cast<char>(code);
                } else if (c != '"' && c != '\\') {
                    return std::nullopt;
                }
            }
            key += c;
        }
        if (!expect('"') || !expect(':')) {
            return std::nullopt;
        }
        std::int64_t value = 0;
        const auto [end, error] =
                std::from_chars(text.data() + at, text.data() + text.size(), value);
        if (error != std::errc{}) {
            return std::nullopt;
        }
        at = static_cast<std::size_t>(end - text.data());
        values[key] = value;
        if (expect('}')) {
            return at == text.size() ? std::optional(values) : std::nullopt;
        }
        if (!expect(',')) {
            return std::nullopt;
        }
    }
}

operator_context::operator_context(std::string type,
                                   std::string id,
                                   operator_metrics* metrics,
                                   dead_letter_writer* dead_letter,
                                   const std::atomic<bool>* stop_flag,
                                   std::shared_ptr<resume_state> resume)
    : type_(std::move(type))
    , id_(std::move(id))
    , metrics_(metrics != nullptr ? metrics : &own_metrics_)
    , dead_letter_(dead_letter)
    , stop_flag_(stop_flag)
    , resume_(resume ? std::move(resume) : std::make_shared<resume_state>()) {
    own_metrics_.type = type_;
    own_metrics_.id = id_;
}

void record_end_to_end_latency(const column_ptr& created_ns, operator_metrics& metrics) noexcept {
    if (!created_ns || created_ns->size() == 0) {
        return;
    }
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    metrics.event_latency.record_since(created_ns->int64_values(), now);
}

void operator_context::record_delivered(const column_ptr& created_ns) noexcept {
    record_end_to_end_latency(created_ns, *metrics_);
}

void operator_context::reject(std::string_view payload,
                              std::string_view reason,
                              bool payload_is_json,
                              std::vector<source_position> positions) {
    metrics_->rejected.fetch_add(1, std::memory_order_relaxed);
    if (dead_letter_ == nullptr) {
        log(log_level::warning,
            fmt::format("{} '{}' rejected a record ({}) and there is no dead-letter sink",
                        type_,
                        id_,
                        reason));
        return;
    }
    dead_letter_->write({type_, id_, reason, payload, payload_is_json, std::move(positions)});
}

bind_context::bind_context(std::string type,
                           std::string id,
                           locator locate,
                           diagnostics_collector* out)
    : type_(std::move(type))
    , id_(std::move(id))
    , locate_(std::move(locate))
    , out_(out) {}

void bind_context::error(std::string_view key, std::string code, std::string message) {
    failed_ = true;
    auto where = locate_ ? locate_(key) : source_location{};
    auto text = fmt::format("{} '{}': {}", type_, id_, message);
    if (out_ != nullptr) {
        out_->add(std::move(where), std::move(code), std::move(text));
    } else {
        throw config_error({diagnostic{std::move(where), std::move(code), std::move(text)}});
    }
}

void require_bound_schema(const schema_ptr& received,
                          const schema_ptr& bound,
                          const operator_context& ctx) {
    if (received == bound || (received && bound && *received == *bound)) {
        return;
    }
    throw operator_error(ctx.type(),
                         ctx.id(),
                         fmt::format("received a batch of schema {}, but was bound to {}",
                                     received ? received->to_string() : "{}",
                                     bound ? bound->to_string() : "{}"));
}

}  // namespace sluice
