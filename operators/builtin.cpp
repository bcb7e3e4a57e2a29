#include <sluice/operator/registry.hpp>

// Each operator family's header declares its register_*_operators(); the build defines
// SLUICE_OP_<NAME> for every family it built (operators/CMakeLists.txt).
#include <sluice/ops/expr.hpp>
#include <sluice/ops/file.hpp>
#include <sluice/ops/generator.hpp>
#include <sluice/ops/json.hpp>
#if SLUICE_OP_WINDOW
#    include <sluice/ops/window.hpp>
#endif
#if SLUICE_OP_ZIP
#    include <sluice/ops/zip.hpp>
#endif
#if SLUICE_OP_ROLLING
#    include <sluice/ops/rolling.hpp>
#endif
#if SLUICE_OP_WATERMARK
#    include <sluice/ops/watermark.hpp>
#endif
#if SLUICE_OP_XGBOOST
#    include <sluice/ops/xgboost.hpp>
#endif
#if SLUICE_OP_KAFKA
#    include <sluice/ops/kafka.hpp>
#endif
#if SLUICE_OP_ELASTICSEARCH
#    include <sluice/ops/elasticsearch.hpp>
#endif
#if SLUICE_OP_DASHBOARD
#    include <sluice/ops/dashboard.hpp>
#endif

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
#if SLUICE_OP_WINDOW
        register_window_operators(registry);
#endif
#if SLUICE_OP_ZIP
        register_zip_operators(registry);
#endif
#if SLUICE_OP_ROLLING
        register_rolling_operators(registry);
#endif
#if SLUICE_OP_WATERMARK
        register_watermark_operators(registry);
#endif
#if SLUICE_OP_XGBOOST
        register_xgboost_operators(registry);
#endif
#if SLUICE_OP_KAFKA
        register_kafka_operators(registry);
#endif
#if SLUICE_OP_ELASTICSEARCH
        register_elasticsearch_operators(registry);
#endif
#if SLUICE_OP_DASHBOARD
        register_dashboard_operators(registry);
#endif
    });
}

}  // namespace sluice
