#pragma once

// The index template the sink creates when it is absent: explicit mappings for the columns.

#include <sluice/core/schema.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::es_detail {

/// Settings of the index template.
struct template_settings {
    bool create = true;   ///< create the template if the node has none of that name
    std::string name;     ///< template name
    std::string pattern;  ///< index pattern it applies to, e.g. "sensors-*"
    std::vector<std::pair<std::string, std::string>> mappings;  ///< column -> field type overrides
    std::int64_t shards = 1;                                    ///< index.number_of_shards
    std::int64_t replicas = 0;                                  ///< index.number_of_replicas
    /// index.refresh_interval in ms; 0 leaves the node's default (1 s). A longer interval
    /// makes documents searchable later but raises the node's indexing rate.
    std::int64_t refresh_interval_ms = 0;
    /// index.translog.durability ("request" or "async"); empty leaves the node's default
    /// (request: the translog is synced before a bulk request is answered).
    std::string translog_durability;
    std::int64_t priority = 200;  ///< template priority (built-in ones use 100)
};

/// The Elasticsearch field type a column gets when no mapping names it: timestamp_ms -> date,
/// string -> keyword, float64 -> double, int64 -> long, bool -> boolean.
std::string_view default_field_type(data_type type) noexcept;

/// True if `type` is a field type the sink may declare (date, keyword, text, double, float,
/// half_float, long, integer, short, byte, boolean, geo_point, ip, date_nanos,
/// unsigned_long, wildcard).
bool known_field_type(std::string_view type) noexcept;
/// The list above, for messages.
std::string known_field_types();

/// Checks the overrides against the input schema; returns the first problem ("" if none).
std::string check_mappings(const template_settings& settings, const schema& fields);

/// The body of `PUT _index_template/<name>`: index_patterns, priority, settings (shards,
/// replicas and, if set, refresh_interval and translog.durability) and
/// `mappings.properties` with one entry per column (overrides first applied).
std::string template_body(const template_settings& settings, const schema& fields);

}  // namespace sluice::es_detail
