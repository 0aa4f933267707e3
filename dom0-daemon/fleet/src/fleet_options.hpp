// hyperupcalld's fleet options (--fleet-*). Without --fleet-etcd the daemon
// runs alone, as before.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace hu::fleet {

struct FleetOptions {
  std::string etcd;  // etcd endpoints, HOST:PORT,...; empty: no fleet
  std::string host;  // this host's name in the fleet; default: the system's host name
  std::string prefix = "/hyperupcall";
  // How operators reach this daemon, published in the host registry for
  // `hyperupcallctl fleet`: unix:PATH, or ADDR:PORT (mutual TLS). Default:
  // the TCP operator address when there is one, else the unix socket.
  std::string advertise;
  int lease_ttl_s = 10;  // the registry entry outlives a dead daemon by at most this

  bool enabled() const { return !etcd.empty(); }
};

void AddFleetOptions(CLI::App& app, FleetOptions& o);

}  // namespace hu::fleet
