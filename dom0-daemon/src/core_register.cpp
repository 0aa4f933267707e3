// RegisterProgram: decode -> operator policy and backend limits ->
// verifier -> group commit -> install (or hold for approval) -> answer.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <future>

#include "core.hpp"
#include "hyperupcall/verifier.hpp"
#include "names.hpp"
#include "program_hash.hpp"
#include "text.hpp"

namespace hu::daemon {

namespace opv1 = hyperupcall::operator_api::v1;

namespace {

// Requests that are not programs: audit rows a guest may cause per second,
// and at once; past that they only add to the count of its last such row.
constexpr double kMalformedAuditPerSec = 1.0;
constexpr double kMalformedAuditBurst = 5.0;
// Events about repeats of the same refusal, per guest, at most one per:
constexpr int64_t kRepeatEventMs = 1000;
// How much of a name or hook a guest sent is quoted.
constexpr size_t kQuoteMax = 64;

uint64_t Fnv1a(const void* data, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

}  // namespace

Core::Core(Backend& backend, Store& store, EventBus& bus, CoreConfig cfg)
    : backend_(backend),
      store_(store),
      bus_(bus),
      cfg_(cfg),
      limits_(backend.Limits()),
      default_policy_(DefaultPolicy()) {
  auto batches = std::make_shared<uint64_t>(0);
  commit_ = std::make_unique<GroupCommit>(store_, cfg_.commit_batch, [this, batches] {
    // Retention of the audit log, every so many batches: a range delete
    // on the primary key.
    if (++*batches % 64 == 0) {
      if (auto st = store_.TrimAudit(cfg_.audit_keep); !st) {
        spdlog::error("audit retention: {}", st.error().message);
      }
    }
  });
}

Result<RegisterOutcome> Core::Register(uint32_t domid, const RawProgram& raw) {
  std::promise<Result<RegisterOutcome>> p;
  auto f = p.get_future();
  RegisterAsync(domid, raw, [&p](Result<RegisterOutcome> r) { p.set_value(std::move(r)); });
  return f.get();
}

void Core::RegisterAsync(uint32_t domid, RawProgram raw, RegisterDone done) {
  auto decoded = DecodeProgram(raw);
  if (!decoded) {
    RefuseMalformed(domid, raw.name, raw.hook, decoded.error());
    done(decoded.error());
    return;
  }
  DecodedProgram& prog = decoded.value();
  auto domain = FindDomain(domid);
  if (!domain || !domain->running) {
    done(MakeError(ErrorCode::kFailedPrecondition, fmt::format("domain {} is not running", domid)));
    return;
  }
  const uint64_t memory_bytes = domain->memory_kib * 1024;

  ProgramRecord rec;
  rec.domid = domid;
  rec.hook = prog.hook;
  rec.name = prog.name;
  rec.insns = std::move(prog.insns);
  rec.insn_count = static_cast<uint32_t>(rec.insns.size());
  rec.maps = std::move(prog.maps);
  rec.regions = std::move(prog.regions);
  rec.region_symbols = std::move(prog.region_symbols);
  rec.btf = std::move(prog.btf);
  rec.functions = std::move(prog.functions);
  rec.created_ms = rec.updated_ms = NowUnixMs();

  Policy policy;
  {
    std::lock_guard lk(mu_);
    if (fleet_) {
      if (auto st = fleet_->Ready(); !st) {
        return RejectLocked(std::move(rec), st.error(), "policy", -1, "", std::move(done));
      }
    }
    policy = EffectivePolicyLocked(domid);
    if (auto bad = CheckCandidateLocked(rec, policy, memory_bytes)) {
      return RejectLocked(std::move(rec), bad->first, bad->second, -1, "", std::move(done));
    }
  }

  // The verifier runs without the lock: it can take a while, and other
  // guests and the operator must not wait for it.
  verifier::Options opts;
  opts.hook = rec.hook;
  for (const auto& m : rec.maps) opts.maps.push_back(m.def);
  ApplyPolicy(policy, &opts);
  if (limits_.max_insns) opts.max_insns = std::min(opts.max_insns, limits_.max_insns);
  opts.log_level = cfg_.verifier_log_level;
  opts.time_limit = std::chrono::milliseconds(cfg_.verifier_time_limit_ms);
  verifier::Report report = verifier::Verify(rec.insns, opts);
  rec.verifier_log = report.log;
  rec.verifier_states = report.states;
  rec.verifier_ms = report.elapsed_ms;
  rec.worst_case_insns = report.worst_case_insns;

  std::lock_guard lk(mu_);
  if (!report.accepted) {
    std::string msg = report.error.empty() ? "rejected by the verifier" : report.error;
    return RejectLocked(std::move(rec), MakeError(ErrorCode::kInvalidArgument, msg), "verifier",
                        report.error_pc, report.log, std::move(done));
  }
  // The policy may have changed, or other registrations landed, while the
  // verifier ran: check again with what holds now.
  policy = EffectivePolicyLocked(domid);
  if (auto bad = CheckCandidateLocked(rec, policy, memory_bytes)) {
    return RejectLocked(std::move(rec), bad->first, bad->second, -1, report.log, std::move(done));
  }

  // Approved once for the fleet, approved on every host.
  const bool fleet_approved =
      policy.require_approval && fleet_ && fleet_->Approved(ProgramSha256(rec));
  const bool hold = policy.require_approval && !fleet_approved;
  rec.state = hold ? ProgState::kPending : ProgState::kInstalled;
  rec.verdict = Verdict{hold ? VerdictKind::kPending : VerdictKind::kAccepted, "", "", -1, 0};
  if (hold) rec.verdict.message = "verified; waiting for operator approval";
  if (fleet_approved) {
    rec.verdict.message = "verified; approved for the fleet (sha256 " + ProgramSha256(rec) + ")";
  }
  AuditRow audit{rec.updated_ms,
                 domid,
                 0,
                 rec.name,
                 hold ? "pending" : "accepted",
                 fmt::format("verified: {} insns, {} states, {:.2f} ms, worst-case path {} insns{}",
                             rec.insn_count, report.states, report.elapsed_ms, rec.worst_case_insns,
                             fleet_approved ? "; approved for the fleet" : "")};
  // Counted against the domain's quota from now on, so registrations
  // verified meanwhile see it.
  ++index_[domid].committing;
  auto shared = std::make_shared<ProgramRecord>(std::move(rec));
  // Persist first: once the guest hears "accepted", a restart finds it.
  commit_->Submit(
      [this, shared, audit]() -> Status {
        auto id = store_.InsertProgram(*shared, audit);
        if (!id) return id.error();
        shared->id = *id;
        return Status::Ok();
      },
      [this, shared, reason = audit.reason, done = std::move(done)](Status st) mutable {
        OnRegisterCommitted(std::move(shared), std::move(st), reason, std::move(done));
      });
}

void Core::OnRegisterCommitted(std::shared_ptr<ProgramRecord> shared, Status committed,
                               const std::string& reason, RegisterDone done) {
  ProgramRecord& rec = *shared;
  std::unique_lock lk(mu_);
  --index_[rec.domid].committing;
  if (!committed) {
    lk.unlock();
    done(committed.error());
    return;
  }
  const bool hold = rec.state == ProgState::kPending;
  if (!hold) {
    if (auto st = backend_.Install(ImageLocked(rec)); !st) {
      rec.state = ProgState::kFailed;
      rec.verdict = Verdict{
          VerdictKind::kRejected, "backend",
          fmt::format("backend {} could not install it: {}", backend_.Name(), st.error().message),
          -1, static_cast<int32_t>(st.error().code)};
      rec.updated_ms = NowUnixMs();
      RegisterOutcome out{rec.id, rec.verdict, rec.verifier_log};
      const AuditRow audit{rec.updated_ms, rec.domid, rec.id,
                           rec.name,       "failed",  rec.verdict.message};
      ProgramRecord update = rec;
      update.Slim();
      AddLocked(std::move(rec));
      spdlog::warn("dom{}: program {} '{}': {}", update.domid, update.id, update.name,
                   update.verdict.message);
      // The guest hears "failed" once that, too, is on disk.
      commit_->Submit([this, update, audit] { return store_.UpdateProgram(update, audit); },
                      [this, update, out = std::move(out), done = std::move(done)](Status st) {
                        Emit(opv1::EVENT_KIND_REJECTED, &update, update.domid,
                             update.verdict.message);
                        if (!st) return done(st.error());
                        done(out);
                      });
      return;
    }
  }
  RegisterOutcome out{rec.id, rec.verdict, rec.verifier_log};
  const ProgramRecord summary = [&] {
    ProgramRecord s = rec;
    s.Slim();
    return s;
  }();
  AddLocked(std::move(rec));
  lk.unlock();
  Emit(hold ? opv1::EVENT_KIND_PENDING : opv1::EVENT_KIND_REGISTERED, &summary, summary.domid,
       reason);
  spdlog::info("dom{}: program {} '{}' on {}: {} ({})", summary.domid, summary.id, summary.name,
               HookName(summary.hook), hold ? "pending approval" : "installed", reason);
  done(std::move(out));
}

std::optional<std::pair<Error, const char*>> Core::CheckCandidateLocked(
    const ProgramRecord& rec, const Policy& policy, uint64_t memory_bytes) const {
  // worst_case_insns is 0 before the verifier ran: the run budget is then
  // not compared yet.
  PolicyCandidate c{rec.domid,
                    rec.hook,
                    &rec.insns,
                    &rec.regions,
                    memory_bytes,
                    LiveProgramsLocked(rec.domid),
                    rec.worst_case_insns,
                    backend_.DefaultRunBudget()};
  if (auto it = index_.find(rec.domid); it != index_.end())
    c.live_programs += it->second.committing;
  if (auto st = CheckPolicy(policy, c); !st) return std::make_pair(st.error(), "policy");
  if (auto st = CheckBackendLimits(limits_, backend_.Name(), policy, c); !st)
    return std::make_pair(st.error(), "backend");
  return std::nullopt;
}

void Core::RejectLocked(ProgramRecord rec, const Error& why, const char* stage, int32_t error_pc,
                        std::string log, RegisterDone done) {
  rec.state = ProgState::kRejected;
  rec.verdict =
      Verdict{VerdictKind::kRejected, stage, why.message, error_pc, static_cast<int32_t>(why.code)};
  rec.updated_ms = NowUnixMs();
  DomainIndex& ix = index_[rec.domid];
  const std::string key =
      fmt::format("{}|{}|{}|{}|{:x}", rec.name, static_cast<int>(rec.hook), stage, why.message,
                  Fnv1a(rec.insns.data(), rec.insns.size() * sizeof(hu_insn)));
  const std::string reason = fmt::format("{}: {}", stage, why.message);
  // The same program refused for the same reason as the guest's last
  // refusal: it is kept (its own id, for `prog show`) but its audit row is
  // that refusal's, whose count grows; and it is announced at most once a
  // second.
  const bool repeat = key == ix.refusal_key && ix.refusal_audit;
  if (!repeat) {
    ix.refusal_key = key;
    ix.refusal_audit = std::make_shared<uint64_t>(0);
  }
  const bool announce = !repeat || rec.updated_ms - ix.refusal_event_ms >= kRepeatEventMs;
  if (announce) ix.refusal_event_ms = rec.updated_ms;
  rec.verifier_log = std::move(log);
  // Keep the bytes for `prog dump` only when they are of a size the domain
  // may load: a guest must not fill the disk with oversized rejects.
  if (rec.insns.size() > EffectivePolicyLocked(rec.domid).max_insns) rec.insns.clear();
  const AuditRow audit{rec.updated_ms, rec.domid, 0, rec.name, "rejected", reason};
  auto shared = std::make_shared<ProgramRecord>(std::move(rec));
  commit_->Submit(
      [this, shared, audit, audit_id = ix.refusal_audit, repeat]() -> Status {
        // A repeat whose first row never committed gets a row of its own.
        const uint64_t of = repeat ? *audit_id : 0;
        auto id = store_.InsertProgram(*shared, audit, audit_id.get(), of);
        if (!id) return id.error();
        shared->id = *id;
        return Status::Ok();
      },
      [this, shared, reason, repeat, announce, done = std::move(done)](Status st) {
        if (!st) return done(st.error());
        ProgramRecord& r = *shared;
        RegisterOutcome out{r.id, r.verdict, r.verifier_log};
        ProgramRecord summary = r;
        summary.Slim();
        {
          std::lock_guard lk(mu_);
          AddLocked(std::move(r));
        }
        if (announce) {
          const std::string text = repeat ? "again: " + reason : reason;
          Emit(opv1::EVENT_KIND_REJECTED, &summary, summary.domid, text);
          spdlog::info("dom{}: program {} '{}' rejected: {}", summary.domid, summary.id,
                       summary.name, text);
        }
        done(std::move(out));
      });
}

void Core::RefuseMalformed(uint32_t domid, std::string_view name, std::string_view hook,
                           const Error& why) {
  const std::string safe_name = SafeText(name, kQuoteMax);
  const std::string reason = "decode: " + SafeComposedText(why.message, 1024);
  const int64_t now = NowUnixMs();
  std::shared_ptr<uint64_t> audit_id;
  {
    std::lock_guard lk(mu_);
    DomainIndex& ix = index_[domid];
    if (ix.malformed_ms == 0) ix.malformed_tokens = kMalformedAuditBurst;
    ix.malformed_tokens = std::min(
        kMalformedAuditBurst, ix.malformed_tokens + static_cast<double>(now - ix.malformed_ms) *
                                                        kMalformedAuditPerSec / 1000.0);
    ix.malformed_ms = now;
    const std::string key = safe_name + "|" + reason;
    const bool repeat = ix.malformed_audit && (key == ix.malformed_key || ix.malformed_tokens < 1);
    if (repeat) {
      // Folded into the guest's last such row: its count, not a new row.
      commit_->Submit(
          [this, audit = ix.malformed_audit, now]() -> Status {
            return *audit ? store_.RepeatAudit(*audit, now) : Status::Ok();
          },
          nullptr);
      return;
    }
    ix.malformed_tokens -= 1;
    ix.malformed_key = key;
    audit_id = ix.malformed_audit = std::make_shared<uint64_t>(0);
  }
  const AuditRow row{now, domid, 0, safe_name, "rejected", reason};
  OpEvent e;
  e.set_kind(opv1::EVENT_KIND_REJECTED);
  e.set_domid(domid);
  e.set_prog_name(safe_name);
  e.set_hook(SafeText(hook, kQuoteMax));
  e.set_message(reason);
  // Announced once its audit row is written, so the event carries its seq.
  commit_->Submit([this, row, audit_id] { return store_.Audit(row, audit_id.get()); },
                  [this, e = std::move(e)](Status st) mutable {
                    if (!st) spdlog::error("audit: {}", st.error().message);
                    StampDecision(e);
                    bus_.Publish(std::move(e));
                  });
  spdlog::info("dom{}: rejected malformed request '{}': {}", domid, safe_name, reason);
}

void Core::AddLocked(ProgramRecord rec) {
  DomainIndex& ix = index_[rec.domid];
  const uint64_t id = rec.id;
  const uint32_t domid = rec.domid;
  ix.ids.insert(id);
  if (rec.Live()) {
    ++ix.live;
  } else {
    rec.Slim();
    ix.finished.push_back(id);
  }
  programs_[id] = std::move(rec);
  RetainLocked(domid);
}

void Core::SetStateLocked(ProgramRecord& rec, ProgState next) {
  DomainIndex& ix = index_[rec.domid];
  const bool was_live = rec.Live();
  rec.state = next;
  if (was_live && !rec.Live()) {
    --ix.live;
    rec.Slim();
    ix.finished.push_back(rec.id);
    RetainLocked(rec.domid);
  } else if (!was_live && rec.Live()) {
    ++ix.live;  // not reached today: finished programs stay finished
  }
}

void Core::RetainLocked(uint32_t domid) {
  DomainIndex& ix = index_[domid];
  // At least the newest stays: callers still hold the record they just finished.
  while (ix.finished.size() > std::max<size_t>(cfg_.max_finished_kept, 1)) {
    const uint64_t id = ix.finished.front();
    ix.finished.pop_front();
    ix.ids.erase(id);
    programs_.erase(id);
    // Nobody waits for it: a restart before it commits finds the row and
    // drops it again.
    commit_->Submit([this, id] { return store_.DeleteProgram(id); }, nullptr);
  }
}

ProgramImage Core::ImageLocked(const ProgramRecord& rec) const {
  return ImageLocked(rec, EffectivePolicyLocked(rec.domid));
}

ProgramImage Core::ImageLocked(const ProgramRecord& rec, const Policy& p) const {
  ProgramImage img;
  img.id = rec.id;
  img.domid = rec.domid;
  img.hook = rec.hook;
  img.name = rec.name;
  img.insns = rec.insns;
  img.maps = rec.maps;
  img.regions = rec.regions;
  img.run_budget = p.run_budget;
  img.max_grace_us = p.max_grace_us;
  img.jit = p.jit;
  return img;
}

Policy Core::EffectivePolicyLocked(uint32_t domid) const {
  if (fleet_) {
    if (auto p = fleet_->DomainPolicy(domid)) return *p;
  }
  const Policy* own = OwnPolicyLocked(domid);
  return own ? *own : DefaultPolicyLocked();
}

Policy Core::DefaultPolicyLocked() const {
  if (fleet_) {
    if (auto p = fleet_->DefaultPolicy()) return *p;
  }
  return default_policy_;
}

uint32_t Core::LiveProgramsLocked(uint32_t domid) const {
  auto it = index_.find(domid);
  return it == index_.end() ? 0 : it->second.live;
}

std::optional<DomainInfo> Core::FindDomain(uint32_t domid) { return backend_.Domain(domid); }

void Core::Emit(opv1::EventKind kind, const ProgramRecord* rec, uint32_t domid,
                const std::string& message) {
  OpEvent e;
  e.set_kind(kind);
  e.set_domid(domid);
  if (rec) {
    e.set_prog_id(rec->id);
    e.set_prog_name(rec->name);
    e.set_hook(HookName(rec->hook));
  }
  e.set_message(message);
  if (kind != opv1::EVENT_KIND_DOMAIN_STARTED && kind != opv1::EVENT_KIND_DOMAIN_STOPPED) {
    StampDecision(e);
  }
  bus_.Publish(std::move(e));
}

void Core::StampDecision(OpEvent& e) {
  e.set_audit_seq(static_cast<uint64_t>(TakeAuditSeq()));
  e.set_actor(CurrentActor());
}

Result<std::vector<AuditRow>> Core::Audit(const AuditQuery& q) { return store_.QueryAudit(q); }

void Core::AuditOnly(uint32_t domid, uint64_t prog_id, const std::string& name,
                     const std::string& decision, const std::string& reason) {
  if (auto st = store_.Audit(AuditRow{NowUnixMs(), domid, prog_id, name, decision, reason}); !st) {
    spdlog::error("audit: {}", st.error().message);
  }
}

}  // namespace hu::daemon
