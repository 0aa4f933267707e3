// Where the fleet's state lives in etcd, under one prefix (default
// /hyperupcall):
//
//   PREFIX/state/policy/fleet            the fleet-wide default policy
//   PREFIX/state/policy/host/HOST        one host's default (over the fleet's)
//   PREFIX/state/policy/domain/UUID      a domain's policy, wherever it runs
//   PREFIX/state/approval/SHA256         a program approved on every host
//   PREFIX/hosts/HOST                    the host registry, on a lease
//
// Daemons watch PREFIX/state/ only: the registry's churn (hosts coming and
// going) wakes nobody.
#pragma once

#include <optional>
#include <string>

#include "hyperupcall/result.hpp"

namespace hu::fleet {

struct Keys {
  std::string prefix = "/hyperupcall";

  std::string State() const { return prefix + "/state/"; }
  std::string FleetPolicy() const { return prefix + "/state/policy/fleet"; }
  std::string HostPolicy(const std::string& host) const {
    return prefix + "/state/policy/host/" + host;
  }
  std::string DomainPolicy(const std::string& uuid) const;  // UUID lowercased
  std::string Approval(const std::string& sha256) const {
    return prefix + "/state/approval/" + sha256;
  }
  std::string Hosts() const { return prefix + "/hosts/"; }
  std::string Host(const std::string& host) const { return prefix + "/hosts/" + host; }
};

// What a key under State() is.
struct StateKey {
  enum class Kind { kFleetPolicy, kHostPolicy, kDomainPolicy, kApproval };
  Kind kind;
  std::string name;  // host, UUID or hash; empty for the fleet policy
};
std::optional<StateKey> ParseStateKey(const Keys& k, const std::string& key);

// Host names: [A-Za-z0-9._-], 1..253 (they are etcd key parts and shown
// to operators). Domain UUIDs: the 8-4-4-4-12 hex form. Hashes: 64 lower
// hex digits. Errors name the value and the rule.
Status ValidateHostName(const std::string& host);
Result<std::string> CanonicalUuid(const std::string& uuid);
Status ValidateSha256(const std::string& hex);

}  // namespace hu::fleet
