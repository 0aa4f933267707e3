// What happens to a program after registration: approval, rejection by an
// operator, detach (operator, guest, domain stop), and restore at start.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <future>

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

std::pair<ProgramRecord, AuditRow> Core::FinishLocked(ProgramRecord& rec, ProgState state,
                                                      const Verdict& verdict,
                                                      const std::string& decision) {
  if (rec.state == ProgState::kInstalled) {
    if (auto st = backend_.Uninstall(rec.domid, rec.id); !st) {
      // The domain may be gone already, and its programs with it.
      spdlog::warn("dom{}: uninstall of program {}: {}", rec.domid, rec.id, st.error().message);
    }
  }
  rec.verdict = verdict;
  rec.updated_ms = NowUnixMs();
  SetStateLocked(rec, state);
  return {rec, AuditRow{rec.updated_ms, rec.domid, rec.id, rec.name, decision, verdict.message}};
}

Result<ProgramRecord> Core::FinishNowLocked(ProgramRecord& rec, ProgState state,
                                            const Verdict& verdict, const std::string& decision,
                                            opv1::EventKind kind) {
  // Committed before the operator hears of it; the store's own
  // transaction, not the group commit's (whose callbacks need mu_).
  auto [next, audit] = FinishLocked(rec, state, verdict, decision);
  if (auto st = store_.UpdateProgram(next, audit); !st) return st.error();
  Emit(kind, &next, next.domid, verdict.message);
  spdlog::info("dom{}: program {} '{}' {}: {}", next.domid, next.id, next.name, decision,
               verdict.message);
  return next;
}

void Core::UnregisterAsync(uint32_t domid, uint64_t id, std::function<void(Status)> done) {
  std::unique_lock lk(mu_);
  auto it = programs_.find(id);
  // Another guest's program looks exactly like a missing one.
  if (it == programs_.end() || it->second.domid != domid || !it->second.Live()) {
    lk.unlock();
    done(MakeError(ErrorCode::kNotFound,
                   fmt::format("no installed or pending program with id {} in this domain", id)));
    return;
  }
  Verdict v{VerdictKind::kRejected, "guest", "unloaded by the guest", -1, 0};
  auto [next, audit] = FinishLocked(it->second, ProgState::kDetached, v, "detached");
  commit_->Submit([this, next = next, audit = audit] { return store_.UpdateProgram(next, audit); },
                  [this, next = next, done = std::move(done)](Status st) {
                    if (!st) return done(st);
                    Emit(opv1::EVENT_KIND_DETACHED, &next, next.domid, next.verdict.message);
                    spdlog::info("dom{}: program {} '{}' detached: {}", next.domid, next.id,
                                 next.name, next.verdict.message);
                    done(Status::Ok());
                  });
}

Status Core::Unregister(uint32_t domid, uint64_t id) {
  std::promise<Status> p;
  auto f = p.get_future();
  UnregisterAsync(domid, id, [&p](Status st) { p.set_value(std::move(st)); });
  return f.get();
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
  // Ids first: approving (or failing) one may drop old finished programs
  // from programs_ (retention).
  std::vector<uint64_t> ids;
  for (const auto& [id, rec] : programs_) {
    if (rec.state == ProgState::kPending && ProgramSha256(rec) == sha256) ids.push_back(id);
  }
  size_t n = 0;
  for (uint64_t id : ids) {
    auto it = programs_.find(id);
    if (it != programs_.end() && ApproveLocked(it->second, why)) ++n;
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
    next.verdict = Verdict{
        VerdictKind::kRejected, "backend",
        fmt::format("backend {} could not install it: {}", backend_.Name(), st.error().message), -1,
        static_cast<int32_t>(st.error().code)};
    rec.verdict = next.verdict;
    rec.updated_ms = next.updated_ms;
    SetStateLocked(rec, ProgState::kFailed);
    (void)store_.UpdateProgram(
        rec, AuditRow{NowUnixMs(), rec.domid, id, rec.name, "failed", rec.verdict.message});
    Emit(opv1::EVENT_KIND_REJECTED, &rec, rec.domid, rec.verdict.message);
    return MakeError(ErrorCode::kUnavailable, rec.verdict.message);
  }
  rec.verdict = next.verdict;
  rec.updated_ms = next.updated_ms;
  SetStateLocked(rec, ProgState::kInstalled);
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
  return FinishNowLocked(it->second, ProgState::kRejected, v, "rejected",
                         opv1::EVENT_KIND_REJECTED);
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
  return FinishNowLocked(it->second, ProgState::kDetached, v, "detached",
                         opv1::EVENT_KIND_DETACHED);
}

void Core::OnDomainEvent(const DomainEvent& ev) {
  std::lock_guard lk(mu_);
  const uint32_t domid = ev.domain.domid;
  if (ev.kind == DomainEvent::Kind::kStarted) {
    Emit(opv1::EVENT_KIND_DOMAIN_STARTED, nullptr, domid,
         fmt::format("domain {} '{}' started", domid, ev.domain.name));
    return;
  }
  // The hypervisor dropped the domain's programs with the domain; if a
  // save or migration stream took them, they live on where it went. One
  // commit records them all.
  auto departed = departures_.find(domid);
  const bool left = departed != departures_.end();
  const std::string why = left ? "left with the domain for " + departed->second : "domain stopped";
  std::vector<std::pair<ProgramRecord, AuditRow>> updates;
  if (auto ix = index_.find(domid); ix != index_.end()) {
    const std::vector<uint64_t> ids(ix->second.ids.begin(), ix->second.ids.end());
    for (uint64_t id : ids) {
      auto it = programs_.find(id);
      if (it == programs_.end() || !it->second.Live()) continue;
      ProgramRecord& rec = it->second;
      if (rec.state == ProgState::kInstalled) {
        // Nothing to uninstall: the program went with the domain.
        rec.state = ProgState::kPending;
      }
      Verdict v{VerdictKind::kRejected, "domain", why, -1, 0};
      updates.push_back(FinishLocked(rec, ProgState::kDetached, v, left ? "migrated" : "detached"));
    }
  }
  if (!updates.empty()) {
    commit_->Submit(
        [this, updates]() -> Status {
          for (const auto& [rec, audit] : updates) {
            if (auto st = store_.UpdateProgram(rec, audit); !st) return st;
          }
          return Status::Ok();
        },
        [this, updates](Status st) {
          if (!st) spdlog::error("domain stop: {}", st.error().message);
          for (const auto& [rec, audit] : updates) {
            Emit(opv1::EVENT_KIND_DETACHED, &rec, rec.domid, audit.reason);
          }
        });
  }
  trace_window_.Forget(domid);
  if (left) departures_.erase(departed);
  adopted_.erase(domid);
  Emit(opv1::EVENT_KIND_DOMAIN_STOPPED, nullptr, domid,
       fmt::format("domain {} '{}' stopped", domid, ev.domain.name));
}

void Core::PublishTrace(const std::vector<TraceRecord>& records) {
  for (const auto& t : records) {
    trace_window_.Add(t);
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
  // Every reinstall's audit row and every failure's update, in one
  // transaction: a restart with thousands of programs costs one fsync.
  std::vector<std::pair<ProgramRecord, AuditRow>> updates;
  std::vector<AuditRow> audits;
  const size_t loaded = programs->size();
  for (auto& rec : *programs) {
    if (rec.state != ProgState::kInstalled) {
      AddLocked(std::move(rec));
      continue;
    }
    // Verified once already; checked against the policy and verified
    // again because either may have become stricter since (a policy
    // tightened while the daemon was down is enforced here), and nothing
    // unverified runs.
    Policy p = EffectivePolicyLocked(rec.domid);
    const Status allowed =
        CheckPolicy(p, PolicyCandidate{rec.domid, rec.hook, &rec.insns, &rec.regions, 0, 0});
    verifier::Options opts;
    opts.hook = rec.hook;
    for (const auto& m : rec.maps) opts.maps.push_back(m.def);
    ApplyPolicy(p, &opts);
    if (limits_.max_insns) opts.max_insns = std::min(opts.max_insns, limits_.max_insns);
    opts.time_limit = std::chrono::milliseconds(cfg_.verifier_time_limit_ms);
    verifier::Report rep;
    if (allowed) rep = verifier::Verify(rec.insns, opts);
    rec.worst_case_insns = rep.worst_case_insns;
    // The run budget needs the verifier's longest path: checked after it.
    const Status fits =
        !allowed || !rep.accepted
            ? allowed
            : CheckPolicy(p, PolicyCandidate{rec.domid, rec.hook, &rec.insns, &rec.regions, 0, 0,
                                             rec.worst_case_insns, backend_.DefaultRunBudget()});
    Status st = !fits          ? fits
                : rep.accepted ? backend_.Install(ImageLocked(rec))
                               : Status(MakeError(ErrorCode::kInvalidArgument, rep.error));
    if (st) {
      ++reinstalled;
      audits.push_back(AuditRow{NowUnixMs(), rec.domid, rec.id, rec.name, "reinstalled",
                                fmt::format("program {} restored at start", rec.id)});
      AddLocked(std::move(rec));
      continue;
    }
    ++failed;
    const bool backend_failed = fits && rep.accepted;
    rec.state = backend_failed ? ProgState::kFailed : ProgState::kRejected;
    rec.verdict =
        Verdict{VerdictKind::kRejected, !fits ? "policy" : (rep.accepted ? "backend" : "verifier"),
                "at daemon start: " + st.error().message, allowed ? rep.error_pc : -1,
                static_cast<int32_t>(st.error().code)};
    rec.updated_ms = NowUnixMs();
    spdlog::warn("dom{}: program {} '{}' not restored: {}", rec.domid, rec.id, rec.name,
                 rec.verdict.message);
    updates.push_back({rec, AuditRow{rec.updated_ms, rec.domid, rec.id, rec.name,
                                     ProgStateName(rec.state), rec.verdict.message}});
    AddLocked(std::move(rec));
  }
  Status st = store_.Batch([&] {
    for (const auto& a : audits) (void)store_.Audit(a);
    for (const auto& [rec, audit] : updates) (void)store_.UpdateProgram(rec, audit);
  });
  if (!st) return st.error();
  spdlog::info("restored {} programs ({} reinstalled, {} could not be)", loaded, reinstalled,
               failed);
  return Status::Ok();
}

}  // namespace hu::daemon
