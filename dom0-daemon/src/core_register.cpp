// RegisterProgram: decode -> operator policy -> verifier -> persist ->
// install (or hold for approval) -> acknowledge.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core.hpp"
#include "hyperupcall/verifier.hpp"
#include "names.hpp"
#include "program_hash.hpp"

namespace hu::daemon {

namespace opv1 = hyperupcall::operator_api::v1;

Core::Core(Backend& backend, Store& store, EventBus& bus, CoreConfig cfg)
    : backend_(backend), store_(store), bus_(bus), cfg_(cfg), default_policy_(DefaultPolicy()) {}

Result<RegisterOutcome> Core::Register(uint32_t domid, const RawProgram& raw) {
  auto decoded = DecodeProgram(raw);
  if (!decoded) {
    // Not a program at all: audited, announced, but nothing to keep.
    std::string name = raw.name.substr(0, kMaxNameLen);
    AuditOnly(domid, 0, name, "rejected", "decode: " + decoded.error().message);
    OpEvent e;
    e.set_kind(opv1::EVENT_KIND_REJECTED);
    e.set_domid(domid);
    e.set_prog_name(name);
    e.set_hook(raw.hook.substr(0, 32));
    e.set_message("decode: " + decoded.error().message);
    bus_.Publish(std::move(e));
    spdlog::info("dom{}: rejected malformed request '{}': {}", domid, name,
                 decoded.error().message);
    return decoded.error();
  }
  DecodedProgram& prog = decoded.value();
  auto domain = FindDomain(domid);
  if (!domain || !domain->running) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("domain {} is not running", domid));
  }

  ProgramRecord rec;
  rec.domid = domid;
  rec.hook = prog.hook;
  rec.name = prog.name;
  rec.insns = std::move(prog.insns);
  rec.maps = std::move(prog.maps);
  rec.regions = std::move(prog.regions);
  rec.created_ms = rec.updated_ms = NowUnixMs();

  Policy policy;
  {
    std::lock_guard lk(mu_);
    if (fleet_) {
      if (auto st = fleet_->Ready(); !st) {
        return RejectLocked(std::move(rec), st.error(), "policy", -1, "");
      }
    }
    policy = EffectivePolicyLocked(domid);
    PolicyCandidate c{domid,
                      rec.hook,
                      &rec.insns,
                      &rec.regions,
                      domain->memory_kib * 1024,
                      LiveProgramsLocked(domid)};
    if (auto st = CheckPolicy(policy, c); !st) {
      return RejectLocked(std::move(rec), st.error(), "policy", -1, "");
    }
  }

  // The verifier runs without the lock: it can take a while, and other
  // guests and the operator must not wait for it.
  verifier::Options opts;
  opts.hook = rec.hook;
  for (const auto& m : rec.maps) opts.maps.push_back(m.def);
  ApplyPolicy(policy, &opts);
  opts.log_level = cfg_.verifier_log_level;
  opts.time_limit = std::chrono::milliseconds(cfg_.verifier_time_limit_ms);
  verifier::Report report = verifier::Verify(rec.insns, opts);
  rec.verifier_log = report.log;
  rec.verifier_states = report.states;
  rec.verifier_ms = report.elapsed_ms;

  std::lock_guard lk(mu_);
  if (!report.accepted) {
    std::string msg = report.error.empty() ? "rejected by the verifier" : report.error;
    return RejectLocked(std::move(rec), MakeError(ErrorCode::kInvalidArgument, msg), "verifier",
                        report.error_pc, report.log);
  }
  // The policy may have changed, or other registrations landed, while the
  // verifier ran: check again with what holds now.
  policy = EffectivePolicyLocked(domid);
  PolicyCandidate c{domid,
                    rec.hook,
                    &rec.insns,
                    &rec.regions,
                    domain->memory_kib * 1024,
                    LiveProgramsLocked(domid)};
  if (auto st = CheckPolicy(policy, c); !st) {
    return RejectLocked(std::move(rec), st.error(), "policy", -1, report.log);
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
  AuditRow audit{
      rec.updated_ms,
      domid,
      0,
      rec.name,
      hold ? "pending" : "accepted",
      fmt::format("verified: {} insns, {} states, {:.2f} ms{}", rec.insns.size(), report.states,
                  report.elapsed_ms, fleet_approved ? "; approved for the fleet" : "")};
  // Persist first: once the guest hears "accepted", a restart finds it.
  auto id = store_.InsertProgram(rec, audit);
  if (!id) return id.error();
  rec.id = *id;

  if (!hold) {
    if (auto st = backend_.Install(ImageLocked(rec)); !st) {
      rec.state = ProgState::kFailed;
      rec.verdict = Verdict{
          VerdictKind::kRejected, "backend",
          fmt::format("backend {} could not install it: {}", backend_.Name(), st.error().message),
          -1, static_cast<int32_t>(st.error().code)};
      rec.updated_ms = NowUnixMs();
      (void)store_.UpdateProgram(
          rec, AuditRow{rec.updated_ms, domid, rec.id, rec.name, "failed", rec.verdict.message});
      programs_[rec.id] = rec;
      Emit(opv1::EVENT_KIND_REJECTED, &rec, domid, rec.verdict.message);
      spdlog::warn("dom{}: program {} '{}': {}", domid, rec.id, rec.name, rec.verdict.message);
      return RegisterOutcome{rec.id, rec.verdict, rec.verifier_log};
    }
  }
  programs_[rec.id] = rec;
  Emit(hold ? opv1::EVENT_KIND_PENDING : opv1::EVENT_KIND_REGISTERED, &rec, domid, audit.reason);
  spdlog::info("dom{}: program {} '{}' on {}: {} ({})", domid, rec.id, rec.name, HookName(rec.hook),
               hold ? "pending approval" : "installed", audit.reason);
  return RegisterOutcome{rec.id, rec.verdict, rec.verifier_log};
}

Result<RegisterOutcome> Core::RejectLocked(ProgramRecord rec, const Error& why, const char* stage,
                                           int32_t error_pc, std::string log) {
  rec.state = ProgState::kRejected;
  rec.verdict =
      Verdict{VerdictKind::kRejected, stage, why.message, error_pc, static_cast<int32_t>(why.code)};
  rec.verifier_log = std::move(log);
  rec.updated_ms = NowUnixMs();
  // Keep the bytes for `prog dump` only when they are of a size the domain
  // may load: a guest must not fill the disk with oversized rejects.
  if (rec.insns.size() > EffectivePolicyLocked(rec.domid).max_insns) rec.insns.clear();
  AuditRow audit{rec.updated_ms, rec.domid,  0,
                 rec.name,       "rejected", fmt::format("{}: {}", stage, why.message)};
  auto id = store_.InsertProgram(rec, audit);
  if (!id) return id.error();
  rec.id = *id;
  programs_[rec.id] = rec;
  PruneRejectedLocked(rec.domid);
  Emit(opv1::EVENT_KIND_REJECTED, &rec, rec.domid, audit.reason);
  spdlog::info("dom{}: program {} '{}' rejected: {}", rec.domid, rec.id, rec.name, audit.reason);
  return RegisterOutcome{rec.id, rec.verdict, rec.verifier_log};
}

void Core::PruneRejectedLocked(uint32_t domid) {
  std::vector<uint64_t> rejected;
  for (const auto& [id, r] : programs_) {
    if (r.domid == domid && r.state == ProgState::kRejected) rejected.push_back(id);
  }
  // Ids grow with time, so the front of the list is the oldest.
  for (size_t i = 0; i + cfg_.max_rejected_kept < rejected.size(); ++i) {
    if (store_.DeleteProgram(rejected[i])) programs_.erase(rejected[i]);
  }
}

ProgramImage Core::ImageLocked(const ProgramRecord& rec) const {
  Policy p = EffectivePolicyLocked(rec.domid);
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
  uint32_t n = 0;
  for (const auto& [id, r] : programs_) n += (r.domid == domid && r.Live());
  return n;
}

std::optional<DomainInfo> Core::FindDomain(uint32_t domid) {
  for (auto& d : backend_.Domains()) {
    if (d.domid == domid) return d;
  }
  return std::nullopt;
}

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
  bus_.Publish(std::move(e));
}

void Core::AuditOnly(uint32_t domid, uint64_t prog_id, const std::string& name,
                     const std::string& decision, const std::string& reason) {
  if (auto st = store_.Audit(AuditRow{NowUnixMs(), domid, prog_id, name, decision, reason}); !st) {
    spdlog::error("audit: {}", st.error().message);
  }
}

}  // namespace hu::daemon
