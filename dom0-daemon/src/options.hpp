// hyperupcalld's command line.
#pragma once

#include <string>

#include "backend_registry.hpp"
#include "fleet_options.hpp"
#include "operator_endpoint.hpp"

namespace hu::daemon {

struct DaemonOptions {
  std::string backend = "sim";
  std::string state_dir = "/var/lib/hyperupcall";
  std::string guest_socket_dir = "/run/hyperupcall/guests";
  OperatorEndpointOptions op;
  BackendConfig backend_cfg;
  std::string log_level = "info";
  std::string libvirt_uri;          // empty: no libvirt
  std::string libvirt_hook_socket;  // empty: no hook socket
  int verifier_log_level = 1;
  fleet::FleetOptions fleet;  // --fleet-*: etcd as the fleet's shared state
};

// Parses argv; on --help or an error, returns the exit code to use.
// Otherwise returns -1 and fills `out`.
int ParseOptions(int argc, char** argv, DaemonOptions* out);

}  // namespace hu::daemon
