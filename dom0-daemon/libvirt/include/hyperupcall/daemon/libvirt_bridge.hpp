// Glue between the libvirt monitor and the daemon's own types, so wiring
// hu_libvirt into hyperupcalld is a few calls: libvirt events in the
// backend's DomainEvent shape (the path that already detaches programs),
// libvirt names and UUIDs over the backend's, one resolver for what an
// operator types, and the policy overlay in both directions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hyperupcall/daemon/backend.hpp"
#include "hyperupcall/daemon/libvirt_monitor.hpp"
#include "hyperupcall/daemon/libvirt_policy.hpp"
#include "hyperupcall/result.hpp"

namespace hu::daemon {

// kStarted -> DomainEvent::kStarted; kStopped and kCrashed (with the id the
// domain ran under) -> kStopped; everything else -> nullopt.
std::optional<DomainEvent> ToBackendDomainEvent(const LibvirtEvent& ev);

// Gives every running backend domain libvirt's name and UUID (matched by
// domid): libvirt is the operator's inventory. Domains libvirt does not
// know keep the backend's.
void ApplyLibvirtNames(std::vector<DomainInfo>& domains, const std::vector<LibvirtDomain>& libvirt);

// What an operator typed (id, name or UUID) -> a running domain's id:
// libvirt first when there is a monitor, then the backend's own list.
// kNotFound / kFailedPrecondition (known but not running) otherwise.
Result<uint32_t> ResolveDomainArg(std::string_view who, const std::vector<DomainInfo>& backend,
                                  LibvirtMonitor* monitor);

// Whether a domain's XML policy (fingerprint `xml_fingerprint`) should
// become its policy, given what the daemon has stored for it: nothing
// (`stored_origin` empty) -> apply; "xml" -> apply only if the XML changed;
// "api" (an operator override, recorded over the XML whose fingerprint is
// `recorded_fingerprint`, "" for none) -> keep the override unless the XML
// changed since. `why` says which, for the log and the audit row.
struct XmlPolicyChoice {
  bool apply = false;
  std::string why;
};
XmlPolicyChoice ChooseXmlPolicy(std::string_view stored_origin,
                                std::string_view recorded_fingerprint,
                                std::string_view xml_fingerprint);

// The daemon's policy with what the XML sets laid over it. `P` is the
// daemon's Policy (dom0-daemon/src/policy.hpp): a template so this header
// does not depend on the daemon's internals, only on its field names.
template <class P>
P OverlayLibvirtPolicy(P base, const LibvirtPolicy& x) {
  if (x.allowed_hooks) base.allowed_hooks = *x.allowed_hooks;
  if (x.allowed_helpers) base.allowed_helpers = *x.allowed_helpers;
  if (x.max_instructions) base.max_insns = *x.max_instructions;
  if (x.run_budget) base.run_budget = *x.run_budget;
  if (x.max_programs) base.max_programs = *x.max_programs;
  if (x.require_approval) base.require_approval = *x.require_approval;
  if (x.max_grace_us) base.max_grace_us = *x.max_grace_us;
  return base;
}

// Every field set, for `hyperupcallctl policy set --write-xml`. A run
// budget of 0 means "backend default" in the daemon and is left out.
template <class P>
LibvirtPolicy ToLibvirtPolicy(const P& p) {
  LibvirtPolicy x;
  x.allowed_hooks = static_cast<uint32_t>(p.allowed_hooks);
  x.allowed_helpers = p.allowed_helpers;
  x.max_instructions = p.max_insns;
  if (p.run_budget) x.run_budget = p.run_budget;
  x.max_programs = p.max_programs;
  x.require_approval = p.require_approval;
  x.max_grace_us = p.max_grace_us;
  return x;
}

}  // namespace hu::daemon
