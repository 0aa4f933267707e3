// What happens to a program after registration: approval, rejection by an
// operator, detach (operator, guest, domain stop), and restore at start.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core.hpp"
#include "hyperupcall/verifier.hpp"
#include "names.hpp"
#include "program_hash.hpp"

namespace hu::daemon {

namespace opv1 = hyperupcall::operator_api::v1;

namespace {

Error NotFound(uint64_t id) {
  return MakeError(ErrorCode::kNotFound, fmt::format("no program with id {}", id));
}

}  // namespace

Result<ProgramRecord> Core::FinishLocked(ProgramRecord& rec, ProgState state,
                                         const Verdict& verdict, const std::string& decision,
                                         opv1::EventKind kind) {
  if (rec.state == ProgState::kInstalled) {
    if (auto st = backend_.Uninstall(rec.domid, rec.id); !st) {
      // The domain may be gone already, and its programs with it.
      spdlog::warn("dom{}: uninstall of program {}: {}", rec.domid, rec.id, st.error().message);
    }
  }
  ProgramRecord next = rec;
  next.state = state;
  next.verdict = verdict;
  next.updated_ms = NowUnixMs();
  if (auto st = store_.UpdateProgram(
          next, AuditRow{next.updated_ms, rec.domid, rec.id, rec.name, decision, verdict.message});
      !st) {
    return st.error();
  }
  rec = next;
  Emit(kind, &rec, rec.domid, verdict.message);
  spdlog::info("dom{}: program {} '{}' {}: {}", rec.domid, rec.id, rec.name, decision,
               verdict.message);
  return rec;
}

Status Core::Unregister(uint32_t domid, uint64_t id) {
  std::lock_guard lk(mu_);
  auto it = programs_.find(id);
  // Another guest's program looks exactly like a missing one.
  if (it == programs_.end() || it->second.domid != domid || !it->second.Live()) {
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("no installed or pending program with id {} in this domain", id));
  }
  Verdict v{VerdictKind::kRejected, "guest", "unloaded by the guest", -1, 0};
  auto r = FinishLocked(it->second, ProgState::kDetached, v, "detached", opv1::EVENT_KIND_DETACHED);
  if (!r) return r.error();
  return Status::Ok();
}

Result<ProgramRecord> Core::Approve(uint64_t id) {
  std::lock_guard lk(mu_);
  auto it = programs_.find(id);
  if (it == programs_.end()) return NotFound(id);
  ProgramRecord& rec = it->second;
  if (rec.state != ProgState::kPending) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("program {} is {}, only pending programs can be approved", id,
                                 ProgStateName(rec.state)));
  }
  return ApproveLocked(rec, "approved by the operator");
}

size_t Core::ApproveByHash(const std::string& sha256, const std::string& why) {
  std::lock_guard lk(mu_);
  size_t n = 0;
  for (auto& [id, rec] : programs_) {
    if (rec.state != ProgState::kPending || ProgramSha256(rec) != sha256) continue;
    if (ApproveLocked(rec, why)) ++n;
  }
  return n;
}

Result<ProgramRecord> Core::ApproveLocked(ProgramRecord& rec, const std::string& why) {
  const uint64_t id = rec.id;
  ProgramRecord next = rec;
  next.state = ProgState::kInstalled;
  next.verdict = Verdict{VerdictKind::kAccepted, "", why, -1, 0};
  next.updated_ms = NowUnixMs();
  if (auto st = store_.UpdateProgram(
          next, AuditRow{next.updated_ms, rec.domid, id, rec.name, "approved", why});
      !st) {
    return st.error();
  }
  if (auto st = backend_.Install(ImageLocked(next)); !st) {
    next.state = ProgState::kFailed;
    next.verdict = Verdict{
        VerdictKind::kRejected, "backend",
        fmt::format("backend {} could not install it: {}", backend_.Name(), st.error().message), -1,
        static_cast<int32_t>(st.error().code)};
    (void)store_.UpdateProgram(
        next, AuditRow{NowUnixMs(), rec.domid, id, rec.name, "failed", next.verdict.message});
    rec = next;
    Emit(opv1::EVENT_KIND_REJECTED, &rec, rec.domid, rec.verdict.message);
    return MakeError(ErrorCode::kUnavailable, rec.verdict.message);
  }
  rec = next;
  Emit(opv1::EVENT_KIND_APPROVED, &rec, rec.domid, why);
  spdlog::info("dom{}: program {} '{}' {} and installed", rec.domid, id, rec.name, why);
  return rec;
}

Result<ProgramRecord> Core::Reject(uint64_t id, const std::string& reason) {
  std::lock_guard lk(mu_);
  auto it = programs_.find(id);
  if (it == programs_.end()) return NotFound(id);
  if (it->second.state != ProgState::kPending) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("program {} is {}, only pending programs can be rejected "
                                 "(use detach for installed ones)",
                                 id, ProgStateName(it->second.state)));
  }
  std::string why = reason.empty() ? "rejected by the operator" : "operator: " + reason;
  Verdict v{VerdictKind::kRejected, "operator", why, -1, static_cast<int32_t>(ErrorCode::kAborted)};
  return FinishLocked(it->second, ProgState::kRejected, v, "rejected", opv1::EVENT_KIND_REJECTED);
}

Result<ProgramRecord> Core::Detach(uint64_t id, const std::string& reason) {
  std::lock_guard lk(mu_);
  auto it = programs_.find(id);
  if (it == programs_.end()) return NotFound(id);
  if (!it->second.Live()) {
    return MakeError(
        ErrorCode::kFailedPrecondition,
        fmt::format("program {} is {}, nothing to detach", id, ProgStateName(it->second.state)));
  }
  std::string why = reason.empty() ? "detached by the operator" : "operator: " + reason;
  Verdict v{VerdictKind::kRejected, "operator", why, -1, 0};
  return FinishLocked(it->second, ProgState::kDetached, v, "detached", opv1::EVENT_KIND_DETACHED);
}

void Core::OnDomainEvent(const DomainEvent& ev) {
  std::lock_guard lk(mu_);
  const uint32_t domid = ev.domain.domid;
  if (ev.kind == DomainEvent::Kind::kStarted) {
    Emit(opv1::EVENT_KIND_DOMAIN_STARTED, nullptr, domid,
         fmt::format("domain {} '{}' started", domid, ev.domain.name));
    return;
  }
  // The hypervisor dropped the domain's programs with the domain.
  for (auto& [id, rec] : programs_) {
    if (rec.domid != domid || !rec.Live()) continue;
    if (rec.state == ProgState::kInstalled) rec.state = ProgState::kPending;  // skip uninstall
    Verdict v{VerdictKind::kRejected, "domain", "domain stopped", -1, 0};
    (void)FinishLocked(rec, ProgState::kDetached, v, "detached", opv1::EVENT_KIND_DETACHED);
  }
  Emit(opv1::EVENT_KIND_DOMAIN_STOPPED, nullptr, domid,
       fmt::format("domain {} '{}' stopped", domid, ev.domain.name));
}

void Core::PublishTrace(const std::vector<TraceRecord>& records) {
  for (const auto& t : records) {
    OpEvent e;
    e.set_kind(opv1::EVENT_KIND_TRACE);
    e.set_domid(t.domid);
    e.set_prog_id(t.prog_id);
    {
      std::lock_guard lk(mu_);
      auto it = programs_.find(t.prog_id);
      if (it != programs_.end()) {
        e.set_prog_name(it->second.name);
        e.set_hook(HookName(it->second.hook));
      }
    }
    e.set_trace_data(std::string(t.data.begin(), t.data.end()));
    e.set_trace_time_ns(t.time_ns);
    bus_.Publish(std::move(e));
  }
}

Status Core::Restore() {
  auto policies = store_.LoadPolicies();
  if (!policies) return policies.error();
  auto programs = store_.LoadPrograms();
  if (!programs) return programs.error();
  std::lock_guard lk(mu_);
  if (policies->default_policy) default_policy_ = *policies->default_policy;
  domain_policies_ = policies->domains;
  libvirt_policies_ = policies->libvirt;
  size_t reinstalled = 0, failed = 0;
  for (auto& rec : *programs) {
    const uint64_t id = rec.id;
    programs_[id] = std::move(rec);
    ProgramRecord& r = programs_[id];
    if (r.state != ProgState::kInstalled) continue;
    // Verified once already; checked against the policy and verified
    // again because either may have become stricter since (a policy
    // tightened while the daemon was down is enforced here), and nothing
    // unverified runs.
    Policy p = EffectivePolicyLocked(r.domid);
    const Status allowed =
        CheckPolicy(p, PolicyCandidate{r.domid, r.hook, &r.insns, &r.regions, 0, 0});
    verifier::Options opts;
    opts.hook = r.hook;
    for (const auto& m : r.maps) opts.maps.push_back(m.def);
    ApplyPolicy(p, &opts);
    opts.time_limit = std::chrono::milliseconds(cfg_.verifier_time_limit_ms);
    verifier::Report rep;
    if (allowed) rep = verifier::Verify(r.insns, opts);
    Status st = !allowed       ? allowed
                : rep.accepted ? backend_.Install(ImageLocked(r))
                               : Status(MakeError(ErrorCode::kInvalidArgument, rep.error));
    if (st) {
      ++reinstalled;
      AuditOnly(r.domid, id, r.name, "reinstalled",
                fmt::format("program {} restored at start", id));
      continue;
    }
    ++failed;
    const bool backend_failed = allowed && rep.accepted;
    r.state = backend_failed ? ProgState::kFailed : ProgState::kRejected;
    r.verdict = Verdict{VerdictKind::kRejected,
                        !allowed ? "policy" : (rep.accepted ? "backend" : "verifier"),
                        "at daemon start: " + st.error().message, allowed ? rep.error_pc : -1,
                        static_cast<int32_t>(st.error().code)};
    r.updated_ms = NowUnixMs();
    (void)store_.UpdateProgram(
        r, AuditRow{r.updated_ms, r.domid, id, r.name, ProgStateName(r.state), r.verdict.message});
    spdlog::warn("dom{}: program {} '{}' not restored: {}", r.domid, id, r.name, r.verdict.message);
  }
  spdlog::info("restored {} programs ({} reinstalled, {} could not be)", programs_.size(),
               reinstalled, failed);
  return Status::Ok();
}

}  // namespace hu::daemon
