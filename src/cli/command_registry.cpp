#include "cli.hpp"

#include <algorithm>

namespace sluice::cli {
namespace {

std::vector<command>& registry() {
    static std::vector<command> all;
    return all;
}

}  // namespace

bool register_command(command c) {
    auto& all = registry();
    all.push_back(std::move(c));
    return true;
}

const std::vector<command>& commands() {
    return registry();
}

}  // namespace sluice::cli
