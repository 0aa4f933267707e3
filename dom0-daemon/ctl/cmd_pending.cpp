#include <fmt/format.h>

#include "commands.hpp"
#include "format.hpp"

namespace hu::ctl {

namespace {

struct PendingArgs {
  std::string domain;  // name, UUID or id; empty: none
  uint64_t id = 0;
  std::string reason;
};

}  // namespace

void AddPendingCommands(CLI::App& app, Context& ctx, int& rc) {
  static PendingArgs a;
  auto* pending =
      app.add_subcommand("pending", "programs waiting for approval")->require_subcommand(1);

  auto* list = pending->add_subcommand("list", "list pending programs");
  list->add_option("--domain", a.domain, "only this domain (libvirt name, UUID or id)");
  list->callback([&] {
    opv1::ListPendingRequest req;
    if (!a.domain.empty()) req.set_domain(a.domain);
    opv1::ListProgramsResponse resp;
    auto c = ctx.Call();
    auto st = ctx.Stub().ListPending(c.get(), req, &resp);
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    json j = json::array();
    std::string text;
    for (const auto& p : resp.programs()) {
      j.push_back(ToJson(p));
      text += ProgramLine(p) + "\n";
    }
    Emit(ctx, j, text);
  });

  auto* approve = pending->add_subcommand("approve", "install a pending program");
  approve->add_option("ID", a.id, "program id")->required();
  approve->callback([&] {
    opv1::ApproveRequest req;
    req.set_id(a.id);
    opv1::DecisionResponse resp;
    auto c = ctx.Call();
    const grpc::Status st = ctx.Stub().Approve(c.get(), req, &resp);
    EmitDecision(ctx, rc, st, resp, "approved");
  });

  auto* reject = pending->add_subcommand("reject", "refuse a pending program");
  reject->add_option("ID", a.id, "program id")->required();
  reject->add_option("--reason", a.reason, "recorded in the audit log and told to the guest");
  reject->callback([&] {
    opv1::RejectRequest req;
    req.set_id(a.id);
    req.set_reason(a.reason);
    opv1::DecisionResponse resp;
    auto c = ctx.Call();
    const grpc::Status st = ctx.Stub().Reject(c.get(), req, &resp);
    EmitDecision(ctx, rc, st, resp, "rejected");
  });
}

}  // namespace hu::ctl
