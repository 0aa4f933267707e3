// hyperupcallctl audit: the daemon's audit log, filtered.
#include <fmt/format.h>

#include <chrono>
#include <ctime>

#include "commands.hpp"
#include "format.hpp"

namespace hu::ctl {

namespace {

struct AuditArgs {
  std::string domain;
  uint64_t prog = 0;
  std::string decision;
  std::string since, until;
  uint32_t limit = 100;
};

// A time as an operator types it: unix milliseconds, an RFC 3339 UTC time
// (2025-01-31T14:03:07Z), or an age (90s, 15m, 2h, 7d: that long ago).
// CLI::ValidationError (usage) otherwise.
int64_t ParseTime(const std::string& s, const char* what) {
  const auto bad = [&] {
    return CLI::ValidationError(
        what, "'" + s + "' is not unix ms, YYYY-MM-DDTHH:MM:SSZ, or an age like 15m, 2h, 7d");
  };
  if (s.empty()) throw bad();
  size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == s.size() && n >= 0) return n;
  if (used > 0 && used + 1 == s.size() && n >= 0) {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    static const std::pair<char, int64_t> kUnits[] = {
        {'s', 1000}, {'m', 60'000}, {'h', 3'600'000}, {'d', 86'400'000}};
    for (const auto& [u, ms] : kUnits)
      if (s.back() == u) return now - n * ms;
  }
  std::tm tm{};
  const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end != '\0') throw bad();
  return static_cast<int64_t>(::timegm(&tm)) * 1000;
}

}  // namespace

void AddAuditCommand(CLI::App& app, Context& ctx, int& rc) {
  static AuditArgs a;
  auto* audit = app.add_subcommand("audit", "the audit log: every decision, newest first");
  audit->add_option("--domain", a.domain, "only this domain (libvirt name, UUID or id)");
  audit->add_option("--prog", a.prog, "only this program id");
  audit->add_option("--decision,--kind", a.decision,
                    "only this decision: accepted, pending, rejected, approved, detached, failed, "
                    "reinstalled, policy, ...");
  audit->add_option("--since", a.since, "from this time on (unix ms, RFC 3339 UTC, or 15m/2h/7d)");
  audit->add_option("--until", a.until, "before this time (same forms)");
  audit->add_option("--limit", a.limit, "at most N rows (1..10000)")
      ->check(CLI::Range(1u, 10000u))
      ->capture_default_str();
  audit->callback([&] {
    opv1::ListAuditRequest req;
    if (!a.domain.empty()) req.set_domain(a.domain);
    req.set_prog_id(a.prog);
    req.set_decision(a.decision);
    if (!a.since.empty()) req.set_since_unix_ms(ParseTime(a.since, "--since"));
    if (!a.until.empty()) req.set_until_unix_ms(ParseTime(a.until, "--until"));
    req.set_limit(a.limit);
    opv1::ListAuditResponse resp;
    auto c = ctx.Call();
    auto st = ctx.Stub().ListAudit(c.get(), req, &resp);
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    json j = json::array();
    std::string text;
    for (const auto& e : resp.entries()) {
      j.push_back(ToJson(e));
      text += AuditLine(e) + "\n";
    }
    Emit(ctx, j, text);
  });
}

}  // namespace hu::ctl
