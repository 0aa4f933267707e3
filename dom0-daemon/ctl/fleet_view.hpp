// What `hyperupcallctl fleet` reads: the host registry and fleet keys from
// etcd, and each registered host's daemon through its operator endpoint.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client.hpp"
#include "etcd_client.hpp"
#include "fleet_keys.hpp"
#include "format.hpp"
#include "hyperupcall/fleet/v1/fleet.grpc.pb.h"

namespace hu::ctl {

namespace fleetv1 = hyperupcall::fleet::v1;

struct FleetHost {
  std::string name;
  std::string address;  // its operator endpoint, as it registered it
  json registry;        // the registry value
  int64_t lease = 0;
  // Filled by Ask: what the daemon answered, or why it did not.
  std::string error;
  std::optional<fleetv1::FleetStatus> status;
  std::vector<opv1::Domain> domains;
  std::vector<commonv1::ProgramSummary> programs;
};

// The registered hosts, by name; `only`: just that one (NOT_FOUND-like
// error when it is not registered).
Result<std::vector<FleetHost>> RegisteredHosts(etcd::Client& etcd, const fleet::Keys& keys,
                                               const std::string& only = "");
// Asks each host's daemon for its fleet status, domains and (with
// `programs`) programs (all of them with `all`).
void Ask(const Context& ctx, std::vector<FleetHost>& hosts, bool programs, bool all);

json ToJson(const fleetv1::FleetStatus& s);
std::string StatusWord(const FleetHost& h);

}  // namespace hu::ctl
