// The daemon's state in SQLite: programs, policies, and an audit log of
// every decision. A decision is committed (fsync'd) before the guest or
// operator hears about it, so a kill -9 never loses an acknowledged one.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "policy.hpp"
#include "program.hpp"

struct sqlite3;

namespace hu::daemon {

struct AuditRow {
  int64_t time_ms = 0;
  uint32_t domid = 0;
  uint64_t prog_id = 0;  // 0 when the request never became a program
  std::string prog_name;
  std::string decision;  // accepted, pending, rejected, approved, detached, ...
  std::string reason;
};

struct StoredPolicies {
  std::optional<Policy> default_policy;
  std::map<uint32_t, Policy> domains;
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Inserts `rec` (its id is assigned here, never reused) together with
  // its audit row, in one transaction.
  Result<uint64_t> InsertProgram(const ProgramRecord& rec, const AuditRow& audit);
  // Updates state, verdict and times of an existing program, with its audit row.
  Status UpdateProgram(const ProgramRecord& rec, const AuditRow& audit);
  Status DeleteProgram(uint64_t id);
  Result<std::vector<ProgramRecord>> LoadPrograms();

  Status PutPolicy(std::optional<uint32_t> domid, const Policy& p, const AuditRow& audit);
  Status DeletePolicy(uint32_t domid, const AuditRow& audit);
  Result<StoredPolicies> LoadPolicies();

  Status Audit(const AuditRow& row);
  Result<std::vector<AuditRow>> AuditLog(size_t limit);

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Status InsertAudit(const AuditRow& row);

  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace hu::daemon
