#include <sluice/core/assert.hpp>
#include <sluice/operator/registry.hpp>

namespace sluice {

std::string_view to_string(operator_role role) noexcept {
    switch (role) {
        case operator_role::source:
            return "source";
        case operator_role::transform:
            return "transform";
        case operator_role::sink:
            return "sink";
    }
    return "unknown";
}

operator_registry& operator_registry::global() {
    static operator_registry registry;
    return registry;
}

void operator_registry::add(std::unique_ptr<operator_descriptor> descriptor) {
    std::lock_guard lock(mutex_);
    auto key = std::make_pair(descriptor->role, descriptor->type);
    // Re-registering replaces: lets a program override a built-in with its own version.
    descriptors_[std::move(key)] = std::move(descriptor);
}

void operator_registry::add_source(std::string type,
                                   std::string summary,
                                   const std::function<void(option_spec&)>& describe,
                                   source_factory factory) {
    auto d = std::make_unique<operator_descriptor>();
    d->type = std::move(type);
    d->role = operator_role::source;
    d->summary = std::move(summary);
    describe(d->spec);
    d->make_source = std::move(factory);
    add(std::move(d));
}

void operator_registry::add_transform(std::string type,
                                      std::string summary,
                                      const std::function<void(option_spec&)>& describe,
                                      transform_factory factory) {
    auto d = std::make_unique<operator_descriptor>();
    d->type = std::move(type);
    d->role = operator_role::transform;
    d->summary = std::move(summary);
    describe(d->spec);
    d->make_transform = std::move(factory);
    add(std::move(d));
}

void operator_registry::add_sink(std::string type,
                                 std::string summary,
                                 const std::function<void(option_spec&)>& describe,
                                 sink_factory factory) {
    auto d = std::make_unique<operator_descriptor>();
    d->type = std::move(type);
    d->role = operator_role::sink;
    d->summary = std::move(summary);
    describe(d->spec);
    d->make_sink = std::move(factory);
    add(std::move(d));
}

const operator_descriptor* operator_registry::find(operator_role role,
                                                   std::string_view type) const {
    std::lock_guard lock(mutex_);
    for (const auto& [key, descriptor] : descriptors_) {
        if (key.first == role && key.second == type) {
            return descriptor.get();
        }
    }
    return nullptr;
}

std::vector<const operator_descriptor*> operator_registry::all() const {
    std::lock_guard lock(mutex_);
    std::vector<const operator_descriptor*> out;
    for (const auto& [key, descriptor] : descriptors_) {
        out.push_back(descriptor.get());
    }
    return out;
}

std::vector<std::string> operator_registry::names(operator_role role) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [key, descriptor] : descriptors_) {
        if (key.first == role) {
            out.push_back(key.second);
        }
    }
    return out;
}

}  // namespace sluice
