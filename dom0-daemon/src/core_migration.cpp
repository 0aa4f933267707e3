// Programs that arrive with their domain (restore, migration) and leave
// with it: the daemon's side of save/restore, called by a backend that
// carries programs in its save streams (ArrivalPolicy).
//
// An arriving program passes exactly what a guest's registration does: the
// structural checks of a request, this host's operator policy and this
// host's verifier, before its domain first runs here. One refusal refuses
// them all, and the restore fails naming the program and the rule: running
// the domain without one of its programs (a mem.protect guard, say) would
// be worse than not running it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core.hpp"
#include "hyperupcall/verifier.hpp"
#include "names.hpp"
#include "program_hash.hpp"

namespace hu::daemon {

namespace opv1 = hyperupcall::operator_api::v1;

namespace {

std::string DomainText(uint32_t domid, const std::optional<DomainInfo>& d) {
  if (!d) return fmt::format("domain {}", domid);
  return fmt::format("domain {} '{}'{}", domid, d->name,
                     d->uuid.empty() ? "" : " (" + d->uuid + ")");
}

std::string Origin(const ArrivingProgram& a) {
  return fmt::format("{}, where it was program {}", a.origin, a.source_id);
}

}  // namespace

// A libvirt domain's policy is stored under its UUID, but the daemon learns
// that a domid is that UUID from libvirt's started event, which comes after
// a restore has finished and the guest runs: too late for its arriving
// programs, which would be held to the default policy instead (seen in
// xen-e2e-libvirt: the XML's run budget lost at virsh restore). The UUID
// the toolstack recorded for the domain (xenstore's vm path, written by
// dom0, not by the guest) finds that policy before the guest runs.
Policy Core::ArrivalPolicyLocked(uint32_t domid, const std::optional<DomainInfo>& d) const {
  if (fleet_) {
    if (auto p = fleet_->DomainPolicy(domid)) return *p;
  }
  if (!UuidOf(domid) && d && !d->uuid.empty()) {
    if (auto it = libvirt_policies_.find(d->uuid); it != libvirt_policies_.end()) return it->second;
  }
  return EffectivePolicyLocked(domid);
}

Result<std::vector<ProgramImage>> Core::Adopt(uint32_t domid,
                                              const std::vector<ArrivingProgram>& progs) {
  auto domain = FindDomain(domid);
  const std::string who = DomainText(domid, domain);
  {
    // A checkpointed stream hands the same programs over again: same answer.
    std::lock_guard lk(mu_);
    auto known = adopted_.find(domid);
    if (known != adopted_.end() && known->second.size() == progs.size()) {
      std::vector<ProgramImage> again;
      for (const auto& a : progs) {
        auto id = known->second.find(a.source_id);
        auto rec = id == known->second.end() ? programs_.end() : programs_.find(id->second);
        if (rec == programs_.end() || !rec->second.Live()) break;
        again.push_back(ImageLocked(rec->second, ArrivalPolicyLocked(domid, domain)));
      }
      if (again.size() == progs.size()) return again;
    }
  }

  auto refuse = [&](const ArrivingProgram& a, const std::string& stage, const std::string& why) {
    std::string msg = fmt::format("program '{}' ({}) arriving with {} from {}: {}: {}",
                                  a.image.name, HookName(a.image.hook), who, Origin(a), stage, why);
    AuditOnly(domid, 0, a.image.name, "refused", msg);
    Emit(opv1::EVENT_KIND_REJECTED, nullptr, domid, msg);
    spdlog::warn("dom{}: {}", domid, msg);
    return MakeError(ErrorCode::kPermissionDenied, msg);
  };

  // This host's policy over program i of the arrival (the lock held).
  const uint64_t memory = domain ? domain->memory_kib * 1024 : 0;
  auto policy_refusal = [&](size_t i, const DecodedProgram& d,
                            const Policy& policy) -> std::optional<Error> {
    if (fleet_) {
      if (auto st = fleet_->Ready(); !st) return refuse(progs[i], "policy", st.error().message);
    }
    if (policy.require_approval) {
      // Approved once for the fleet, approved on every host.
      ProgramRecord probe;
      probe.hook = d.hook;
      probe.insns = d.insns;
      probe.maps = d.maps;
      probe.regions = d.regions;
      if (!fleet_ || !fleet_->Approved(ProgramSha256(probe))) {
        return refuse(progs[i], "policy",
                      "this host's policy holds programs for operator approval, and an arriving "
                      "domain cannot wait for it");
      }
    }
    // Counted as a guest's registration is: the domain's live programs,
    // those being committed, and the arrival's own before this one.
    PolicyCandidate c{domid,      d.hook, &d.insns,
                      &d.regions, memory, LiveProgramsLocked(domid) + static_cast<uint32_t>(i)};
    if (auto it = index_.find(domid); it != index_.end()) c.live_programs += it->second.committing;
    if (auto st = CheckPolicy(policy, c); !st)
      return refuse(progs[i], "policy", st.error().message);
    if (auto st = CheckBackendLimits(limits_, backend_.Name(), policy, c); !st)
      return refuse(progs[i], "backend", st.error().message);
    return std::nullopt;
  };

  // The checks a guest's request gets, policy, then the verifier (which
  // runs without the lock, as for a guest).
  std::vector<DecodedProgram> decoded;
  std::vector<verifier::Report> reports;
  for (size_t i = 0; i < progs.size(); i++) {
    const auto& a = progs[i];
    RawProgram raw{HookName(a.image.hook),
                   a.image.name,
                   std::string(reinterpret_cast<const char*>(a.image.insns.data()),
                               a.image.insns.size() * sizeof(hu_insn)),
                   a.image.maps,
                   a.image.regions,
                   // Xen's blob carries what runs, not the names for people.
                   {},
                   {},
                   {}};
    auto d = DecodeProgram(raw);
    if (!d) return refuse(a, "request", d.error().message);
    Policy policy;
    {
      std::lock_guard lk(mu_);
      policy = ArrivalPolicyLocked(domid, domain);
      if (auto no = policy_refusal(i, *d, policy)) return *no;
    }
    verifier::Options opts;
    opts.hook = d->hook;
    for (const auto& m : d->maps) opts.maps.push_back(m.def);
    ApplyPolicy(policy, &opts);  // as a guest's registration is verified
    if (limits_.max_insns) opts.max_insns = std::min(opts.max_insns, limits_.max_insns);
    opts.log_level = cfg_.verifier_log_level;
    opts.time_limit = std::chrono::milliseconds(cfg_.verifier_time_limit_ms);
    verifier::Report report = verifier::Verify(d->insns, opts);
    if (!report.accepted) {
      return refuse(a, "verifier", report.error.empty() ? "rejected" : report.error);
    }
    decoded.push_back(std::move(*d));
    reports.push_back(std::move(report));
  }

  // Policy again with what holds now (it may have changed, or others
  // registered, while the verifier ran), then the records.
  std::lock_guard lk(mu_);
  const Policy policy = ArrivalPolicyLocked(domid, domain);
  for (size_t i = 0; i < decoded.size(); i++) {
    if (auto no = policy_refusal(i, decoded[i], policy)) return *no;
  }
  std::vector<ProgramImage> images;
  auto& mine = adopted_[domid];
  for (size_t i = 0; i < decoded.size(); i++) {
    ProgramRecord rec;
    rec.domid = domid;
    rec.hook = decoded[i].hook;
    rec.name = decoded[i].name;
    rec.insns = std::move(decoded[i].insns);
    rec.insn_count = static_cast<uint32_t>(rec.insns.size());
    rec.maps = std::move(decoded[i].maps);
    rec.regions = std::move(decoded[i].regions);
    rec.verifier_log = reports[i].log;
    rec.verifier_states = reports[i].states;
    rec.verifier_ms = reports[i].elapsed_ms;
    rec.state = ProgState::kInstalled;
    rec.created_ms = rec.updated_ms = NowUnixMs();
    rec.verdict = Verdict{VerdictKind::kAccepted, "", "", -1, 0};
    const std::string reason =
        fmt::format("arrived with {} from {}; verified here: {} insns, {} states, {:.2f} ms", who,
                    Origin(progs[i]), rec.insns.size(), reports[i].states, reports[i].elapsed_ms);
    rec.verdict.message = "adopted: " + reason;
    auto id =
        store_.InsertProgram(rec, AuditRow{rec.updated_ms, domid, 0, rec.name, "adopted", reason});
    if (!id) return id.error();
    rec.id = *id;
    mine[progs[i].source_id] = rec.id;
    images.push_back(ImageLocked(rec, policy));
    Emit(opv1::EVENT_KIND_REGISTERED, &rec, domid, "adopted: " + reason);
    spdlog::info("dom{}: program {} '{}' on {} adopted: {}", domid, rec.id, rec.name,
                 HookName(rec.hook), reason);
    AddLocked(std::move(rec));
  }
  return images;
}

void Core::AdoptionFailed(uint32_t domid, const std::vector<uint64_t>& ids,
                          const std::string& why) {
  std::lock_guard lk(mu_);
  for (uint64_t id : ids) {
    auto it = programs_.find(id);
    if (it == programs_.end() || it->second.domid != domid) continue;
    it->second.state = ProgState::kPending;  // nothing to uninstall
    Verdict v{VerdictKind::kRejected, "backend", "arrived but could not be loaded: " + why, -1, 0};
    (void)FinishNowLocked(it->second, ProgState::kFailed, v, "failed", opv1::EVENT_KIND_REJECTED);
  }
  adopted_.erase(domid);
}

void Core::Leaving(uint32_t domid, const std::string& destination) {
  std::lock_guard lk(mu_);
  departures_[domid] = destination;
  AuditOnly(
      domid, 0, "", "leaving",
      fmt::format("{} programs go with a stream to {}", LiveProgramsLocked(domid), destination));
}

void Core::Stayed(uint32_t domid) {
  std::lock_guard lk(mu_);
  auto it = departures_.find(domid);
  if (it == departures_.end()) return;
  AuditOnly(domid, 0, "", "stayed",
            fmt::format("the domain resumed here; its programs did not go to {}", it->second));
  departures_.erase(it);
}

}  // namespace hu::daemon
