#include <fmt/format.h>

#include <ctime>
#include <string>

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
  static std::string who;  // CLI11 keeps a pointer to it, as the other commands' args
  auto* hist = dom->add_subcommand("history", "libvirt renames and UUID changes, oldest first");
  hist->add_option("--domain", who, "only those of this old or new name or UUID");
  hist->callback([&ctx, &rc] {
    opv1::ListIdentityChangesRequest req;
    req.set_domain(who);
    opv1::ListIdentityChangesResponse resp;
    auto c = ctx.Call();
    auto st = ctx.Stub().ListIdentityChanges(c.get(), req, &resp);
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    json j = json::array();
    std::string text;
    for (const auto& ch : resp.changes()) {
      j.push_back(ToJson(ch));
      const std::time_t t = ch.time_unix_ms() / 1000;
      std::tm tm{};
      gmtime_r(&t, &tm);
      text += fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}  {:<12}  '{}' {} -> '{}' {}\n",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_sec, ch.kind(), ch.old_name(), ch.old_uuid(), ch.new_name(),
                          ch.new_uuid());
    }
    if (text.empty()) text = "no renames or UUID changes recorded\n";
    Emit(ctx, j, text);
  });
}

}  // namespace hu::ctl
