#include "file_common.hpp"

#include <sluice/ops/file.hpp>

namespace sluice {

void register_file_operators(operator_registry& registry) {
    file_detail::register_file_source(registry);
    file_detail::register_file_sink(registry);
    file_detail::register_stdout_sink(registry);
    file_detail::register_blackhole_sink(registry);
}

}  // namespace sluice
