// What a fleet of hosts (dom0-daemon/fleet/, through etcd) says over this
// host's own policies. The core asks it at every decision; it answers from
// the last fleet state it knows, so losing etcd never makes it looser.
//
// Precedence of a domain's policy: the fleet's policy for its UUID, then
// the domain's own (operator API or libvirt XML), then the host's default
// from the fleet (per-host key, else fleet-wide), then this daemon's own
// default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "hyperupcall/result.hpp"
#include "policy.hpp"

namespace hu::daemon {

class FleetLayer {
 public:
  virtual ~FleetLayer() = default;
  // Ok once the fleet's state is known (read from etcd, or the copy kept
  // on disk from an earlier run); until then no program is accepted, since
  // this host cannot know what the fleet forbids.
  virtual Status Ready() const = 0;
  // The fleet's policy for the domain running as domid (by its UUID).
  virtual std::optional<Policy> DomainPolicy(uint32_t domid) const = 0;
  // This host's default policy from the fleet.
  virtual std::optional<Policy> DefaultPolicy() const = 0;
  // A program (ProgramSha256) an operator approved for the whole fleet.
  virtual bool Approved(const std::string& sha256) const = 0;
};

}  // namespace hu::daemon
