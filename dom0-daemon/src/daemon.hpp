// Wires the parts together and runs until SIGINT or SIGTERM; SIGHUP
// reloads the configuration (see Reload in daemon.cpp).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "options.hpp"

namespace hu::daemon {

// Reads the command line and configuration file again (for SIGHUP);
// nullopt with the reason in *error when they no longer parse.
using ReadOptions = std::function<std::optional<DaemonOptions>(std::string* error)>;

int RunDaemon(const DaemonOptions& opts, const ReadOptions& reread);

}  // namespace hu::daemon
