#include <fmt/format.h>

#include "commands.hpp"
#include "format.hpp"

namespace hu::ctl {

void AddDomainCommands(CLI::App& app, Context& ctx, int& rc) {
  auto* dom = app.add_subcommand("domain", "domains the backend knows")->require_subcommand(1);
  dom->add_subcommand("list", "list domains")->callback([&] {
    opv1::ListDomainsResponse resp;
    auto c = ctx.Call();
    auto st = ctx.Stub().ListDomains(c.get(), opv1::ListDomainsRequest(), &resp);
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    json j = json::array();
    std::string text = fmt::format("{:>5}  {:<16} {:>5} {:>9}  {:<8} {:>8}  {}\n", "DOMID", "NAME",
                                   "VCPUS", "MEM(MiB)", "STATE", "PROGRAMS", "POLICY");
    for (const auto& d : resp.domains()) {
      j.push_back(ToJson(d));
      text += fmt::format("{:>5}  {:<16} {:>5} {:>9}  {:<8} {:>8}  {}\n", d.domid(), d.name(),
                          d.vcpus(), d.memory_kib() / 1024, d.running() ? "running" : "stopped",
                          d.programs(), d.has_own_policy() ? "own" : "default");
    }
    Emit(ctx, j, text);
  });
}

}  // namespace hu::ctl
