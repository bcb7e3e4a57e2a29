#include <sluice/operator/registry.hpp>
#include <sluice/ops/expr.hpp>
#include <sluice/ops/file.hpp>
#include <sluice/ops/generator.hpp>
#include <sluice/ops/json.hpp>

#include <mutex>

namespace sluice {

void register_builtin_operators() {
    static std::once_flag once;
    std::call_once(once, [] {
        auto& registry = operator_registry::global();
        register_generator_operators(registry);
        register_file_operators(registry);
        register_json_operators(registry);
        register_expr_operators(registry);
    });
}

}  // namespace sluice
