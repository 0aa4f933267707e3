// Per-domain operator policy kept in the libvirt domain XML <metadata>,
// under our namespace. The schema is documented in dom0-daemon/libvirt/README.md.
// Every field is optional: an absent element leaves the daemon's default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hyperupcall/abi.h"
#include "hyperupcall/result.hpp"

namespace hu::daemon {

inline constexpr const char* kLibvirtPolicyNamespace = "https://hyperupcall.org/xmlns/policy/1";
inline constexpr const char* kLibvirtPolicyPrefix = "hu";

// Documented bounds, the daemon's own caps (dom0-daemon/src/policy.hpp); a
// value outside them is rejected, not clamped.
inline constexpr uint32_t kPolicyMaxInstructionsLimit = 1'000'000;
inline constexpr uint64_t kPolicyRunBudgetLimit = 1'000'000'000;
inline constexpr uint32_t kPolicyMaxProgramsLimit = 1024;
inline constexpr uint32_t kPolicyMaxGraceUsLimit = 100'000;

struct LibvirtPolicy {
  // Bit i set: hook id i (enum hu_hook_id) may be attached.
  std::optional<uint32_t> allowed_hooks;
  // Bit i set: helper id i (enum hu_helper_id) may be called; the same
  // layout as verifier::Options::allowed_helpers.
  std::optional<uint64_t> allowed_helpers;
  std::optional<uint32_t> max_instructions;  // program size cap
  std::optional<uint64_t> run_budget;        // instructions per run
  std::optional<uint32_t> max_programs;      // programs attached at once, 0 = none
  std::optional<bool> require_approval;      // operator approves each load
  std::optional<uint32_t> max_grace_us;      // sched.preempt grace cap

  bool empty() const;
  bool operator==(const LibvirtPolicy&) const = default;
};

// Parses one <policy> element, either as libvirt returns it from
// virDomainGetMetadata (no namespace) or as an operator writes it in the
// domain XML (in kLibvirtPolicyNamespace). Strict: unknown or repeated
// elements, unknown names, bad numbers and stray text are errors whose
// message names the line, the element and the offending value.
Result<LibvirtPolicy> ParseLibvirtPolicy(std::string_view xml);

// The element text for virDomainSetMetadata (no namespace: libvirt adds
// it). With `with_namespace` the hu: prefix and xmlns are written too, the
// form an operator pastes into `virsh edit`.
std::string FormatLibvirtPolicy(const LibvirtPolicy& policy, bool with_namespace = false);

// A change detector for a domain's XML policy: FNV-1a (64 bit, 16 hex
// digits) of its canonical text (FormatLibvirtPolicy), so whitespace,
// prefixes and element order do not count, only what the policy says.
std::string LibvirtPolicyFingerprint(const LibvirtPolicy& policy);

// Names used in the XML; nullptr / HU_HOOK_NONE / 0 when unknown.
const char* PolicyHookName(hu_hook_id hook);
hu_hook_id PolicyHookFromName(std::string_view name);
const char* PolicyHelperName(hu_helper_id helper);
hu_helper_id PolicyHelperFromName(std::string_view name);

}  // namespace hu::daemon
