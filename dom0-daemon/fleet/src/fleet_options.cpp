#include "fleet_options.hpp"

namespace hu::fleet {

void AddFleetOptions(CLI::App& app, FleetOptions& o) {
  app.add_option("--fleet-etcd", o.etcd,
                 "join a fleet: etcd endpoints HOST:PORT,... (shared policy, approvals, host "
                 "registry)");
  app.add_option("--fleet-host", o.host, "this host's name in the fleet (default: host name)");
  app.add_option("--fleet-prefix", o.prefix, "the fleet's etcd key prefix")->capture_default_str();
  app.add_option("--fleet-advertise", o.advertise,
                 "operator address published for `hyperupcallctl fleet`: unix:PATH or "
                 "ADDR:PORT (default: --operator-tcp, else --operator-socket)");
  app.add_option("--fleet-lease-ttl", o.lease_ttl_s,
                 "seconds the host registry entry outlives "
                 "a daemon that stopped answering")
      ->check(CLI::Range(2, 3600))
      ->capture_default_str();
}

}  // namespace hu::fleet
