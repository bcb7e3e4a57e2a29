#include "cli.hpp"

#include <algorithm>

namespace sluice::cli {
namespace {

std::vector<command>& registry() {
    static std::vector<command> all;
    return all;
}

}  // namespace

void register_command(command c) {
    registry().push_back(std::move(c));
}

const std::vector<command>& commands() {
    return registry();
}

}  // namespace sluice::cli
