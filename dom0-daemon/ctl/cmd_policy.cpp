#include <fmt/format.h>

#include "commands.hpp"
#include "format.hpp"
#include "policy_edit.hpp"

namespace hu::ctl {

namespace {

struct PolicyArgs {
  std::string domain;  // name, UUID or id; empty: none
  PolicyEdits edits;
  bool clear = false;
  bool write_xml = false;
  bool enforce = false;
};

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
  AddPolicyEditOptions(set, a.edits);
  set->add_flag("--clear", a.clear, "drop the domain's own policy: it inherits the default");
  set->add_flag("--write-xml", a.write_xml,
                "also write the policy into the domain XML <metadata> (daemon with --libvirt-uri)");
  set->add_flag("--enforce", a.enforce,
                "detach the installed programs the new policy no longer allows (without it "
                "they are only listed)");
  set->callback([&ctx, &rc, fetch, set] {
    // A value the API cannot carry, or a set that names nothing, is refused
    // here, before anything is sent: nothing changes, nothing is audited.
    if (!a.clear) {
      if (auto why = CheckPolicyEdits(a.edits, *set); !why.empty()) {
        rc = Usage("INVALID_ARGUMENT: " + why);
        return;
      }
    }
    opv1::SetPolicyRequest req;
    if (!a.domain.empty()) req.set_domain(a.domain);
    if (a.write_xml && a.domain.empty()) {
      rc = Usage("policy set --write-xml needs --domain");
      return;
    }
    req.set_write_xml(a.write_xml);
    req.set_enforce(a.enforce);
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
      ApplyPolicyEdits(a.edits, &p);
      *req.mutable_policy() = p;
    }
    opv1::GetPolicyResponse resp;
    auto c = ctx.Call();
    auto st = ctx.Stub().SetPolicy(c.get(), req, &resp);
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    std::string text = PolicyText(resp);
    for (const auto& nc : resp.noncompliant()) {
      text +=
          fmt::format("{} program {} '{}' ({}, dom {}): {}\n",
                      nc.detached() ? "detached" : "does not comply:", nc.program().id(),
                      nc.program().name(), nc.program().hook(), nc.program().domid(), nc.reason());
    }
    if (!resp.noncompliant().empty() && !a.enforce) {
      text += "(still installed: --enforce detaches them)\n";
    }
    Emit(ctx, ToJson(resp), text);
  });
}

}  // namespace hu::ctl
