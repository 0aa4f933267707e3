// hyperupcalld's command line.
#pragma once

#include <string>
#include <vector>

#include "backend_registry.hpp"
#include "core.hpp"
#include "fleet_options.hpp"
#include "guest_limits.hpp"
#include "logging.hpp"
#include "operator_endpoint.hpp"

namespace hu::daemon {

// Exit codes (README.md, "Exit codes"): 0 stopped cleanly, 1 could not
// start (state or socket in use, backend, database), 64 usage.
inline constexpr int kExitUsage = 64;

inline constexpr const char* kDefaultConfigFile = "/etc/hyperupcall/hyperupcalld.conf";

struct DaemonOptions {
  std::string backend = "sim";
  std::string state_dir = "/var/lib/hyperupcall";
  std::string guest_socket_dir = "/run/hyperupcall/guests";
  OperatorEndpointOptions op;
  BackendConfig backend_cfg;
  LogOptions log;
  std::string libvirt_uri;          // empty: no libvirt
  std::string libvirt_hook_socket;  // empty: no hook socket
  int verifier_log_level = 1;
  fleet::FleetOptions fleet;    // --fleet-*: etcd as the fleet's shared state
  std::string metrics_address;  // ADDR:PORT of GET /metrics; empty: none
  // Every flag can also be set here (`name = value`, flag names without
  // the dashes); the command line wins. A missing default file is fine, a
  // missing --config file or an unknown key is an error.
  std::string config_file = kDefaultConfigFile;
  CoreConfig core;           // retention, group commit
  GuestLimits guest_limits;  // what one guest may take of the daemon
};

// Parses argv and the configuration file; on --help, --version or an error,
// returns the exit code to use (and prints, unless `error` is given: then
// the message goes there). Otherwise returns -1 and fills `out`.
int ParseOptions(int argc, char** argv, DaemonOptions* out, std::string* error = nullptr);

// What SIGHUP can apply without a restart is the log (level, format,
// file); every other option that differs from `running` is named in the
// returned list ("needs a restart").
std::vector<std::string> OptionsNeedingRestart(const DaemonOptions& running,
                                               const DaemonOptions& reread);

}  // namespace hu::daemon
