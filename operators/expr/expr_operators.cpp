// Registration of the expression transforms.

#include <sluice/operator/options.hpp>
#include <sluice/operator/registry.hpp>
#include <sluice/ops/expr.hpp>

#include <memory>
#include <string>

namespace sluice {

void register_expr_operators(operator_registry& registry) {
    registry.add_transform(
            std::string(filter_transform::type_name),
            "keeps the rows where a bool expression is true (SQL WHERE)",
            filter_transform::describe,
            [](const options& opts, build_context&) -> std::unique_ptr<transform> {
                return std::make_unique<filter_transform>(filter_transform::config_from(opts));
            });
    registry.add_transform(
            std::string(map_transform::type_name),
            "adds or replaces columns computed by expressions, drops columns",
            map_transform::describe,
            [](const options& opts, build_context&) -> std::unique_ptr<transform> {
                return std::make_unique<map_transform>(map_transform::config_from(opts));
            });
}

}  // namespace sluice
