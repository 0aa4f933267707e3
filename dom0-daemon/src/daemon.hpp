// Wires the parts together and runs until SIGINT or SIGTERM.
#pragma once

#include "options.hpp"

namespace hu::daemon {

int RunDaemon(const DaemonOptions& opts);

}  // namespace hu::daemon
