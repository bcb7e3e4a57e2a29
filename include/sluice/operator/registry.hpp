#pragma once

#include <sluice/operator/operator.hpp>
#include <sluice/operator/option_spec.hpp>
#include <sluice/operator/options.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

enum class operator_role {
    source,
    transform,
    sink
};
std::string_view to_string(operator_role role) noexcept;

/// What a factory may need beyond its options.
struct build_context {
    std::string pipeline_name;
};

using source_factory = std::function<std::unique_ptr<source>(const options&, build_context&)>;
using transform_factory = std::function<std::unique_ptr<transform>(const options&, build_context&)>;
using sink_factory = std::function<std::unique_ptr<sink>(const options&, build_context&)>;

/// One registered operator type: its name, role, one-line summary, option spec and factory.
/// Factories throw config_error (built with `opts.error(...)`) for problems the spec's own
/// checks cannot see, e.g. a file that cannot be opened.
struct operator_descriptor {
    std::string type;
    operator_role role = operator_role::transform;
    std::string summary;
    option_spec spec;
    source_factory make_source;
    transform_factory make_transform;
    sink_factory make_sink;
};

/// Operator types by role and name. The engine core knows no operator by name: each operator
/// folder registers itself (built-ins through `register_builtin_operators()`).
/// Thread-safe.
class operator_registry {
public:
    static operator_registry& global();

    void add_source(std::string type,
                    std::string summary,
                    const std::function<void(option_spec&)>& describe,
                    source_factory factory);
    void add_transform(std::string type,
                       std::string summary,
                       const std::function<void(option_spec&)>& describe,
                       transform_factory factory);
    void add_sink(std::string type,
                  std::string summary,
                  const std::function<void(option_spec&)>& describe,
                  sink_factory factory);

    /// The descriptor of `type` in `role`, or nullptr.
    const operator_descriptor* find(operator_role role, std::string_view type) const;
    /// Every registered descriptor, sorted by role then type.
    std::vector<const operator_descriptor*> all() const;
    std::vector<std::string> names(operator_role role) const;

private:
    void add(std::unique_ptr<operator_descriptor> descriptor);

    mutable std::mutex mutex_;
    std::map<std::pair<operator_role, std::string>,
             std::unique_ptr<operator_descriptor>,
             std::less<>>
            descriptors_;
};

/// Registers every operator built into this library (explicit calls, one per operator:
/// static libraries drop self-registering objects). Idempotent.
void register_builtin_operators();

}  // namespace sluice
