// hyperupcallctl fleet: one view of all hosts (etcd's registry and each
// host's daemon), and the fleet's writes (policies, approvals), each a
// compare-and-swap on the revision the operator saw.
#include <fmt/format.h>

#include <cstdlib>
#include <map>

#include "commands.hpp"
#include "fleet_view.hpp"
#include "names.hpp"
#include "policy.hpp"
#include "policy_edit.hpp"

namespace hu::ctl {

namespace {

struct FleetArgs {
  std::string etcd;
  std::string prefix = "/hyperupcall";
  std::string host;    // --host
  std::string domain;  // --domain UUID
  std::string what;    // approve: HASH, or ID with --host
  int64_t revision = -1;
  bool all = false;
  PolicyEdits edits;
};

FleetArgs a;

int FailWith(const Context& ctx, grpc::StatusCode code, const std::string& msg) {
  return Fail(ctx, grpc::Status(code, msg));
}

// Errors from etcd or from checks here (Fail's hint about the daemon's
// socket would mislead).
int FailError(const Context& ctx, const Error& e) {
  const char* code = CodeName(static_cast<grpc::StatusCode>(static_cast<int>(e.code)));
  if (ctx.json) {
    fmt::print("{}\n", json({{"error", {{"code", code}, {"message", e.message}}}}).dump(2));
  } else {
    fmt::print(stderr, "hyperupcallctl: {}: {}\n", code, e.message);
  }
  return 1;
}

std::unique_ptr<etcd::Client> Etcd(const Context& ctx, int& rc) {
  std::string list = a.etcd;
  if (list.empty()) {
    const char* env = std::getenv("HYPERUPCALL_ETCD");
    list = env ? env : "127.0.0.1:2379";
  }
  auto eps = etcd::ParseEndpoints(list);
  if (!eps) {
    rc = FailError(ctx, eps.error());
    return nullptr;
  }
  return std::make_unique<etcd::Client>(
      etcd::ClientOptions{*eps, std::chrono::seconds(std::min(ctx.timeout_s, 10))});
}

// The policy key `fleet policy` names: --host H, --domain UUID, or the
// fleet-wide one.
Result<std::pair<std::string, std::string>> PolicyKey(const fleet::Keys& k) {
  if (!a.host.empty() && !a.domain.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "give --host or --domain, not both");
  }
  if (!a.host.empty()) {
    if (auto st = fleet::ValidateHostName(a.host); !st) return st.error();
    return std::pair{k.HostPolicy(a.host), "host " + a.host + " policy"};
  }
  if (!a.domain.empty()) {
    auto u = fleet::CanonicalUuid(a.domain);
    if (!u) return u.error();
    return std::pair{k.DomainPolicy(*u), "domain " + *u + " policy"};
  }
  return std::pair{k.FleetPolicy(), std::string("fleet-wide policy")};
}

opv1::Policy ToProto(const daemon::Policy& p) {
  opv1::Policy out;
  for (const auto& h : daemon::HookMaskNames(p.allowed_hooks)) out.add_allowed_hooks(h);
  for (const auto& h : daemon::HelperMaskNames(p.allowed_helpers)) out.add_allowed_helpers(h);
  out.set_max_insns(p.max_insns);
  out.set_run_budget(p.run_budget);
  out.set_verifier_budget(p.verifier_budget);
  out.set_max_programs(p.max_programs);
  out.set_require_approval(p.require_approval);
  out.set_max_grace_us(p.max_grace_us);
  out.set_jit(daemon::JitModeName(p.jit));
  return out;
}

// A stored policy value, checked the way the daemons read it.
Result<daemon::Policy> ParsePolicy(const std::string& value) {
  auto j = json::parse(value, nullptr, false);
  if (j.is_discarded()) return MakeError(ErrorCode::kInvalidArgument, "not JSON");
  return daemon::PolicyFromJson(j);
}

Result<daemon::Policy> FromProto(const opv1::Policy& p) {
  json j = {{"allowed_hooks",
             std::vector<std::string>(p.allowed_hooks().begin(), p.allowed_hooks().end())},
            {"allowed_helpers",
             std::vector<std::string>(p.allowed_helpers().begin(), p.allowed_helpers().end())},
            {"max_insns", p.max_insns()},
            {"run_budget", p.run_budget()},
            {"verifier_budget", p.verifier_budget()},
            {"max_programs", p.max_programs()},
            {"require_approval", p.require_approval()},
            {"max_grace_us", p.max_grace_us()},
            {"jit", p.jit()}};
  return daemon::PolicyFromJson(j);
}

std::string PolicyBody(const opv1::Policy& p) {
  opv1::GetPolicyResponse r;
  *r.mutable_policy() = p;
  std::string text = PolicyText(r);
  return text.substr(text.find('\n') + 1);
}

// The revision the write is conditioned on: --revision when the operator
// gives the one they saw, else the one just read.
int64_t Expected(int64_t read) { return a.revision >= 0 ? a.revision : read; }

int Conflict(const Context& ctx, const std::string& what, int64_t expected,
             const etcd::CasResult& r) {
  std::string now = r.actual
                        ? fmt::format("revision {}: {}", r.actual->mod_revision, r.actual->value)
                        : "it does not exist";
  return FailWith(ctx, grpc::StatusCode::ABORTED,
                  fmt::format("{} changed since revision {} (now {}); nothing written: read it "
                              "again and retry",
                              what, expected, now));
}

void PolicyGet(const Context& ctx, int& rc) {
  fleet::Keys k{a.prefix};
  auto key = PolicyKey(k);
  if (!key) {
    rc = FailError(ctx, key.error());
    return;
  }
  auto e = Etcd(ctx, rc);
  if (!e) return;
  auto kv = e->Get(key->first);
  if (!kv) {
    rc = FailError(ctx, kv.error());
    return;
  }
  if (!*kv) {
    Emit(ctx, {{"key", key->first}, {"exists", false}, {"mod_revision", 0}},
         fmt::format("{}: not set (revision 0)\n", key->second));
    return;
  }
  auto p = ParsePolicy((*kv)->value);
  json j = {{"key", key->first},
            {"exists", true},
            {"mod_revision", (*kv)->mod_revision},
            {"valid", p.ok()},
            {"value", (*kv)->value}};
  if (!p) {
    j["error"] = p.error().message;
    Emit(ctx, j,
         fmt::format("{} at revision {}: NOT a valid policy ({}); daemons enforce it as nothing "
                     "allowed\n  {}\n",
                     key->second, (*kv)->mod_revision, p.error().message, (*kv)->value));
    return;
  }
  j["policy"] = daemon::PolicyToJson(*p);
  Emit(ctx, j,
       fmt::format("{} at revision {}\n{}", key->second, (*kv)->mod_revision,
                   PolicyBody(ToProto(*p))));
}

void PolicySet(const Context& ctx, int& rc, bool clear) {
  fleet::Keys k{a.prefix};
  auto key = PolicyKey(k);
  if (!key) {
    rc = FailError(ctx, key.error());
    return;
  }
  auto e = Etcd(ctx, rc);
  if (!e) return;
  auto cur = e->Get(key->first);
  if (!cur) {
    rc = FailError(ctx, cur.error());
    return;
  }
  const int64_t read = *cur ? (*cur)->mod_revision : 0;
  const int64_t expected = Expected(read);
  if (clear) {
    if (!*cur && a.revision < 0) {
      rc = FailWith(ctx, grpc::StatusCode::NOT_FOUND, key->second + " is not set");
      return;
    }
    auto r = e->CompareAndDelete(key->first, expected);
    if (!r) {
      rc = FailError(ctx, r.error());
      return;
    }
    if (!r->succeeded) {
      rc = Conflict(ctx, key->second, expected, *r);
      return;
    }
    Emit(ctx, {{"key", key->first}, {"deleted", true}, {"revision", r->revision}},
         fmt::format("{} cleared at revision {}\n", key->second, r->revision));
    return;
  }
  // Start from the value in force for this key (or, for a new host or
  // domain key, the fleet-wide one), change what was named.
  daemon::Policy base = daemon::DefaultPolicy();
  std::optional<etcd::KeyValue> from = *cur;
  if (!from && key->first != k.FleetPolicy()) {
    if (auto f = e->Get(k.FleetPolicy()); f && *f) from = *f;
  }
  if (from) {
    if (auto p = ParsePolicy(from->value); p) base = *p;
  }
  opv1::Policy edited = ToProto(base);
  ApplyPolicyEdits(a.edits, &edited);
  auto p = FromProto(edited);
  if (!p) {
    rc = FailError(ctx, p.error());
    return;
  }
  const std::string value = daemon::PolicyToJson(*p).dump();
  auto r = e->CompareAndPut(key->first, value, expected);
  if (!r) {
    rc = FailError(ctx, r.error());
    return;
  }
  if (!r->succeeded) {
    rc = Conflict(ctx, key->second, expected, *r);
    return;
  }
  Emit(ctx,
       {{"key", key->first},
        {"mod_revision", r->revision},
        {"previous_revision", read},
        {"policy", daemon::PolicyToJson(*p)}},
       fmt::format("{} set at revision {} (was {})\n{}", key->second, r->revision,
                   read ? fmt::format("revision {}", read) : "not set", PolicyBody(edited)));
}

// HASH, or --host H with a program id there.
Result<std::string> ProgramHash(const Context& ctx, etcd::Client& e, const fleet::Keys& k) {
  if (a.host.empty()) {
    if (auto st = fleet::ValidateSha256(a.what); !st) return st.error();
    return a.what;
  }
  uint64_t id = 0;
  try {
    size_t used = 0;
    id = std::stoull(a.what, &used);
    if (used != a.what.size()) throw std::invalid_argument(a.what);
  } catch (const std::exception&) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("with --host, give a program id of that host, not '{}'", a.what));
  }
  auto hosts = RegisteredHosts(e, k, a.host);
  if (!hosts) return hosts.error();
  const auto& h = hosts->front();
  if (!h.error.empty()) return MakeError(ErrorCode::kUnavailable, h.name + ": " + h.error);
  auto stub = opv1::OperatorService::NewStub(ctx.ChannelTo(h.address));
  opv1::GetProgramRequest req;
  req.set_id(id);
  opv1::GetProgramResponse resp;
  auto c = ctx.Call();
  auto st = stub->GetProgram(c.get(), req, &resp);
  if (!st.ok()) {
    return MakeError(static_cast<ErrorCode>(st.error_code()),
                     fmt::format("host {}: {}", h.name, st.error_message()));
  }
  return resp.program().sha256();
}

void Approve(const Context& ctx, int& rc, bool revoke) {
  fleet::Keys k{a.prefix};
  auto e = Etcd(ctx, rc);
  if (!e) return;
  auto hash = ProgramHash(ctx, *e, k);
  if (!hash) {
    rc = FailError(ctx, hash.error());
    return;
  }
  const std::string key = k.Approval(*hash);
  auto cur = e->Get(key);
  if (!cur) {
    rc = FailError(ctx, cur.error());
    return;
  }
  const int64_t read = *cur ? (*cur)->mod_revision : 0;
  if (!revoke && *cur && a.revision < 0) {
    Emit(ctx, {{"sha256", *hash}, {"approved", true}, {"mod_revision", read}, {"written", false}},
         fmt::format("program sha256 {} was already approved for the fleet at revision {}\n", *hash,
                     read));
    return;
  }
  if (revoke && !*cur && a.revision < 0) {
    rc = FailWith(ctx, grpc::StatusCode::NOT_FOUND,
                  fmt::format("program sha256 {} is not approved for the fleet", *hash));
    return;
  }
  const int64_t expected = Expected(read);
  const std::string what = "approval of program sha256 " + *hash;
  auto r = revoke ? e->CompareAndDelete(key, expected)
                  : e->CompareAndPut(key,
                                     json({{"sha256", *hash},
                                           {"approved_unix_ms",
                                            std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count()},
                                           {"from_host", a.host},
                                           {"prog_id", a.host.empty() ? "" : a.what}})
                                         .dump(),
                                     expected);
  if (!r) {
    rc = FailError(ctx, r.error());
    return;
  }
  if (!r->succeeded) {
    rc = Conflict(ctx, what, expected, *r);
    return;
  }
  Emit(ctx,
       {{"sha256", *hash}, {"approved", !revoke}, {"mod_revision", r->revision}, {"written", true}},
       fmt::format("program sha256 {} {} for the fleet at revision {}\n", *hash,
                   revoke ? "no longer approved" : "approved", r->revision));
}

void Hosts(const Context& ctx, int& rc) {
  auto e = Etcd(ctx, rc);
  if (!e) return;
  auto hosts = RegisteredHosts(*e, fleet::Keys{a.prefix});
  if (!hosts) {
    rc = FailError(ctx, hosts.error());
    return;
  }
  Ask(ctx, *hosts, true, false);
  json j = json::array();
  std::string text = fmt::format("{:<16} {:<11} {:>8} {:>7} {:>8}  {}\n", "HOST", "STATE",
                                 "REVISION", "DOMAINS", "PROGRAMS", "OPERATOR / REASON");
  for (const auto& h : *hosts) {
    json row = {{"host", h.name},
                {"operator", h.address},
                {"lease", h.lease},
                {"registry", h.registry},
                {"state", StatusWord(h)},
                {"error", h.error},
                {"domains", h.domains.size()},
                {"programs", h.programs.size()}};
    if (h.status) row["fleet"] = ToJson(*h.status);
    j.push_back(row);
    std::string why = !h.error.empty() ? h.error : h.status->degraded() ? h.status->reason() : "";
    text += fmt::format("{:<16} {:<11} {:>8} {:>7} {:>8}  {}{}\n", h.name, StatusWord(h),
                        h.status ? std::to_string(h.status->revision()) : "-", h.domains.size(),
                        h.programs.size(), h.address, why.empty() ? "" : " (" + why + ")");
  }
  Emit(ctx, j, text);
}

void Domains(const Context& ctx, int& rc) {
  auto e = Etcd(ctx, rc);
  if (!e) return;
  fleet::Keys k{a.prefix};
  auto hosts = RegisteredHosts(*e, k);
  if (!hosts) {
    rc = FailError(ctx, hosts.error());
    return;
  }
  auto pol = e->GetPrefix(k.DomainPolicy(""));
  if (!pol) {
    rc = FailError(ctx, pol.error());
    return;
  }
  std::map<std::string, int64_t> fleet_policy;  // UUID -> revision
  for (const auto& kv : pol->kvs)
    fleet_policy[kv.key.substr(k.DomainPolicy("").size())] = kv.mod_revision;
  Ask(ctx, *hosts, false, false);
  json j = json::array();
  std::string text = fmt::format("{:<16} {:>5} {:<16} {:<36} {:>5}  {}\n", "HOST", "DOMID", "NAME",
                                 "UUID", "PROGS", "POLICY");
  for (const auto& h : *hosts) {
    if (!h.error.empty()) {
      text += fmt::format("{:<16} unreachable: {}\n", h.name, h.error);
      j.push_back({{"host", h.name}, {"error", h.error}});
      continue;
    }
    for (const auto& d : h.domains) {
      auto uuid = fleet::CanonicalUuid(d.uuid());
      auto it = uuid ? fleet_policy.find(*uuid) : fleet_policy.end();
      std::string policy = it != fleet_policy.end() ? fmt::format("fleet (revision {})", it->second)
                           : d.has_own_policy()     ? "own"
                                                    : "inherited";
      json row = ToJson(d);
      row["host"] = h.name;
      row["policy"] = it != fleet_policy.end() ? "fleet" : d.has_own_policy() ? "own" : "inherited";
      row["fleet_policy_revision"] = it != fleet_policy.end() ? it->second : 0;
      j.push_back(row);
      text += fmt::format("{:<16} {:>5} {:<16} {:<36} {:>5}  {}\n", h.name, d.domid(), d.name(),
                          d.uuid(), d.programs(), policy);
    }
  }
  Emit(ctx, j, text);
}

void Programs(const Context& ctx, int& rc) {
  auto e = Etcd(ctx, rc);
  if (!e) return;
  fleet::Keys k{a.prefix};
  auto hosts = RegisteredHosts(*e, k);
  if (!hosts) {
    rc = FailError(ctx, hosts.error());
    return;
  }
  auto appr = e->GetPrefix(k.Approval(""));
  if (!appr) {
    rc = FailError(ctx, appr.error());
    return;
  }
  std::map<std::string, int64_t> approved;
  for (const auto& kv : appr->kvs) approved[kv.key.substr(k.Approval("").size())] = kv.mod_revision;
  Ask(ctx, *hosts, true, a.all);
  struct Group {
    std::string name, hook;
    json instances = json::array();
    std::string where;
  };
  std::map<std::string, Group> by_hash;
  std::string unreachable;
  for (const auto& h : *hosts) {
    if (!h.error.empty()) unreachable += fmt::format("{}: unreachable: {}\n", h.name, h.error);
    for (const auto& p : h.programs) {
      auto& g = by_hash[p.sha256()];
      g.name = p.name();
      g.hook = p.hook();
      g.instances.push_back({{"host", h.name},
                             {"id", p.id()},
                             {"domid", p.domid()},
                             {"state", StateName(p.state())}});
      g.where += fmt::format("{}{}:#{} dom{} {}", g.where.empty() ? "" : ", ", h.name, p.id(),
                             p.domid(), StateName(p.state()));
    }
  }
  json j = json::array();
  std::string text = fmt::format("{:<16} {:<14} {:<16} {:<14} {}\n", "SHA256", "HOOK", "NAME",
                                 "FLEET", "INSTANCES");
  for (const auto& [hash, g] : by_hash) {
    auto it = approved.find(hash);
    j.push_back({{"sha256", hash},
                 {"name", g.name},
                 {"hook", g.hook},
                 {"approved", it != approved.end()},
                 {"approval_revision", it != approved.end() ? it->second : 0},
                 {"instances", g.instances}});
    text +=
        fmt::format("{:<16} {:<14} {:<16} {:<14} {}\n", hash.substr(0, 16), g.hook, g.name,
                    it != approved.end() ? fmt::format("approved@{}", it->second) : "-", g.where);
  }
  Emit(ctx, j, text + unreachable);
}

void LocalStatus(Context& ctx, int& rc) {
  auto stub = fleetv1::FleetService::NewStub(
      ctx.ChannelTo(ctx.tcp.empty() ? "unix:" + ctx.socket : ctx.tcp));
  fleetv1::FleetStatus s;
  auto c = ctx.Call();
  auto st = stub->GetStatus(c.get(), fleetv1::GetStatusRequest(), &s);
  if (st.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    rc = FailWith(ctx, grpc::StatusCode::FAILED_PRECONDITION,
                  "this hyperupcalld is not in a fleet (it runs without --fleet-etcd)");
    return;
  }
  if (!st.ok()) {
    rc = Fail(ctx, st);
    return;
  }
  std::string text = fmt::format(
      "host {}: {}{}\n  etcd          {} (last reached {})\n  revision      {} (last confirmed "
      "{})\n  registered    {}\n  state         fleet policy {}, host policy {}, {} domain "
      "policies, {} approvals\n  applied       {} changes, {} full reads\n",
      s.host(), s.degraded() ? "DEGRADED" : "ok",
      s.degraded() ? fmt::format(" since {}: {}", TimeText(s.since_unix_ms()), s.reason()) : "",
      fmt::join(s.endpoints(), ","), s.endpoint(), s.revision(),
      s.last_sync_unix_ms() ? TimeText(s.last_sync_unix_ms()) : "never",
      s.registered() ? "yes" : "no", s.has_fleet_policy() ? "yes" : "no",
      s.has_host_policy() ? "yes" : "no", s.domain_policies(), s.approvals(), s.changes_applied(),
      s.resyncs());
  for (const auto& k : s.invalid_keys()) text += "  INVALID       " + k + "\n";
  Emit(ctx, ToJson(s), text);
}

}  // namespace

void AddFleetCommands(CLI::App& app, Context& ctx, int& rc) {
  auto* fl = app.add_subcommand("fleet",
                                "all hosts through etcd: hosts, domains, programs, "
                                "fleet policy and approvals")
                 ->require_subcommand(1);
  fl->add_option("--etcd", a.etcd,
                 "etcd endpoints HOST:PORT,... (default: $HYPERUPCALL_ETCD, else "
                 "127.0.0.1:2379)");
  fl->add_option("--prefix", a.prefix, "the fleet's etcd key prefix")->capture_default_str();

  fl->add_subcommand("hosts", "registered hosts, their daemons' fleet state")->callback([&] {
    Hosts(ctx, rc);
  });
  fl->add_subcommand("domains", "every host's domains and whose policy governs them")
      ->callback([&] { Domains(ctx, rc); });
  auto* progs = fl->add_subcommand("programs", "every host's programs, by program hash");
  progs->add_flag("--all", a.all, "also rejected, detached and failed ones");
  progs->callback([&] { Programs(ctx, rc); });
  fl->add_subcommand("status", "this daemon's (--socket/--tcp) view of the fleet")->callback([&] {
    LocalStatus(ctx, rc);
  });

  for (bool revoke : {false, true}) {
    auto* ap = fl->add_subcommand(
        revoke ? "unapprove" : "approve",
        revoke ? "withdraw a fleet approval (programs already installed stay)"
               : "approve a program for every host: by hash, or by id on --host");
    ap->add_option("PROGRAM", a.what, "sha256 (prog show), or an id with --host")->required();
    ap->add_option("--host", a.host, "the host whose program id this is");
    ap->add_option("--revision", a.revision,
                   "the approval key's revision you saw (0: absent); refused if it changed");
    ap->callback([&ctx, &rc, revoke] { Approve(ctx, rc, revoke); });
  }

  auto* pol = fl->add_subcommand("policy", "the fleet's policies in etcd")->require_subcommand(1);
  auto scope = [](CLI::App* c) {
    c->add_option("--host", a.host, "one host's default policy (over the fleet-wide one)");
    c->add_option("--domain", a.domain, "a domain's policy by UUID, on whichever host it runs");
  };
  auto* get = pol->add_subcommand("get", "a fleet policy and its revision");
  scope(get);
  get->callback([&] { PolicyGet(ctx, rc); });
  auto* set = pol->add_subcommand(
      "set",
      "change a fleet policy; unnamed fields keep their value; refused when the key "
      "changed since --revision (default: since it was read)");
  scope(set);
  AddPolicyEditOptions(set, a.edits);
  set->add_option("--revision", a.revision, "the revision you saw (0: not set)");
  set->callback([&] { PolicySet(ctx, rc, false); });
  auto* clr = pol->add_subcommand("clear", "remove a fleet policy");
  scope(clr);
  clr->add_option("--revision", a.revision, "the revision you saw");
  clr->callback([&] { PolicySet(ctx, rc, true); });
}

}  // namespace hu::ctl
