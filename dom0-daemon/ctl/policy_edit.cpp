#include "policy_edit.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <sstream>
#include <vector>

namespace hu::ctl {

namespace {

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

void AddPolicyEditOptions(CLI::App* cmd, PolicyEdits& e) {
  cmd->add_option("--hooks", e.hooks, "allowed hooks, comma separated ('none' for none)");
  cmd->add_option("--helpers", e.helpers, "allowed helpers, comma separated ('none' for none)");
  cmd->add_option("--max-insns", e.max_insns, "program size cap (instructions)");
  cmd->add_option("--run-budget", e.run_budget, "instructions per run (0: backend default)");
  cmd->add_option("--verifier-budget", e.verifier_budget,
                  "instructions the verifier may process per program, loop iterations included "
                  "(0: verifier default)");
  cmd->add_option("--max-programs", e.max_programs, "installed + pending programs per domain");
  cmd->add_option("--require-approval", e.require_approval, "yes or no")
      ->check(CLI::IsMember({"yes", "no", "true", "false"}));
  cmd->add_option("--max-grace-us", e.max_grace_us, "sched.preempt grace cap (µs)");
  cmd->add_option("--jit", e.jit, "engine: auto (the backend's JIT where it has one), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}));
}

std::string CheckPolicyEdits(const PolicyEdits& e, const CLI::App& cmd) {
  struct Number {
    const char* flag;
    int64_t value;
    int64_t max;
  };
  const Number numbers[] = {{"--max-insns", e.max_insns, UINT32_MAX},
                            {"--run-budget", e.run_budget, INT64_MAX},
                            {"--max-programs", e.max_programs, UINT32_MAX},
                            {"--max-grace-us", e.max_grace_us, UINT32_MAX}};
  bool named =
      !e.hooks.empty() || !e.helpers.empty() || !e.require_approval.empty() || !e.jit.empty();
  for (const auto& n : numbers) {
    if (!cmd.get_option(n.flag)->count()) continue;
    named = true;
    if (n.value < 0 || n.value > n.max) {
      return fmt::format("{} {}: must be 0..{}", n.flag, n.value, n.max);
    }
  }
  if (!named) {
    return "policy set names no field: give --hooks, --helpers, --max-insns, --run-budget, "
           "--max-programs, --require-approval, --max-grace-us or --jit";
  }
  return "";
}

void ApplyPolicyEdits(const PolicyEdits& e, hyperupcall::operator_api::v1::Policy* p) {
  if (!e.hooks.empty()) {
    p->clear_allowed_hooks();
    if (e.hooks != "none") {
      for (auto& h : SplitList(e.hooks)) p->add_allowed_hooks(h);
    }
  }
  if (!e.helpers.empty()) {
    p->clear_allowed_helpers();
    if (e.helpers != "none") {
      for (auto& h : SplitList(e.helpers)) p->add_allowed_helpers(h);
    }
  }
  if (e.max_insns >= 0) p->set_max_insns(static_cast<uint32_t>(e.max_insns));
  if (e.run_budget >= 0) p->set_run_budget(static_cast<uint64_t>(e.run_budget));
  if (e.verifier_budget >= 0) p->set_verifier_budget(static_cast<uint64_t>(e.verifier_budget));
  if (e.max_programs >= 0) p->set_max_programs(static_cast<uint32_t>(e.max_programs));
  if (e.max_grace_us >= 0) p->set_max_grace_us(static_cast<uint32_t>(e.max_grace_us));
  if (!e.require_approval.empty()) {
    p->set_require_approval(e.require_approval == "yes" || e.require_approval == "true");
  }
  if (!e.jit.empty()) p->set_jit(e.jit);
}

}  // namespace hu::ctl
