#include <fmt/format.h>

#include "commands.hpp"
#include "format.hpp"

namespace hu::ctl {

namespace {

struct StatsArgs {
  std::string domain;  // name, UUID or id; empty: none
  uint64_t prog = 0;
};

}  // namespace

void AddStatsCommand(CLI::App& app, Context& ctx, int& rc) {
  static StatsArgs a;
  auto* stats = app.add_subcommand("stats", "run statistics of installed programs");
  stats->add_option("--domain", a.domain, "only this domain (libvirt name, UUID or id)");
  stats->add_option("--prog", a.prog, "only this program");
  stats->callback([&] {
    opv1::GetStatsRequest req;
    if (!a.domain.empty()) req.set_domain(a.domain);
    req.set_prog_id(a.prog);
    opv1::GetStatsResponse resp;
    auto c = ctx.Call();
    auto st = ctx.Stub().GetStats(c.get(), req, &resp);
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    json j = json::array();
    // AVG_CYC: mean TSC cycles per run; ACTED: tlb.flush deferrals or
    // sched.preempt grants; OVERRIDDEN: verdicts the hypervisor capped. ENGINE
    // comes last so scripts reading columns by position keep working.
    std::string text = fmt::format(
        "{:>4} {:>4}  {:<14} {:<20} {:>10} {:>12} {:>10} {:>8} {:>7} {:>7} {:>9} {:>8} {:>10} "
        "{:<6}\n",
        "ID", "DOM", "HOOK", "NAME", "RUNS", "INSNS", "AVG_NS", "ABORTS", "ERRORS", "LAST_R0",
        "AVG_CYC", "ACTED", "OVERRIDDEN", "ENGINE");
    for (const auto& s : resp.stats()) {
      j.push_back(ToJson(s));
      // Which engine ran it: the JIT, the interpreter, or both (a fallback).
      const char* engine = s.jit_runs() == 0          ? "interp"
                           : s.jit_runs() == s.runs() ? "jit"
                                                      : "mixed";
      text += fmt::format(
          "{:>4} {:>4}  {:<14} {:<20} {:>10} {:>12} {:>10} {:>8} {:>7} {:>7} {:>9} {:>8} {:>10} "
          "{:<6}\n",
          s.prog_id(), s.domid(), s.hook(), s.name(), s.runs(), s.insns(),
          s.runs() ? s.run_ns() / s.runs() : 0, s.budget_aborts(), s.errors(), s.last_result(),
          s.runs() ? s.cycles() / s.runs() : 0, s.acted(), s.overridden(), engine);
    }
    Emit(ctx, j, text);
  });
}

}  // namespace hu::ctl
