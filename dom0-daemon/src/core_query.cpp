// Read-mostly operations: listings, maps, statistics, policies.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core.hpp"
#include "names.hpp"
#include "text.hpp"

namespace hu::daemon {

namespace opv1 = hyperupcall::operator_api::v1;

std::vector<ProgramRecord> Core::GuestPrograms(uint32_t domid, bool all) {
  return Programs(domid, all);
}

Result<MapRead> Core::ReadMap(uint32_t domid, uint64_t prog_id, const std::string& map_name,
                              uint32_t map_index) {
  auto found = FindMap(domid, prog_id, map_name, map_index);
  if (!found) return found.error();
  auto entries = backend_.MapDump(domid, prog_id, found->index);
  if (!entries) return entries.error();
  return MapRead{found->spec, std::move(entries.value())};
}

Result<Core::FoundMap> Core::FindMap(std::optional<uint32_t> domid, uint64_t prog_id,
                                     const std::string& map_name, uint32_t map_index) {
  MapSpec spec;
  uint32_t index = map_index;
  FoundMap out;
  {
    std::lock_guard lk(mu_);
    auto it = programs_.find(prog_id);
    if (it == programs_.end() || (domid && it->second.domid != *domid) ||
        it->second.state != ProgState::kInstalled) {
      return MakeError(ErrorCode::kNotFound, fmt::format("no installed program with id {}{}",
                                                         prog_id, domid ? " in this domain" : ""));
    }
    out.domid = it->second.domid;
    out.btf = it->second.btf;
    out.prog_name = it->second.name;
    const auto& maps = it->second.maps;
    if (!map_name.empty()) {
      index = static_cast<uint32_t>(maps.size());
      for (uint32_t i = 0; i < maps.size(); ++i) {
        if (maps[i].name == map_name) index = i;
      }
      if (index == maps.size()) {
        std::vector<std::string> names;
        for (const auto& m : maps) names.push_back(m.name);
        return MakeError(ErrorCode::kNotFound,
                         fmt::format("program {} has no map named '{}' (maps: {})", prog_id,
                                     SafeText(map_name, kMaxNameLen),
                                     names.empty() ? "none" : Join(names, ", ")));
      }
    } else if (index >= maps.size()) {
      return MakeError(ErrorCode::kNotFound, fmt::format("program {} has {} maps, no index {}",
                                                         prog_id, maps.size(), index));
    }
    spec = maps[index];
  }
  out.spec = std::move(spec);
  out.index = index;
  return out;
}

std::vector<DomainView> Core::Domains() {
  auto domains = backend_.Domains();
  std::lock_guard lk(mu_);
  std::vector<DomainView> out;
  for (auto& d : domains) {
    DomainView v;
    v.info = d;
    v.programs = LiveProgramsLocked(d.domid);
    v.has_own_policy = OwnPolicyLocked(d.domid) != nullptr;
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<ProgramRecord> Core::Programs(std::optional<uint32_t> domid, bool all) {
  std::lock_guard lk(mu_);
  std::vector<ProgramRecord> out;
  auto take = [&](const ProgramRecord& r) {
    if (all || r.Live()) out.push_back(r);
  };
  if (!domid) {
    for (const auto& [id, r] : programs_) take(r);
    return out;
  }
  if (auto ix = index_.find(*domid); ix != index_.end()) {
    for (uint64_t id : ix->second.ids) take(programs_.at(id));
  }
  return out;
}

std::vector<ProgramRecord> Core::Pending(std::optional<uint32_t> domid) {
  std::vector<ProgramRecord> out;
  for (auto& r : Programs(domid, false)) {
    if (r.state == ProgState::kPending) out.push_back(std::move(r));
  }
  return out;
}

Result<ProgramRecord> Core::Program(uint64_t id) {
  ProgramRecord summary;
  {
    std::lock_guard lk(mu_);
    auto it = programs_.find(id);
    if (it == programs_.end()) {
      return MakeError(ErrorCode::kNotFound, fmt::format("no program with id {}", id));
    }
    if (it->second.Live()) return it->second;
    summary = it->second;
  }
  // A finished program's bytes and log live only in the state database;
  // its state and verdict are memory's (their update may still be on its
  // way to the disk).
  auto rec = store_.LoadProgram(id);
  if (!rec) return summary;
  rec->state = summary.state;
  rec->verdict = summary.verdict;
  rec->updated_ms = summary.updated_ms;
  return rec;
}

std::optional<std::string> Core::UuidOf(uint32_t domid) const {
  return scopes_ ? scopes_->UuidOf(domid) : std::nullopt;
}

std::string Core::PolicyScopeOf(uint32_t domid) const {
  auto uuid = UuidOf(domid);
  return uuid ? LibvirtPolicyScope(*uuid) : DomainPolicyScope(domid);
}

const Policy* Core::OwnPolicyLocked(uint32_t domid) const {
  if (auto uuid = UuidOf(domid)) {
    auto it = libvirt_policies_.find(*uuid);
    return it != libvirt_policies_.end() ? &it->second : nullptr;
  }
  auto it = domain_policies_.find(domid);
  return it != domain_policies_.end() ? &it->second : nullptr;
}

PolicyView Core::GetPolicy(std::optional<uint32_t> domid) {
  std::lock_guard lk(mu_);
  if (!domid) return PolicyView{std::nullopt, DefaultPolicyLocked(), false, ""};
  const auto fleet = fleet_ ? fleet_->DomainPolicy(*domid) : std::nullopt;
  const Policy* own = OwnPolicyLocked(*domid);
  PolicyView v{domid, EffectivePolicyLocked(*domid), !fleet && own == nullptr,
               UuidOf(*domid).value_or("")};
  return v;
}

PolicyView Core::GetLibvirtPolicy(const std::string& uuid) {
  std::lock_guard lk(mu_);
  auto it = libvirt_policies_.find(uuid);
  if (it == libvirt_policies_.end()) {
    return PolicyView{std::nullopt, DefaultPolicyLocked(), true, uuid};
  }
  return PolicyView{std::nullopt, it->second, false, uuid};
}

Result<PolicyView> Core::SetLibvirtPolicy(const std::string& uuid, const Policy& p,
                                          const std::string& origin, const PolicySource& source) {
  if (auto st = ValidatePolicy(p); !st) return st.error();
  std::string desc =
      fmt::format("libvirt domain {} (not running) policy set: {}{}", uuid, PolicyToJson(p).dump(),
                  origin.empty() ? "" : " (from " + origin + ")");
  {
    std::lock_guard lk(mu_);
    if (auto st = store_.PutScopedPolicy(LibvirtPolicyScope(uuid), p,
                                         AuditRow{NowUnixMs(), 0, 0, "", "policy", desc}, source);
        !st) {
      return st.error();
    }
    libvirt_policies_[uuid] = p;
  }
  Emit(opv1::EVENT_KIND_POLICY_CHANGED, nullptr, 0, desc);
  spdlog::info("{}", desc);
  return GetLibvirtPolicy(uuid);
}

Result<PolicyView> Core::ClearLibvirtPolicy(const std::string& uuid) {
  std::string desc =
      fmt::format("libvirt domain {} (not running) policy cleared: inherits the default", uuid);
  {
    std::lock_guard lk(mu_);
    if (!libvirt_policies_.count(uuid)) {
      return MakeError(ErrorCode::kNotFound,
                       fmt::format("libvirt domain {} has no policy of its own", uuid));
    }
    if (auto st = store_.DeleteScopedPolicy(LibvirtPolicyScope(uuid),
                                            AuditRow{NowUnixMs(), 0, 0, "", "policy", desc});
        !st) {
      return st.error();
    }
    libvirt_policies_.erase(uuid);
  }
  Emit(opv1::EVENT_KIND_POLICY_CHANGED, nullptr, 0, desc);
  return GetLibvirtPolicy(uuid);
}

Status Core::AdoptDomidPolicy(uint32_t domid) {
  auto uuid = UuidOf(domid);
  std::string desc;
  {
    std::lock_guard lk(mu_);
    auto it = domain_policies_.find(domid);
    if (!uuid || it == domain_policies_.end()) return Status::Ok();
    const bool kept = libvirt_policies_.count(*uuid) > 0;
    auto moved = MoveDomidPolicyToUuid(store_, domid, *uuid, kept);
    if (!moved) return moved.error();
    desc = std::move(*moved);
    if (!kept) libvirt_policies_[*uuid] = it->second;
    domain_policies_.erase(it);
  }
  Emit(opv1::EVENT_KIND_POLICY_CHANGED, nullptr, domid, desc);
  spdlog::info("{}", desc);
  return Status::Ok();
}

Result<PolicyView> Core::SetPolicy(std::optional<uint32_t> domid, const Policy& p,
                                   const std::string& origin, const PolicySource& source) {
  if (auto st = ValidatePolicy(p); !st) return st.error();
  const auto uuid = domid ? UuidOf(*domid) : std::nullopt;
  std::string scope = domid ? fmt::format("domain {}", *domid) : "default";
  if (uuid) scope += fmt::format(" (libvirt {})", *uuid);
  std::string desc = fmt::format("{} policy set: {}{}", scope, PolicyToJson(p).dump(),
                                 origin.empty() ? "" : " (from " + origin + ")");
  {
    std::lock_guard lk(mu_);
    const AuditRow row{NowUnixMs(), domid.value_or(0), 0, "", "policy", desc};
    if (auto st = uuid ? store_.PutScopedPolicy(LibvirtPolicyScope(*uuid), p, row, source)
                       : store_.PutPolicy(domid, p, row, source);
        !st) {
      return st.error();
    }
    if (uuid) {
      libvirt_policies_[*uuid] = p;
    } else if (domid) {
      domain_policies_[*domid] = p;
    } else {
      default_policy_ = p;
    }
  }
  Emit(opv1::EVENT_KIND_POLICY_CHANGED, nullptr, domid.value_or(0), desc);
  spdlog::info("{}", desc);
  return GetPolicy(domid);
}

Result<std::vector<uint64_t>> Core::ReclaimScan(uint32_t domid, uint64_t first_gfn,
                                                uint64_t count) {
  auto d = FindDomain(domid);
  if (!d) return MakeError(ErrorCode::kNotFound, fmt::format("no domain {}", domid));
  if (!d->running) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("domain {} is not running", domid));
  }
  return backend_.ReclaimScan(domid, first_gfn, count);
}

Result<ReclaimReport> Core::Reclaim(uint32_t domid, uint64_t max_frames) {
  auto d = FindDomain(domid);
  if (!d) return MakeError(ErrorCode::kNotFound, fmt::format("no domain {}", domid));
  if (!d->running) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("domain {} is not running", domid));
  }
  auto r = backend_.Reclaim(domid, max_frames);
  if (!r) return r.error();
  AuditNote(domid, "reclaim",
            fmt::format("reclaimed {} of at most {} frames ({} kept, {} busy, {} errors)",
                        r->reclaimed, max_frames, r->kept, r->busy, r->errors));
  return r;
}

void Core::AuditNote(uint32_t domid, const std::string& decision, const std::string& reason) {
  AuditOnly(domid, 0, "", decision, reason);
  Emit(opv1::EVENT_KIND_POLICY_CHANGED, nullptr, domid, reason);
  spdlog::info("dom{}: {}", domid, reason);
}

Result<PolicyView> Core::ClearPolicy(uint32_t domid) {
  const auto uuid = UuidOf(domid);
  std::string desc = fmt::format("domain {}{} policy cleared: inherits the default", domid,
                                 uuid ? fmt::format(" (libvirt {})", *uuid) : "");
  {
    std::lock_guard lk(mu_);
    if (!OwnPolicyLocked(domid)) {
      return MakeError(ErrorCode::kNotFound,
                       fmt::format("domain {} has no policy of its own", domid));
    }
    if (auto st = store_.DeleteScopedPolicy(PolicyScopeOf(domid),
                                            AuditRow{NowUnixMs(), domid, 0, "", "policy", desc});
        !st) {
      return st.error();
    }
    if (uuid) {
      libvirt_policies_.erase(*uuid);
    } else {
      domain_policies_.erase(domid);
    }
  }
  Emit(opv1::EVENT_KIND_POLICY_CHANGED, nullptr, domid, desc);
  return GetPolicy(domid);
}

Result<std::vector<StatsRow>> Core::Stats(std::optional<uint32_t> domid, uint64_t prog_id) {
  std::vector<StatsRow> rows;
  {
    std::lock_guard lk(mu_);
    if (prog_id) {
      auto it = programs_.find(prog_id);
      if (it == programs_.end()) {
        return MakeError(ErrorCode::kNotFound, fmt::format("no program with id {}", prog_id));
      }
      if (it->second.state != ProgState::kInstalled) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         fmt::format("program {} is {}, statistics exist only while installed",
                                     prog_id, ProgStateName(it->second.state)));
      }
    }
    auto add = [&](const ProgramRecord& r) {
      if (r.state != ProgState::kInstalled) return;
      if (prog_id && r.id != prog_id) return;
      if (domid && r.domid != *domid) return;
      rows.push_back(StatsRow{r.id, r.domid, r.hook, r.name, {}});
    };
    if (domid) {
      if (auto ix = index_.find(*domid); ix != index_.end()) {
        for (uint64_t id : ix->second.ids) add(programs_.at(id));
      }
    } else {
      for (const auto& [id, r] : programs_) add(r);
    }
  }
  for (auto& row : rows) {
    auto st = backend_.Stats(row.domid, row.prog_id);
    if (!st) return st.error();
    row.stats = *st;
  }
  return rows;
}

Result<std::string> MoveDomidPolicyToUuid(Store& store, uint32_t domid, const std::string& uuid,
                                          bool uuid_has_own) {
  std::string desc =
      uuid_has_own
          ? fmt::format(
                "domain {} policy: the libvirt domain {} has its own; the domid-scoped one is "
                "dropped",
                domid, uuid)
          : fmt::format("domain {} policy now follows libvirt domain {} (was kept under the domid)",
                        domid, uuid);
  if (auto st = store.MovePolicy(DomainPolicyScope(domid), LibvirtPolicyScope(uuid),
                                 AuditRow{NowUnixMs(), domid, 0, "", "policy", desc});
      !st) {
    return st.error();
  }
  return desc;
}

}  // namespace hu::daemon
