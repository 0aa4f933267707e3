// The daemon's core: one object that owns the decisions. Both gRPC front
// ends (guest, operator) call into it; it checks policy, runs the verifier,
// persists to the store before anything is acknowledged, drives the
// backend, and publishes every decision on the event bus.
//
// Guest entry points take the domid of the channel the request arrived on;
// nothing a guest sends can name another domain.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "events.hpp"
#include "fleet_layer.hpp"
#include "hyperupcall/daemon/backend.hpp"
#include "policy.hpp"
#include "program.hpp"
#include "request.hpp"
#include "store.hpp"

namespace hu::daemon {

struct CoreConfig {
  // Rejected programs kept per domain (for `prog show`), oldest dropped, so
  // a guest that keeps sending bad programs cannot fill the disk.
  size_t max_rejected_kept = 32;
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

class Core {
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

  // Loads policies and programs from the store, re-verifies the installed
  // ones and installs them into the backend again.
  Status Restore();

  // Guest API; `domid` is the channel's domain.
  Result<RegisterOutcome> Register(uint32_t domid, const RawProgram& raw);
  Status Unregister(uint32_t domid, uint64_t id);
  std::vector<ProgramRecord> GuestPrograms(uint32_t domid, bool all);
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
  // An audit row (and a policy-changed event) for an operator decision the
  // core does not make itself, e.g. policy written to a libvirt domain XML.
  void AuditNote(uint32_t domid, const std::string& decision, const std::string& reason);

  // From the pump thread.
  void OnDomainEvent(const DomainEvent& ev);
  void PublishTrace(const std::vector<TraceRecord>& records);

 private:
  Policy EffectivePolicyLocked(uint32_t domid) const;
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
  // Records a rejection (store, audit, event) and answers with it.
  Result<RegisterOutcome> RejectLocked(ProgramRecord rec, const Error& why, const char* stage,
                                       int32_t error_pc, std::string log);
  void PruneRejectedLocked(uint32_t domid);
  // Moves a live program to a final state (detached, rejected) with audit + event.
  Result<ProgramRecord> FinishLocked(ProgramRecord& rec, ProgState state, const Verdict& verdict,
                                     const std::string& decision,
                                     hyperupcall::operator_api::v1::EventKind kind);
  void Emit(hyperupcall::operator_api::v1::EventKind kind, const ProgramRecord* rec, uint32_t domid,
            const std::string& message);
  void AuditOnly(uint32_t domid, uint64_t prog_id, const std::string& name,
                 const std::string& decision, const std::string& reason);

  Backend& backend_;
  Store& store_;
  EventBus& bus_;
  CoreConfig cfg_;

  mutable std::mutex mu_;
  Policy default_policy_;
  std::map<uint32_t, Policy> domain_policies_;
  std::map<std::string, Policy> libvirt_policies_;  // by UUID
  const PolicyScopes* scopes_ = nullptr;
  const FleetLayer* fleet_ = nullptr;
  std::map<uint64_t, ProgramRecord> programs_;
};

// Moves domain domid's domid-scoped policy row to the libvirt domain
// `uuid` in the store, audited; when the UUID already has its own row
// (uuid_has_own) that one stays and the domid row is dropped. Returns the
// audit text. Core::AdoptDomidPolicy, and the daemon before Restore, use it.
Result<std::string> MoveDomidPolicyToUuid(Store& store, uint32_t domid, const std::string& uuid,
                                          bool uuid_has_own);

}  // namespace hu::daemon
