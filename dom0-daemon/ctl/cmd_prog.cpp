#include <fmt/format.h>

#include "commands.hpp"
#include "format.hpp"

namespace hu::ctl {

namespace {

struct ProgArgs {
  std::string domain;  // name, UUID or id; empty: none
  bool all = false;
  uint64_t id = 0;
  std::string reason;
};

}  // namespace

void AddProgCommands(CLI::App& app, Context& ctx, int& rc) {
  static ProgArgs a;
  auto* prog = app.add_subcommand("prog", "programs")->require_subcommand(1);

  auto* list = prog->add_subcommand("list", "installed and pending programs");
  list->add_option("--domain", a.domain, "only this domain (libvirt name, UUID or id)");
  list->add_flag("--all", a.all, "also rejected, detached and failed ones");
  list->callback([&] {
    opv1::ListProgramsRequest req;
    if (!a.domain.empty()) req.set_domain(a.domain);
    req.set_all(a.all);
    opv1::ListProgramsResponse resp;
    auto c = ctx.Call();
    auto st = ctx.Stub().ListPrograms(c.get(), req, &resp);
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

  // Copied into the callbacks: this function returns before they run.
  auto get = [&ctx](uint64_t id, opv1::GetProgramResponse* resp) {
    opv1::GetProgramRequest req;
    req.set_id(id);
    auto c = ctx.Call();
    return ctx.Stub().GetProgram(c.get(), req, resp);
  };

  auto* show = prog->add_subcommand("show", "one program: verdict and verifier log");
  show->add_option("ID", a.id, "program id")->required();
  show->callback([&ctx, &rc, get] {
    opv1::GetProgramResponse resp;
    auto st = get(a.id, &resp);
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    json j = ToJson(resp.program());
    j["verifier_log"] = resp.verifier_log();
    j["verifier_states"] = resp.verifier_states();
    j["verifier_ms"] = resp.verifier_ms();
    const auto& p = resp.program();
    std::string text = ProgramLine(p) + "\n";
    text += fmt::format("\tverdict {}{}{}\n", VerdictName(p.verdict().kind()),
                        p.verdict().stage().empty() ? "" : " (" + p.verdict().stage() + ")",
                        p.verdict().message().empty() ? "" : ": " + p.verdict().message());
    text += fmt::format("\tcreated {}  updated {}\n", TimeText(p.created_unix_ms()),
                        TimeText(p.updated_unix_ms()));
    text += fmt::format("\tsha256 {}\n", p.sha256());
    for (const auto& r : p.regions()) {
      text += fmt::format("\tregion 0x{:x}+0x{:x} flags 0x{:x}\n", r.start(), r.len(), r.flags());
    }
    text += fmt::format("\tverifier: {} states, {:.2f} ms\n", resp.verifier_states(),
                        resp.verifier_ms());
    if (!resp.verifier_log().empty()) text += "verifier log:\n" + resp.verifier_log() + "\n";
    Emit(ctx, j, text);
  });

  auto* dump = prog->add_subcommand("dump", "one program's instructions, disassembled");
  dump->add_option("ID", a.id, "program id")->required();
  dump->callback([&ctx, &rc, get] {
    opv1::GetProgramResponse resp;
    auto st = get(a.id, &resp);
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    json funcs = json::array();
    for (const auto& f : resp.functions()) funcs.push_back({{"name", f.name()}, {"pc", f.pc()}});
    json j = {{"id", resp.program().id()},
              {"disassembly", resp.disassembly()},
              {"listing", resp.listing()},
              {"functions", std::move(funcs)},
              {"maps", ToJson(resp.program()).at("maps")},
              {"regions", ToJson(resp.program()).at("regions")},
              {"insns_hex", Hex(resp.insns())}};
    // The listing names functions, helpers, maps and regions; an older
    // daemon sends only the disassembly.
    const std::string& text = resp.listing().empty() ? resp.disassembly() : resp.listing();
    Emit(ctx, j, text + (text.empty() || text.back() == '\n' ? "" : "\n"));
  });

  auto* detach = prog->add_subcommand("detach", "uninstall a program (or drop a pending one)");
  detach->add_option("ID", a.id, "program id")->required();
  detach->add_option("--reason", a.reason, "recorded in the audit log and told to the guest");
  detach->callback([&] {
    opv1::DetachRequest req;
    req.set_id(a.id);
    req.set_reason(a.reason);
    opv1::DecisionResponse resp;
    auto c = ctx.Call();
    const grpc::Status st = ctx.Stub().Detach(c.get(), req, &resp);
    EmitDecision(ctx, rc, st, resp, "detached");
  });
}

}  // namespace hu::ctl
