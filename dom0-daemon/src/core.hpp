// The daemon's core: one object that owns the decisions. Both gRPC front
// ends (guest, operator) call into it; it checks policy, runs the verifier,
// persists to the store before anything is acknowledged, drives the
// backend, and publishes every decision on the event bus.
//
// Guest entry points take the domid of the channel the request arrived on;
// nothing a guest sends can name another domain.
//
// The core mutex guards only memory and is held for microseconds: the
// verifier runs without it, and guests' decisions reach the disk through
// the group commit, answered once the fsync that covers them is done.
// Every per-domain question (how many live programs, which ones) is
// answered from a per-domain index, never by scanning all programs.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "events.hpp"
#include "fleet_layer.hpp"
#include "group_commit.hpp"
#include "hyperupcall/daemon/backend.hpp"
#include "policy.hpp"
#include "program.hpp"
#include "request.hpp"
#include "store.hpp"
#include "trace_window.hpp"

namespace hu::daemon {

struct CoreConfig {
  // Programs no longer live (rejected, detached, failed) kept per domain
  // for `prog show`, oldest dropped from memory and disk, so neither a
  // guest sending bad programs nor one loading and unloading forever
  // grows the state.
  size_t max_finished_kept = 32;
  // Audit rows kept, oldest dropped.
  uint64_t audit_keep = 200'000;
  // Decisions per commit at most (1: one fsync each, the old way).
  size_t commit_batch = 512;
  int verifier_log_level = 1;
  uint32_t verifier_time_limit_ms = 2000;
};

struct RegisterOutcome {
  uint64_t id = 0;
  Verdict verdict;
  std::string log;
};

struct MapRead {
  MapSpec map;
  std::vector<MapEntry> entries;
};

// One entry of a map as operators see it: a per-vCPU array's index holds
// one value per vCPU (vcpu_values, by vCPU number; value empty).
struct MapRow {
  std::vector<uint8_t> key;
  std::vector<uint8_t> value;
  std::vector<std::vector<uint8_t>> vcpu_values;
};

struct MapView {
  uint32_t domid = 0;
  uint64_t prog_id = 0;
  uint32_t index = 0;
  MapSpec spec;
  std::vector<MapRow> rows;
  std::vector<uint8_t> btf;  // the program's BTF, for formatting; may be empty
};

// Which map of which installed program an operator means.
struct MapSelector {
  uint64_t prog_id = 0;
  std::string name;  // wins over index when not empty
  uint32_t index = 0;
};

struct PolicyView {
  std::optional<uint32_t> domid;
  Policy policy;
  bool inherited = false;
  std::string libvirt_uuid;  // a libvirt domain's: its policy is kept under it
};

struct DomainView {
  DomainInfo info;
  uint32_t programs = 0;  // live
  bool has_own_policy = false;
};

struct StatsRow {
  uint64_t prog_id = 0;
  uint32_t domid = 0;
  hu_hook_id hook = HU_HOOK_NONE;
  std::string name;
  ProgramStats stats;
};

class Core : public ArrivalPolicy {
 public:
  Core(Backend& backend, Store& store, EventBus& bus, CoreConfig cfg = {});

  // With --libvirt-uri: domains `scopes` knows (libvirt domains) keep their
  // policy under their UUID (see PolicyScopes). Set before Restore.
  void SetPolicyScopes(const PolicyScopes* scopes) { scopes_ = scopes; }
  // The store scope of domid's own policy: libvirt:<uuid> or domain:<domid>.
  std::string PolicyScopeOf(uint32_t domid) const;
  // A domid-scoped policy of a domain now known by UUID moves to its UUID
  // (store and memory, audited); nothing when there is none. For the
  // domains found running at the daemon's first libvirt connection.
  Status AdoptDomidPolicy(uint32_t domid);

  // With a fleet (etcd): its policies and approvals over this host's own
  // (see FleetLayer). Set before Restore.
  void SetFleet(const FleetLayer* fleet) { fleet_ = fleet; }
  // The fleet approved the program with this hash: each of this host's
  // programs with it that waits for approval is installed, audited with
  // `why`. Answers how many were.
  size_t ApproveByHash(const std::string& sha256, const std::string& why);

  // The audit log, filtered (store.hpp).
  Result<std::vector<AuditRow>> Audit(const AuditQuery& q);

  // The backend's instructions per run when a policy's run_budget is 0.
  uint64_t DefaultRunBudget() const { return backend_.DefaultRunBudget(); }

  // Loads policies and programs from the store, re-verifies the installed
  // ones and installs them into the backend again.
  Status Restore();

  // Guest API; `domid` is the channel's domain.
  //
  // Decode, policy and the verifier run on the calling thread; `done` runs
  // once the decision is committed (on the commit thread), or at once
  // when there is nothing to commit (a request that is not a program).
  using RegisterDone = std::function<void(Result<RegisterOutcome>)>;
  void RegisterAsync(uint32_t domid, RawProgram raw, RegisterDone done);
  void UnregisterAsync(uint32_t domid, uint64_t id, std::function<void(Status)> done);
  // The same, waiting for the answer.
  Result<RegisterOutcome> Register(uint32_t domid, const RawProgram& raw);
  Status Unregister(uint32_t domid, uint64_t id);
  std::vector<ProgramRecord> GuestPrograms(uint32_t domid, bool all);
  // Operator API (core_maps.cpp): any domain's installed program. Update
  // and delete are audited; `vcpu` picks one vCPU's value of a per-vCPU
  // array (all vCPUs when absent). Lookup and delete need the key exact.
  Result<MapView> MapDump(const MapSelector& sel);
  Result<MapView> MapLookup(const MapSelector& sel, const std::vector<uint8_t>& key);
  Result<MapView> MapUpdate(const MapSelector& sel, const std::vector<uint8_t>& key,
                            const std::vector<uint8_t>& value, std::optional<uint32_t> vcpu);
  Status MapDelete(const MapSelector& sel, const std::vector<uint8_t>& key);

  Result<MapRead> ReadMap(uint32_t domid, uint64_t prog_id, const std::string& map_name,
                          uint32_t map_index);

  // Operator API.
  std::vector<DomainView> Domains();
  std::vector<ProgramRecord> Programs(std::optional<uint32_t> domid, bool all);
  std::vector<ProgramRecord> Pending(std::optional<uint32_t> domid);
  Result<ProgramRecord> Program(uint64_t id);
  PolicyView GetPolicy(std::optional<uint32_t> domid);
  // `origin` (e.g. "operator API", "libvirt XML") goes into the audit row,
  // so the log says which of the two a domain's policy last came from.
  // `source` is stored with a domain's policy (see Store::PolicySource).
  Result<PolicyView> SetPolicy(std::optional<uint32_t> domid, const Policy& p,
                               const std::string& origin = {}, const PolicySource& source = {});
  Result<PolicyView> ClearPolicy(uint32_t domid);
  // A libvirt domain's policy by UUID, for one that is defined but not
  // running (it has no domid); it applies at its next start. Audited under
  // domid 0, the reason naming the UUID.
  PolicyView GetLibvirtPolicy(const std::string& uuid);
  Result<PolicyView> SetLibvirtPolicy(const std::string& uuid, const Policy& p,
                                      const std::string& origin, const PolicySource& source);
  Result<PolicyView> ClearLibvirtPolicy(const std::string& uuid);
  Result<ProgramRecord> Approve(uint64_t id);
  Result<ProgramRecord> Reject(uint64_t id, const std::string& reason);
  Result<ProgramRecord> Detach(uint64_t id, const std::string& reason);
  Result<std::vector<StatsRow>> Stats(std::optional<uint32_t> domid, uint64_t prog_id);
  // The backend's reclaim scan of a running domain (Backend::ReclaimScan).
  Result<std::vector<uint64_t>> ReclaimScan(uint32_t domid, uint64_t first_gfn, uint64_t count);
  // The backend's reclaim of a running domain (Backend::Reclaim), audited.
  Result<ReclaimReport> Reclaim(uint32_t domid, uint64_t max_frames);
  // An audit row (and a policy-changed event) for an operator decision the
  // core does not make itself, e.g. policy written to a libvirt domain XML.
  void AuditNote(uint32_t domid, const std::string& decision, const std::string& reason);

  // Programs that arrive with their domain (restore, migration) pass this
  // host's structural checks, policy and verifier, as a guest's would, and
  // are recorded under it; those that leave are closed, when the domain
  // goes, naming where they went (core_migration.cpp).
  Result<std::vector<ProgramImage>> Adopt(uint32_t domid,
                                          const std::vector<ArrivingProgram>& progs) override;
  void AdoptionFailed(uint32_t domid, const std::vector<uint64_t>& ids,
                      const std::string& why) override;
  void Leaving(uint32_t domid, const std::string& destination) override;
  void Stayed(uint32_t domid) override;

  // From the pump thread.
  void OnDomainEvent(const DomainEvent& ev);
  void PublishTrace(const std::vector<TraceRecord>& records);
  // A guest's own recent trace records (trace_window.hpp).
  TraceWindow::Read GuestTrace(uint32_t domid, uint64_t after_seq, size_t max) const {
    return trace_window_.After(domid, after_seq, max);
  }

  // A request from domid that was not a program at all (undecodable, or
  // failing the structural checks): audited at a bounded rate, repeats
  // folded into one row, announced only when audited. `name` and `hook`
  // are what the guest sent, shown only made safe (SafeText).
  void RefuseMalformed(uint32_t domid, std::string_view name, std::string_view hook,
                       const Error& why);

  // What the backend can install (Backend::Limits, asked once).
  const BackendLimits& limits() const { return limits_; }
  uint64_t commit_batches() const { return commit_->batches(); }
  uint64_t commit_writes() const { return commit_->writes(); }

 private:
  // Per domain: the index that replaces scans of every program, and what
  // aggregates a guest's repeated refusals.
  struct DomainIndex {
    std::set<uint64_t> ids;         // its programs in memory
    uint32_t live = 0;              // installed + pending
    uint32_t committing = 0;        // verified, counted against quotas, not yet committed
    std::deque<uint64_t> finished;  // no longer live, oldest first (retention)
    // Its last refusal: identical ones add to that audit row's count.
    std::string refusal_key;
    std::shared_ptr<uint64_t> refusal_audit;  // set by the write, on the commit thread
    int64_t refusal_event_ms = 0;
    // Requests that were not programs: a token bucket for their audit rows.
    std::string malformed_key;
    std::shared_ptr<uint64_t> malformed_audit;
    double malformed_tokens = 0;
    int64_t malformed_ms = 0;
  };

  Policy EffectivePolicyLocked(uint32_t domid) const;
  // The policy programs arriving with domain `d` are held to
  // (core_migration.cpp).
  Policy ArrivalPolicyLocked(uint32_t domid, const std::optional<DomainInfo>& d) const;
  // The policy a domain without one of its own inherits (the fleet's
  // default for this host when it has one).
  Policy DefaultPolicyLocked() const;
  // Pending -> installed, audited and announced with `why`.
  Result<ProgramRecord> ApproveLocked(ProgramRecord& rec, const std::string& why);
  // domid's own policy (under its UUID when scopes_ knows it), or null.
  const Policy* OwnPolicyLocked(uint32_t domid) const;
  std::optional<std::string> UuidOf(uint32_t domid) const;
  uint32_t LiveProgramsLocked(uint32_t domid) const;
  std::optional<DomainInfo> FindDomain(uint32_t domid);
  ProgramImage ImageLocked(const ProgramRecord& rec) const;
  ProgramImage ImageLocked(const ProgramRecord& rec, const Policy& p) const;
  // Policy and backend limits for a candidate; the error and its stage.
  std::optional<std::pair<Error, const char*>> CheckCandidateLocked(const ProgramRecord& rec,
                                                                    const Policy& policy,
                                                                    uint64_t memory_bytes) const;
  // Records a rejection (store, audit, event) and answers `done` with it
  // once committed; a repeat of the guest's last refusal adds to its audit
  // row's count.
  void RejectLocked(ProgramRecord rec, const Error& why, const char* stage, int32_t error_pc,
                    std::string log, RegisterDone done);
  // After the commit of a verified program: install it (or hold it).
  void OnRegisterCommitted(std::shared_ptr<ProgramRecord> rec, Status committed,
                           const std::string& reason, RegisterDone done);
  // The index: a program enters memory, or changes state.
  void AddLocked(ProgramRecord rec);
  void SetStateLocked(ProgramRecord& rec, ProgState next);
  // Drops the oldest finished programs of domid beyond max_finished_kept.
  void RetainLocked(uint32_t domid);
  // A live program moved to a final state (detached, rejected): uninstall,
  // memory, and the audited store update, which `commit` answers. Returns
  // the record as it is now and the update to commit.
  std::pair<ProgramRecord, AuditRow> FinishLocked(ProgramRecord& rec, ProgState state,
                                                  const Verdict& verdict,
                                                  const std::string& decision);
  // FinishLocked, committed now (operator paths), with its event.
  Result<ProgramRecord> FinishNowLocked(ProgramRecord& rec, ProgState state, const Verdict& verdict,
                                        const std::string& decision,
                                        hyperupcall::operator_api::v1::EventKind kind);
  struct FoundMap {
    uint32_t domid = 0;
    uint32_t index = 0;
    MapSpec spec;
    std::vector<uint8_t> btf;
    std::string prog_name;
  };
  // The map (by name, else index) of an installed program, of `domid` when
  // given; NOT_FOUND naming what is there otherwise.
  Result<FoundMap> FindMap(std::optional<uint32_t> domid, uint64_t prog_id,
                           const std::string& map_name, uint32_t map_index);
  Result<MapView> DumpView(const MapSelector& sel);
  void Emit(hyperupcall::operator_api::v1::EventKind kind, const ProgramRecord* rec, uint32_t domid,
            const std::string& message);
  // A decision's event names its audit row (seq) and who asked.
  static void StampDecision(OpEvent& e);
  void AuditOnly(uint32_t domid, uint64_t prog_id, const std::string& name,
                 const std::string& decision, const std::string& reason);

  TraceWindow trace_window_;
  Backend& backend_;
  Store& store_;
  EventBus& bus_;
  CoreConfig cfg_;
  const BackendLimits limits_;

  mutable std::mutex mu_;
  Policy default_policy_;
  std::map<uint32_t, Policy> domain_policies_;
  std::map<std::string, Policy> libvirt_policies_;  // by UUID
  const PolicyScopes* scopes_ = nullptr;
  const FleetLayer* fleet_ = nullptr;
  std::map<uint64_t, ProgramRecord> programs_;
  std::map<uint32_t, DomainIndex> index_;
  // Where a domain's programs went with a save or migration stream, until
  // the domain is gone (or resumes).
  std::map<uint32_t, std::string> departures_;
  // Per domain, the program each arriving one became (source id -> id): a
  // checkpointed stream hands the same programs over again.
  std::map<uint32_t, std::map<uint64_t, uint64_t>> adopted_;
  // Last: its thread runs Done callbacks that use everything above, so it
  // is stopped (and drained) first.
  std::unique_ptr<GroupCommit> commit_;
};

// Moves domain domid's domid-scoped policy row to the libvirt domain
// `uuid` in the store, audited; when the UUID already has its own row
// (uuid_has_own) that one stays and the domid row is dropped. Returns the
// audit text. Core::AdoptDomidPolicy, and the daemon before Restore, use it.
Result<std::string> MoveDomidPolicyToUuid(Store& store, uint32_t domid, const std::string& uuid,
                                          bool uuid_has_own);

}  // namespace hu::daemon
