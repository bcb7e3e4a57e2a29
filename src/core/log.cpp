#include <sluice/core/log.hpp>

#include <memory>
#include <mutex>

namespace sluice {
namespace {

std::mutex& sink_mutex() {
    static std::mutex mutex;
    return mutex;
}

std::shared_ptr<log_sink>& current_sink() {
    static std::shared_ptr<log_sink> sink;
    return sink;
}

}  // namespace

void set_log_sink(log_sink sink) {
    std::lock_guard lock(sink_mutex());
    current_sink() = sink ? std::make_shared<log_sink>(std::move(sink)) : nullptr;
}

void log(log_level level, std::string_view message) {
    std::shared_ptr<log_sink> sink;
    {
        std::lock_guard lock(sink_mutex());
        sink = current_sink();
    }
    if (sink) {
        (*sink)(level, message);
    }
}

}  // namespace sluice
