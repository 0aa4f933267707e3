#include "fleet_view.hpp"

#include <fmt/format.h>

namespace hu::ctl {

Result<std::vector<FleetHost>> RegisteredHosts(etcd::Client& etcd, const fleet::Keys& keys,
                                               const std::string& only) {
  auto r = etcd.GetPrefix(keys.Hosts());
  if (!r) return r.error();
  std::vector<FleetHost> out;
  for (const auto& kv : r->kvs) {
    FleetHost h;
    h.name = kv.key.substr(keys.Hosts().size());
    if (!only.empty() && h.name != only) continue;
    h.lease = kv.lease;
    h.registry = json::parse(kv.value, nullptr, false);
    if (h.registry.is_object() && h.registry.contains("operator") &&
        h.registry["operator"].is_string()) {
      h.address = h.registry["operator"].get<std::string>();
    } else {
      h.error = "registry entry has no operator address";
    }
    out.push_back(std::move(h));
  }
  if (!only.empty() && out.empty()) {
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("host '{}' is not in the fleet's registry", only));
  }
  return out;
}

void Ask(const Context& ctx, std::vector<FleetHost>& hosts, bool programs, bool all) {
  // A host that does not answer must not hold up the view of the others.
  const auto deadline = std::chrono::seconds(std::min(ctx.timeout_s, 5));
  auto call = [&] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + deadline);
    return c;
  };
  for (auto& h : hosts) {
    if (!h.error.empty()) continue;
    auto ch = ctx.ChannelTo(h.address);
    auto op = opv1::OperatorService::NewStub(ch);
    auto fl = fleetv1::FleetService::NewStub(ch);
    fleetv1::FleetStatus s;
    auto st = fl->GetStatus(call().get(), fleetv1::GetStatusRequest(), &s);
    if (!st.ok()) {
      h.error = fmt::format("{}: {}", CodeName(st.error_code()), st.error_message());
      continue;
    }
    h.status = s;
    opv1::ListDomainsResponse doms;
    st = op->ListDomains(call().get(), opv1::ListDomainsRequest(), &doms);
    if (!st.ok()) {
      h.error = fmt::format("{}: {}", CodeName(st.error_code()), st.error_message());
      continue;
    }
    h.domains.assign(doms.domains().begin(), doms.domains().end());
    if (!programs) continue;
    opv1::ListProgramsRequest req;
    req.set_all(all);
    opv1::ListProgramsResponse progs;
    st = op->ListPrograms(call().get(), req, &progs);
    if (!st.ok()) {
      h.error = fmt::format("{}: {}", CodeName(st.error_code()), st.error_message());
      continue;
    }
    h.programs.assign(progs.programs().begin(), progs.programs().end());
  }
}

json ToJson(const fleetv1::FleetStatus& s) {
  json eps = json::array();
  for (const auto& e : s.endpoints()) eps.push_back(e);
  json invalid = json::array();
  for (const auto& k : s.invalid_keys()) invalid.push_back(k);
  return {{"host", s.host()},
          {"endpoints", eps},
          {"endpoint", s.endpoint()},
          {"degraded", s.degraded()},
          {"reason", s.reason()},
          {"since_unix_ms", s.since_unix_ms()},
          {"revision", s.revision()},
          {"last_sync_unix_ms", s.last_sync_unix_ms()},
          {"state_known", s.state_known()},
          {"registered", s.registered()},
          {"lease_id", s.lease_id()},
          {"has_fleet_policy", s.has_fleet_policy()},
          {"has_host_policy", s.has_host_policy()},
          {"domain_policies", s.domain_policies()},
          {"approvals", s.approvals()},
          {"changes_applied", s.changes_applied()},
          {"resyncs", s.resyncs()},
          {"invalid_keys", invalid}};
}

std::string StatusWord(const FleetHost& h) {
  if (!h.error.empty()) return "unreachable";
  if (!h.status) return "?";
  return h.status->degraded() ? "degraded" : "ok";
}

}  // namespace hu::ctl
