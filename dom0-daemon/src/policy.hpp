// Operator policy: what a domain may load. Checked before the verifier
// runs, so a program the operator does not allow costs no verification.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hyperupcall/daemon/backend.hpp"
#include "hyperupcall/result.hpp"

namespace hu::daemon {

struct Policy {
  uint64_t allowed_hooks = 0;    // bit i: hook id i
  uint64_t allowed_helpers = 0;  // bit i: helper id i
  uint32_t max_insns = HU_MAX_INSNS_DEFAULT;
  uint64_t run_budget = 0;  // instructions per run, 0 = backend default
  uint32_t max_programs = 8;
  bool require_approval = false;
  uint32_t max_grace_us = 100;

  bool operator==(const Policy&) const = default;
};

// Everything allowed, no approval: the policy a fresh daemon starts with.
Policy DefaultPolicy();

// Largest values an operator may set, so a typo cannot disable the caps.
inline constexpr uint32_t kPolicyMaxInsnsCap = 1'000'000;
inline constexpr uint32_t kPolicyMaxProgramsCap = 1024;
inline constexpr uint32_t kPolicyMaxGraceCap = 100'000;

Status ValidatePolicy(const Policy& p);

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
};

// Ok, or the first violation: PermissionDenied (hook, helper) or
// ResourceExhausted (size, program count, region share), with a message
// naming the rule, the value and the limit.
Status CheckPolicy(const Policy& p, const PolicyCandidate& c);

}  // namespace hu::daemon
