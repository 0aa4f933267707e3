// The daemon's state in SQLite: programs, policies, and an audit log of
// every decision. A decision is committed (fsync'd) before the guest or
// operator hears about it, so a kill -9 never loses an acknowledged one.
// Many decisions may share one commit (Batch, used by the group commit):
// each is still answered only after the commit that holds it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actor.hpp"
#include "policy.hpp"
#include "program.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace hu::daemon {

struct AuditRow {
  int64_t time_ms = 0;
  uint32_t domid = 0;
  uint64_t prog_id = 0;  // 0 when the request never became a program
  std::string prog_name;
  std::string decision;  // accepted, pending, rejected, approved, detached, ...
  std::string reason;
  // How many decisions the row stands for: a guest's repeated refusals are
  // one row whose count grows (RepeatAudit), time_ms the first, last_ms
  // the latest.
  uint64_t count = 1;
  int64_t last_ms = 0;
  // Who asked (actor.hpp): "uid:N(name)" or "tls:SUBJECT" for an operator,
  // "guest:domN", "daemon". By default the actor of the thread that builds
  // the row, so a row written later (group commit) still names who asked.
  std::string actor = CurrentActor();
  int64_t seq = 0;  // the row's number, set when read: it never repeats
};

// Which audit rows to read; every field set narrows it.
struct AuditQuery {
  std::optional<uint32_t> domid;
  uint64_t prog_id = 0;
  std::string decision;       // accepted, rejected, policy, ...
  int64_t since_ms = 0;       // time_ms >= since_ms
  int64_t until_ms = 0;       // time_ms < until_ms, when not 0
  int64_t after_seq = 0;      // seq > after_seq
  size_t limit = 100;         // newest first, at most this many
  bool oldest_first = false;  // with after_seq: the rows after it, in order
};

struct StoredPolicies {
  std::optional<Policy> default_policy;
  std::map<uint32_t, Policy> domains;     // scope domain:<domid>
  std::map<std::string, Policy> libvirt;  // scope libvirt:<uuid>, by UUID
};

// Where a domain's own policy came from: "api" (an operator override) or
// "xml" (the libvirt domain XML <metadata>), and the fingerprint of the
// domain's XML policy when it was recorded ("" when it had none), so the
// daemon can tell at start whether the XML changed since an override.
struct PolicySource {
  std::string origin = "api";
  std::string xml_fingerprint;
};

// A libvirt domain renamed (kind "renamed", same UUID) or a name defined
// again with another UUID (kind "uuid-changed").
struct IdentityChangeRow {
  int64_t time_ms = 0;
  std::string kind;
  std::string old_name, new_name;
  std::string old_uuid, new_uuid;
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Runs `body` in one transaction (one fsync for all it writes). Inside
  // it, every method below runs in a savepoint of its own, so a write that
  // fails is undone alone; the result is COMMIT's.
  Status Batch(const std::function<void()>& body);
  // `body` in a savepoint when inside a Batch, else in a transaction of its own.
  Status Atomically(const std::function<Status()>& body);

  // Inserts `rec` (its id is assigned here, never reused) together with
  // its audit row, in one transaction. `audit_id` gets the audit row's id.
  // With `repeat_of`, the decision is one more of audit row `repeat_of`
  // (RepeatAudit) instead of a row of its own.
  Result<uint64_t> InsertProgram(const ProgramRecord& rec, const AuditRow& audit,
                                 uint64_t* audit_id = nullptr, uint64_t repeat_of = 0);
  // Updates state, verdict and times of an existing program, with its audit row.
  Status UpdateProgram(const ProgramRecord& rec, const AuditRow& audit);
  Status DeleteProgram(uint64_t id);
  Result<std::vector<ProgramRecord>> LoadPrograms();
  // One program with its bytes and verifier log (the core keeps only the
  // summary of programs that are no longer live).
  Result<ProgramRecord> LoadProgram(uint64_t id);

  Status PutPolicy(std::optional<uint32_t> domid, const Policy& p, const AuditRow& audit,
                   const PolicySource& source = {});
  Status DeletePolicy(uint32_t domid, const AuditRow& audit);
  Result<StoredPolicies> LoadPolicies();
  // The source of domid's own policy; nullopt when it has none.
  Result<std::optional<PolicySource>> PolicySourceOf(uint32_t domid);
  // The same by scope (DomainPolicyScope, LibvirtPolicyScope in policy.hpp).
  Status PutScopedPolicy(const std::string& scope, const Policy& p, const AuditRow& audit,
                         const PolicySource& source = {});
  Status DeleteScopedPolicy(const std::string& scope, const AuditRow& audit);
  Result<std::optional<PolicySource>> ScopedPolicySource(const std::string& scope);
  // Moves the row of scope `from` (policy, source, fingerprint) to `to`, in
  // one transaction with its audit row; a row already under `to` wins and
  // `from`'s is dropped. Upgrades a domid-scoped row of a libvirt domain.
  Status MovePolicy(const std::string& from, const std::string& to, const AuditRow& audit);

  // Identity history of libvirt domains, oldest first; kept forever (one
  // row per rename, which operators do by hand).
  Status AddIdentityChange(const IdentityChangeRow& row);
  Result<std::vector<IdentityChangeRow>> IdentityChanges();
  // libvirt's names by UUID as last seen, so a start can tell what was
  // renamed while the daemon was down. Save adds or updates; a UUID no
  // longer listed keeps its last name, so its name defined again under
  // another UUID is still recognized as a UUID change.
  Status SaveLibvirtNames(const std::map<std::string, std::string>& name_by_uuid);
  Result<std::map<std::string, std::string>> LibvirtNames();

  Status Audit(const AuditRow& row, uint64_t* audit_id = nullptr);
  // One more of the decision audit row `id` stands for, at time_ms.
  Status RepeatAudit(uint64_t id, int64_t time_ms);
  // Drops the oldest audit rows beyond the newest `keep`.
  Status TrimAudit(uint64_t keep);
  Result<std::vector<AuditRow>> AuditLog(size_t limit);
  // Transactions committed since Open (each one an fsync).
  uint64_t Commits() const { return commits_.load(std::memory_order_relaxed); }
  Result<std::vector<AuditRow>> QueryAudit(const AuditQuery& q);

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Result<bool> HasColumn(const char* table, const char* column);
  Status Migrate();
  // Outside a Batch: BEGIN IMMEDIATE; body; COMMIT, or ROLLBACK when body
  // or COMMIT fails. Inside one: a savepoint. The caller holds mu_.
  Status WithTransaction(const std::function<Status()>& body);
  Status InsertAudit(const AuditRow& row, uint64_t* audit_id = nullptr);
  // A statement prepared once per SQL text and kept (reset after each use).
  sqlite3_stmt* Prepared(const char* sql);

  // Recursive: a Batch holds it while the writes inside take it again.
  std::recursive_mutex mu_;
  sqlite3* db_;
  int depth_ = 0;  // open transactions and savepoints
  std::atomic<uint64_t> commits_{0};
  std::map<const char*, sqlite3_stmt*> prepared_;
};

}  // namespace hu::daemon
