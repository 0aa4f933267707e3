// Operator policy: what a domain may load. Checked before the verifier
// runs, so a program the operator does not allow costs no verification.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hyperupcall/daemon/backend.hpp"
#include "hyperupcall/result.hpp"
#include "hyperupcall/verifier.hpp"

namespace hu::daemon {

struct Policy {
  uint64_t allowed_hooks = 0;    // bit i: hook id i
  uint64_t allowed_helpers = 0;  // bit i: helper id i
  uint32_t max_insns = HU_MAX_INSNS_DEFAULT;
  uint64_t run_budget = 0;  // instructions per run, 0 = backend default
  // Instructions the verifier may process for one program (every iteration
  // of a loop counts), 0 = the verifier's default: raise it for a domain
  // whose bounded loops are longer than the default allows.
  uint64_t verifier_budget = 0;
  uint32_t max_programs = 8;
  bool require_approval = false;
  uint32_t max_grace_us = 100;
  JitMode jit = JitMode::kAuto;

  bool operator==(const Policy&) const = default;
};

// "auto", "on", "off"; and back (empty means auto; anything else is
// INVALID_ARGUMENT naming it).
const char* JitModeName(JitMode m);
Result<JitMode> JitModeFromName(std::string_view name);

// Everything allowed, no approval: the policy a fresh daemon starts with.
Policy DefaultPolicy();

// Largest values an operator may set, so a typo cannot disable the caps.
inline constexpr uint32_t kPolicyMaxInsnsCap = 1'000'000;
inline constexpr uint32_t kPolicyMaxProgramsCap = 1024;
inline constexpr uint32_t kPolicyMaxGraceCap = 100'000;
inline constexpr uint64_t kPolicyVerifierBudgetCap = 64'000'000;

Status ValidatePolicy(const Policy& p);

// The verifier's limits for a program of a domain under `p`: size, helpers,
// and the budget of instructions it may process.
void ApplyPolicy(const Policy& p, verifier::Options* opts);

nlohmann::json PolicyToJson(const Policy& p);
Result<Policy> PolicyFromJson(const nlohmann::json& j);

// What the policy check needs to know about a candidate program.
struct PolicyCandidate {
  uint32_t domid = 0;
  hu_hook_id hook = HU_HOOK_NONE;
  const std::vector<hu_insn>* insns = nullptr;
  const std::vector<hu_region>* regions = nullptr;
  uint64_t guest_memory_bytes = 0;  // 0: unknown, region share not checked
  uint32_t live_programs = 0;       // installed + pending of the domain now
  // The verifier's longest path (0: not verified yet, not checked) and the
  // backend's run budget, which applies when the policy's run_budget is 0
  // (0: unknown, not checked).
  uint64_t worst_case_insns = 0;
  uint64_t backend_run_budget = 0;
};

// Ok, or the first violation: PermissionDenied (hook, helper) or
// ResourceExhausted (size, program count, region share, a worst-case path
// longer than the run budget), with a message
// naming the rule, the value and the limit.
Status CheckPolicy(const Policy& p, const PolicyCandidate& c);

// What the backend can install (Backend::Limits), checked with the policy
// before the verifier: Ok, or the limit a program is past, naming the
// backend, the value and the limit (Unimplemented for a hook it cannot
// attach to, ResourceExhausted for sizes and counts, FailedPrecondition
// when the operator's run budget is past what the backend runs).
Status CheckBackendLimits(const BackendLimits& limits, std::string_view backend, const Policy& p,
                          const PolicyCandidate& c);

// Which libvirt domain (UUID) runs under each hypervisor id. A libvirt
// domain gets a new domid at every start, so its policy is kept under its
// UUID: it follows the domain to its next start, and a domid reused by
// another domain does not inherit it. Domains libvirt does not know (dom0,
// a backend without libvirt) keep domid-scoped policies. Fed by the daemon
// from libvirt's listing and events; a leaf lock, taken under the core's.
class PolicyScopes {
 public:
  void Bind(uint32_t domid, std::string uuid);
  // Only while domid is still bound to uuid: a late stop of one instance
  // must not unbind the domain that runs under the id now.
  void Unbind(uint32_t domid, std::string_view uuid);
  std::optional<std::string> UuidOf(uint32_t domid) const;

 private:
  mutable std::mutex mu_;
  std::map<uint32_t, std::string> uuid_by_domid_;
};

// The state database's policy scopes: "default", "domain:<domid>",
// "libvirt:<uuid>".
std::string DomainPolicyScope(uint32_t domid);
std::string LibvirtPolicyScope(std::string_view uuid);

}  // namespace hu::daemon
