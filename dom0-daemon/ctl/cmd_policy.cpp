#include <fmt/format.h>

#include <sstream>

#include "commands.hpp"
#include "format.hpp"

namespace hu::ctl {

namespace {

struct PolicyArgs {
  std::string domain;  // name, UUID or id; empty: none
  std::string hooks, helpers;
  int64_t max_insns = -1, run_budget = -1, max_programs = -1, max_grace_us = -1;
  std::string require_approval;  // yes|no
  bool clear = false;
  bool write_xml = false;
};

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

void AddPolicyCommands(CLI::App& app, Context& ctx, int& rc) {
  static PolicyArgs a;
  auto* policy = app.add_subcommand("policy", "operator policy")->require_subcommand(1);

  // Copied into the callbacks: this function returns before they run.
  auto fetch = [&ctx](opv1::GetPolicyResponse* resp) {
    opv1::GetPolicyRequest req;
    if (!a.domain.empty()) req.set_domain(a.domain);
    auto c = ctx.Call();
    return ctx.Stub().GetPolicy(c.get(), req, resp);
  };

  auto* get = policy->add_subcommand("get", "effective policy of a domain, or the default");
  get->add_option("--domain", a.domain, "libvirt name, UUID or id (default: the default policy)");
  get->callback([&ctx, &rc, fetch] {
    opv1::GetPolicyResponse resp;
    auto st = fetch(&resp);
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    Emit(ctx, ToJson(resp), PolicyText(resp));
  });

  auto* set = policy->add_subcommand(
      "set", "change a domain's policy (or the default); unnamed fields keep their value");
  set->add_option("--domain", a.domain, "libvirt name, UUID or id (default: the default policy)");
  set->add_option("--hooks", a.hooks, "allowed hooks, comma separated ('none' for none)");
  set->add_option("--helpers", a.helpers, "allowed helpers, comma separated ('none' for none)");
  set->add_option("--max-insns", a.max_insns, "program size cap (instructions)");
  set->add_option("--run-budget", a.run_budget, "instructions per run (0: backend default)");
  set->add_option("--max-programs", a.max_programs, "installed + pending programs per domain");
  set->add_option("--require-approval", a.require_approval, "yes or no")
      ->check(CLI::IsMember({"yes", "no", "true", "false"}));
  set->add_option("--max-grace-us", a.max_grace_us, "sched.preempt grace cap (µs)");
  set->add_flag("--clear", a.clear, "drop the domain's own policy: it inherits the default");
  set->add_flag("--write-xml", a.write_xml,
                "also write the policy into the domain XML <metadata> (daemon with --libvirt-uri)");
  set->callback([&ctx, &rc, fetch] {
    opv1::SetPolicyRequest req;
    if (!a.domain.empty()) req.set_domain(a.domain);
    if (a.write_xml && a.domain.empty()) {
      rc = Usage("policy set --write-xml needs --domain");
      return;
    }
    req.set_write_xml(a.write_xml);
    if (a.clear) {
      if (a.domain.empty()) {
        rc = Usage("policy set --clear needs --domain");
        return;
      }
      req.set_clear(true);
    } else {
      // Start from what is in force, change what was named.
      opv1::GetPolicyResponse cur;
      auto st = fetch(&cur);
      if (!st.ok()) {
        rc = Fail(ctx, st);
        return;
      }
      opv1::Policy p = cur.policy();
      if (!a.hooks.empty()) {
        p.clear_allowed_hooks();
        if (a.hooks != "none") {
          for (auto& h : SplitList(a.hooks)) p.add_allowed_hooks(h);
        }
      }
      if (!a.helpers.empty()) {
        p.clear_allowed_helpers();
        if (a.helpers != "none") {
          for (auto& h : SplitList(a.helpers)) p.add_allowed_helpers(h);
        }
      }
      if (a.max_insns >= 0) p.set_max_insns(static_cast<uint32_t>(a.max_insns));
      if (a.run_budget >= 0) p.set_run_budget(static_cast<uint64_t>(a.run_budget));
      if (a.max_programs >= 0) p.set_max_programs(static_cast<uint32_t>(a.max_programs));
      if (a.max_grace_us >= 0) p.set_max_grace_us(static_cast<uint32_t>(a.max_grace_us));
      if (!a.require_approval.empty()) {
        p.set_require_approval(a.require_approval == "yes" || a.require_approval == "true");
      }
      *req.mutable_policy() = p;
    }
    opv1::GetPolicyResponse resp;
    auto c = ctx.Call();
    auto st = ctx.Stub().SetPolicy(c.get(), req, &resp);
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    Emit(ctx, ToJson(resp), PolicyText(resp));
  });
}

}  // namespace hu::ctl
