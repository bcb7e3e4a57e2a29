#include <sluice/core/log.hpp>
#include <sluice/operator/context.hpp>
#include <sluice/operator/operator.hpp>

#include <fmt/format.h>

namespace sluice {

operator_context::operator_context(std::string type,
                                   std::string id,
                                   operator_metrics* metrics,
                                   dead_letter_writer* dead_letter,
                                   const std::atomic<bool>* stop_flag)
    : type_(std::move(type))
    , id_(std::move(id))
    , metrics_(metrics != nullptr ? metrics : &own_metrics_)
    , dead_letter_(dead_letter)
    , stop_flag_(stop_flag) {
    own_metrics_.type = type_;
    own_metrics_.id = id_;
}

void operator_context::reject(std::string_view payload,
                              std::string_view reason,
                              bool payload_is_json,
                              std::vector<source_position> positions) {
    metrics_->rejected.fetch_add(1, std::memory_order_relaxed);
    if (dead_letter_ == nullptr) {
        log(log_level::warning, fmt::format("{} '{}' rejected a record ({}) and there is no dead-letter sink",
                                            type_, id_, reason));
        return;
    }
    dead_letter_->write({type_, id_, reason, payload, payload_is_json, std::move(positions)});
}

bind_context::bind_context(std::string type, std::string id, locator locate, diagnostics_collector* out)
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

}  // namespace sluice
