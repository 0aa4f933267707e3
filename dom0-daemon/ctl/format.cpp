#include "format.hpp"

#include <fmt/format.h>

#include <ctime>

namespace hu::ctl {

std::string StateName(commonv1::ProgramState s) { return protojson::StateName(s); }

std::string VerdictName(commonv1::VerdictKind k) { return protojson::VerdictName(k); }

std::string EventKindName(opv1::EventKind k) {
  switch (k) {
    case opv1::EVENT_KIND_REGISTERED:
      return "registered";
    case opv1::EVENT_KIND_PENDING:
      return "pending";
    case opv1::EVENT_KIND_REJECTED:
      return "rejected";
    case opv1::EVENT_KIND_APPROVED:
      return "approved";
    case opv1::EVENT_KIND_DETACHED:
      return "detached";
    case opv1::EVENT_KIND_DOMAIN_STARTED:
      return "domain_started";
    case opv1::EVENT_KIND_DOMAIN_STOPPED:
      return "domain_stopped";
    case opv1::EVENT_KIND_TRACE:
      return "trace";
    case opv1::EVENT_KIND_POLICY_CHANGED:
      return "policy_changed";
    default:
      return "unknown";
  }
}

std::string Hex(const std::string& bytes) { return protojson::HexBytes(bytes); }

std::string TimeText(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string TimeTextNs(int64_t unix_ns) {
  std::string t = TimeText(unix_ns / 1'000'000'000 * 1000);
  return t.substr(0, t.size() - 1) + fmt::format(".{:09}Z", unix_ns % 1'000'000'000);
}

json ToJson(const opv1::Domain& d) {
  return {{"domid", d.domid()},
          {"name", d.name()},
          {"uuid", d.uuid()},
          {"vcpus", d.vcpus()},
          {"memory_kib", d.memory_kib()},
          {"running", d.running()},
          {"programs", d.programs()},
          {"has_own_policy", d.has_own_policy()},
          {"history", [&] {
             json h = json::array();
             for (const auto& c : d.history()) h.push_back(ToJson(c));
             return h;
           }()}};
}

json ToJson(const opv1::IdentityChange& c) {
  return {{"time_unix_ms", c.time_unix_ms()}, {"kind", c.kind()},
          {"old_name", c.old_name()},         {"new_name", c.new_name()},
          {"old_uuid", c.old_uuid()},         {"new_uuid", c.new_uuid()}};
}

json ToJson(const opv1::GetPolicyResponse& r) {
  const auto& p = r.policy();
  json j = {{"scope", r.has_domid()               ? json(r.domid())
                      : !r.libvirt_uuid().empty() ? json("libvirt:" + r.libvirt_uuid())
                                                  : json("default")},
            {"libvirt_uuid", r.libvirt_uuid()},
            {"inherited", r.inherited()},
            {"allowed_hooks",
             json(std::vector<std::string>(p.allowed_hooks().begin(), p.allowed_hooks().end()))},
            {"allowed_helpers", json(std::vector<std::string>(p.allowed_helpers().begin(),
                                                              p.allowed_helpers().end()))},
            {"max_insns", p.max_insns()},
            {"run_budget", p.run_budget()},
            {"verifier_budget", p.verifier_budget()},
            {"max_programs", p.max_programs()},
            {"require_approval", p.require_approval()},
            {"max_grace_us", p.max_grace_us()},
            {"jit", p.jit().empty() ? "auto" : p.jit()}};
  json nc = json::array();
  for (const auto& n : r.noncompliant()) {
    nc.push_back(
        {{"program", ToJson(n.program())}, {"reason", n.reason()}, {"detached", n.detached()}});
  }
  j["noncompliant"] = nc;
  return j;
}

json ToJson(const opv1::Event& e) {
  json j = {{"seq", e.seq()},
            // Nanoseconds since 1970 are past 2^53, where jq rounds: ms as
            // a number, the exact time as text.
            {"time_unix_ms", e.time_unix_ns() / 1'000'000},
            {"time", TimeTextNs(e.time_unix_ns())},
            {"kind", EventKindName(e.kind())},
            {"domid", e.domid()}};
  if (e.prog_id()) j["prog_id"] = e.prog_id();
  if (!e.prog_name().empty()) j["prog_name"] = e.prog_name();
  if (!e.hook().empty()) j["hook"] = e.hook();
  if (!e.message().empty()) j["message"] = e.message();
  if (e.kind() == opv1::EVENT_KIND_TRACE) {
    j["trace_data"] = Hex(e.trace_data());
    j["trace_time_ns"] = e.trace_time_ns();
  }
  if (e.audit_seq()) j["audit_seq"] = e.audit_seq();
  if (!e.actor().empty()) j["actor"] = e.actor();
  return j;
}

json ToJson(const opv1::AuditEntry& e) {
  return {{"seq", e.seq()},
          {"time_unix_ms", e.time_unix_ms()},
          {"time", TimeText(e.time_unix_ms())},
          {"domid", e.domid()},
          {"prog_id", e.prog_id()},
          {"prog_name", e.prog_name()},
          {"decision", e.decision()},
          {"reason", e.reason()},
          {"actor", e.actor()}};
}

std::string AuditLine(const opv1::AuditEntry& e) {
  std::string line = fmt::format("#{} {} dom {}", e.seq(), TimeText(e.time_unix_ms()), e.domid());
  if (e.prog_id()) line += fmt::format(" prog {}", e.prog_id());
  if (!e.prog_name().empty()) line += fmt::format(" '{}'", e.prog_name());
  line += " " + e.decision();
  if (!e.actor().empty()) line += " by " + e.actor();
  if (!e.reason().empty()) line += ": " + e.reason();
  return line;
}

std::string ProgramLine(const commonv1::ProgramSummary& p) {
  std::string line = fmt::format("{}: {}  name {}  dom {}  {}  insns {}", p.id(), p.hook(),
                                 p.name(), p.domid(), StateName(p.state()), p.insn_count());
  if (p.maps_size()) {
    std::string maps;
    for (const auto& m : p.maps()) maps += (maps.empty() ? "" : ",") + m.name();
    line += "  maps " + maps;
  }
  if (p.verdict().kind() == commonv1::VERDICT_REJECTED && !p.verdict().message().empty()) {
    line += fmt::format("\n\t{}: {}", p.verdict().stage(), p.verdict().message());
  }
  return line;
}

std::string PolicyText(const opv1::GetPolicyResponse& r) {
  const auto& p = r.policy();
  auto list = [](const auto& items) {
    std::string s;
    for (const auto& i : items) s += (s.empty() ? "" : ",") + i;
    return s.empty() ? std::string("(none)") : s;
  };
  std::string scope = r.has_domid() ? fmt::format("domain {}", r.domid())
                      : !r.libvirt_uuid().empty()
                          ? "libvirt domain " + r.libvirt_uuid() + " (not running)"
                          : "default";
  if (r.inherited()) scope += " (inherits the default)";
  return fmt::format(
      "policy {}\n  allowed_hooks     {}\n  allowed_helpers   {}\n  max_insns         {}\n"
      "  run_budget        {}\n  verifier_budget   {}\n  max_programs      {}\n"
      "  require_approval  {}\n  max_grace_us      {}\n  jit               {}\n",
      scope, list(p.allowed_hooks()), list(p.allowed_helpers()), p.max_insns(),
      p.run_budget() ? std::to_string(p.run_budget()) : "backend default",
      p.verifier_budget() ? std::to_string(p.verifier_budget()) : "verifier default",
      p.max_programs(), p.require_approval() ? "yes" : "no", p.max_grace_us(),
      p.jit().empty() ? "auto" : p.jit());
}

std::string EventLine(const opv1::Event& e) {
  std::string line = fmt::format("{} #{} {} dom {}", TimeText(e.time_unix_ns() / 1'000'000),
                                 e.seq(), EventKindName(e.kind()), e.domid());
  if (e.prog_id()) line += fmt::format(" prog {}", e.prog_id());
  if (!e.prog_name().empty()) line += fmt::format(" '{}'", e.prog_name());
  if (!e.hook().empty()) line += " " + e.hook();
  if (e.audit_seq()) line += fmt::format(" audit #{}", e.audit_seq());
  if (!e.actor().empty()) line += " by " + e.actor();
  if (e.kind() == opv1::EVENT_KIND_TRACE) {
    line += fmt::format(" data {}", Hex(e.trace_data()));
  } else if (!e.message().empty()) {
    line += ": " + e.message();
  }
  return line;
}

}  // namespace hu::ctl
