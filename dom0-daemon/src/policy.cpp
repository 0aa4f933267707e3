#include "policy.hpp"

#include <fmt/format.h>

#include "names.hpp"

namespace hu::daemon {

Policy DefaultPolicy() {
  Policy p;
  p.allowed_hooks = AllHooksMask();
  p.allowed_helpers = AllHelpersMask();
  return p;
}

const char* JitModeName(JitMode m) {
  switch (m) {
    case JitMode::kOn:
      return "on";
    case JitMode::kOff:
      return "off";
    default:
      return "auto";
  }
}

Result<JitMode> JitModeFromName(std::string_view name) {
  if (name.empty() || name == "auto") return JitMode::kAuto;
  if (name == "on") return JitMode::kOn;
  if (name == "off") return JitMode::kOff;
  return MakeError(ErrorCode::kInvalidArgument,
                   fmt::format("jit '{}' is not auto, on or off", name.substr(0, 64)));
}

Status ValidatePolicy(const Policy& p) {
  if (p.allowed_hooks & ~AllHooksMask()) {
    return MakeError(ErrorCode::kInvalidArgument, "policy names a hook id outside the ABI");
  }
  if (p.allowed_helpers & ~AllHelpersMask()) {
    return MakeError(ErrorCode::kInvalidArgument, "policy names a helper id outside the ABI");
  }
  if (p.max_insns == 0 || p.max_insns > kPolicyMaxInsnsCap) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("max_insns {} out of range 1..{}",
                                                              p.max_insns, kPolicyMaxInsnsCap));
  }
  if (p.max_programs > kPolicyMaxProgramsCap) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("max_programs {} out of range 0..{}", p.max_programs, kPolicyMaxProgramsCap));
  }
  if (p.max_grace_us > kPolicyMaxGraceCap) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("max_grace_us {} out of range 0..{}",
                                                              p.max_grace_us, kPolicyMaxGraceCap));
  }
  if (p.verifier_budget > kPolicyVerifierBudgetCap) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("verifier_budget {} out of range 0..{}", p.verifier_budget,
                                 kPolicyVerifierBudgetCap));
  }
  return Status::Ok();
}

void ApplyPolicy(const Policy& p, verifier::Options* opts) {
  opts->max_insns = p.max_insns;
  opts->allowed_helpers = p.allowed_helpers;
  if (p.verifier_budget) opts->max_states = p.verifier_budget;
}

nlohmann::json PolicyToJson(const Policy& p) {
  return {
      {"allowed_hooks", HookMaskNames(p.allowed_hooks)},
      {"allowed_helpers", HelperMaskNames(p.allowed_helpers)},
      {"max_insns", p.max_insns},
      {"run_budget", p.run_budget},
      {"verifier_budget", p.verifier_budget},
      {"max_programs", p.max_programs},
      {"require_approval", p.require_approval},
      {"max_grace_us", p.max_grace_us},
      {"jit", JitModeName(p.jit)},
  };
}

Result<Policy> PolicyFromJson(const nlohmann::json& j) {
  try {
    Policy p;
    p.allowed_hooks = 0;
    for (const auto& h : j.at("allowed_hooks")) {
      hu_hook_id id = HookFromName(h.get<std::string>());
      if (id == HU_HOOK_NONE) {
        return MakeError(ErrorCode::kInvalidArgument,
                         fmt::format("unknown hook '{}' (known: {})", h.get<std::string>(),
                                     Join(AllHookNames(), ", ")));
      }
      p.allowed_hooks |= 1ull << id;
    }
    p.allowed_helpers = 0;
    for (const auto& h : j.at("allowed_helpers")) {
      auto id = HelperFromName(h.get<std::string>());
      if (!id) {
        return MakeError(ErrorCode::kInvalidArgument,
                         fmt::format("unknown helper '{}' (known: {})", h.get<std::string>(),
                                     Join(AllHelperNames(), ", ")));
      }
      p.allowed_helpers |= 1ull << *id;
    }
    p.max_insns = j.at("max_insns").get<uint32_t>();
    p.run_budget = j.at("run_budget").get<uint64_t>();
    // Absent in policies stored before it existed: the verifier's default.
    p.verifier_budget = j.value("verifier_budget", uint64_t{0});
    p.max_programs = j.at("max_programs").get<uint32_t>();
    p.require_approval = j.at("require_approval").get<bool>();
    p.max_grace_us = j.at("max_grace_us").get<uint32_t>();
    // Policies stored before the field existed mean auto.
    auto mode = JitModeFromName(j.value("jit", std::string("auto")));
    if (!mode) return mode.error();
    p.jit = *mode;
    if (auto st = ValidatePolicy(p); !st) return st.error();
    return p;
  } catch (const nlohmann::json::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("policy JSON: {}", e.what()));
  }
}

Status CheckPolicy(const Policy& p, const PolicyCandidate& c) {
  if (!(p.allowed_hooks & (1ull << c.hook))) {
    return MakeError(
        ErrorCode::kPermissionDenied,
        fmt::format("hook {} is not allowed for domain {} by operator policy "
                    "(allowed: {})",
                    HookName(c.hook), c.domid,
                    p.allowed_hooks ? Join(HookMaskNames(p.allowed_hooks), ", ") : "none"));
  }
  const auto& insns = *c.insns;
  if (insns.size() > p.max_insns) {
    return MakeError(ErrorCode::kResourceExhausted,
                     fmt::format("program has {} instructions, operator policy for domain {} "
                                 "allows at most {}",
                                 insns.size(), c.domid, p.max_insns));
  }
  for (size_t pc = 0; pc < insns.size(); ++pc) {
    const hu_insn& in = insns[pc];
    if (in.code == (HU_CLS_JMP | HU_JMP_CALL) && in.src == HU_CALL_HELPER) {
      uint32_t id = static_cast<uint32_t>(in.imm);
      if (id >= 64 || !(p.allowed_helpers & (1ull << id))) {
        return MakeError(
            ErrorCode::kPermissionDenied,
            fmt::format(
                "insn {} calls helper {} ({}), not allowed for domain {} "
                "by operator policy (allowed: {})",
                pc, HelperName(id), id, c.domid,
                p.allowed_helpers ? Join(HelperMaskNames(p.allowed_helpers), ", ") : "none"));
      }
    }
    // The second slot of an lddw is data, not an instruction.
    if (in.code == (HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW)) ++pc;
  }
  if (c.live_programs >= p.max_programs) {
    return MakeError(ErrorCode::kResourceExhausted,
                     fmt::format("domain {} already has {} programs installed or pending, "
                                 "operator policy allows at most {}; unload one first",
                                 c.domid, c.live_programs, p.max_programs));
  }
  const uint64_t budget = p.run_budget ? p.run_budget : c.backend_run_budget;
  if (c.worst_case_insns && budget && c.worst_case_insns > budget) {
    return MakeError(
        ErrorCode::kResourceExhausted,
        fmt::format("worst-case path runs {} instructions, more than the run budget "
                    "of {} instructions per run ({})",
                    c.worst_case_insns, budget,
                    p.run_budget ? fmt::format("operator policy for domain {}", c.domid)
                                 : std::string("the backend's default")));
  }
  if (c.guest_memory_bytes) {
    uint64_t total = 0;
    for (const auto& r : *c.regions) total += r.len;
    uint64_t cap = c.guest_memory_bytes * HU_REGION_RAM_PERCENT / 100;
    if (total > cap) {
      return MakeError(ErrorCode::kResourceExhausted,
                       fmt::format("regions cover {} bytes, more than {}% of domain {}'s RAM "
                                   "({} bytes)",
                                   total, HU_REGION_RAM_PERCENT, c.domid, cap));
    }
  }
  return Status::Ok();
}

Status CheckBackendLimits(const BackendLimits& l, std::string_view backend, const Policy& p,
                          const PolicyCandidate& c) {
  if (!(l.hooks & (1ull << c.hook))) {
    return MakeError(ErrorCode::kUnimplemented,
                     fmt::format("backend {} cannot attach programs to hook {} (it can to: {})",
                                 backend, HookName(c.hook), Join(HookMaskNames(l.hooks), ", ")));
  }
  if (l.max_insns && c.insns->size() > l.max_insns) {
    return MakeError(ErrorCode::kResourceExhausted,
                     fmt::format("program has {} instructions, backend {} installs at most {}",
                                 c.insns->size(), backend, l.max_insns));
  }
  if (l.max_programs && c.live_programs >= l.max_programs) {
    return MakeError(ErrorCode::kResourceExhausted,
                     fmt::format("domain {} already has {} programs installed or pending, "
                                 "backend {} holds at most {} per domain; unload one first",
                                 c.domid, c.live_programs, backend, l.max_programs));
  }
  if (l.max_run_budget && p.run_budget > l.max_run_budget) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("operator policy for domain {} sets run_budget {}, backend {} "
                                 "runs at most {} instructions per run",
                                 c.domid, p.run_budget, backend, l.max_run_budget));
  }
  return Status::Ok();
}

void PolicyScopes::Bind(uint32_t domid, std::string uuid) {
  std::lock_guard lk(mu_);
  uuid_by_domid_[domid] = std::move(uuid);
}

void PolicyScopes::Unbind(uint32_t domid, std::string_view uuid) {
  std::lock_guard lk(mu_);
  auto it = uuid_by_domid_.find(domid);
  if (it != uuid_by_domid_.end() && it->second == uuid) uuid_by_domid_.erase(it);
}

std::optional<std::string> PolicyScopes::UuidOf(uint32_t domid) const {
  std::lock_guard lk(mu_);
  auto it = uuid_by_domid_.find(domid);
  if (it == uuid_by_domid_.end()) return std::nullopt;
  return it->second;
}

std::string DomainPolicyScope(uint32_t domid) { return fmt::format("domain:{}", domid); }

std::string LibvirtPolicyScope(std::string_view uuid) { return fmt::format("libvirt:{}", uuid); }

}  // namespace hu::daemon
