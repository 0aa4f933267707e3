#include "store.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "text.hpp"

namespace hu::daemon {
namespace {

using json = nlohmann::json;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS programs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  domid INTEGER NOT NULL,
  hook INTEGER NOT NULL,
  name TEXT NOT NULL,
  insns BLOB NOT NULL,
  maps TEXT NOT NULL,
  regions TEXT NOT NULL,
  state TEXT NOT NULL,
  verdict TEXT NOT NULL,
  verifier_log TEXT NOT NULL,
  verifier_states INTEGER NOT NULL,
  verifier_ms REAL NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS policies (
  scope TEXT PRIMARY KEY,
  policy TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS identity_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  old_name TEXT NOT NULL,
  new_name TEXT NOT NULL,
  old_uuid TEXT NOT NULL,
  new_uuid TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS libvirt_names (
  uuid TEXT PRIMARY KEY,
  name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  domid INTEGER NOT NULL,
  prog_id INTEGER NOT NULL,
  prog_name TEXT NOT NULL,
  decision TEXT NOT NULL,
  reason TEXT NOT NULL
);
)sql";

// Longest audit texts kept: a name as the API allows it, and a reason long
// enough for a whole policy in JSON.
constexpr size_t kAuditNameMax = 256;
constexpr size_t kAuditReasonMax = 8192;

// One use of a prepared statement the store keeps: reset on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {}
  ~Stmt() {
    if (st_) {
      sqlite3_reset(st_);
      sqlite3_clear_bindings(st_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return st_ != nullptr; }
  Stmt& Int(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Stmt& Real(int i, double v) {
    sqlite3_bind_double(st_, i, v);
    return *this;
  }
  Stmt& Text(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Blob(int i, const void* p, size_t n) {
    sqlite3_bind_blob(st_, i, n ? p : "", static_cast<int>(n), SQLITE_TRANSIENT);
    return *this;
  }
  int Step() { return sqlite3_step(st_); }
  int64_t ColInt(int i) { return sqlite3_column_int64(st_, i); }
  double ColReal(int i) { return sqlite3_column_double(st_, i); }
  std::string ColText(int i) {
    auto* p = sqlite3_column_text(st_, i);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(st_, i)))
             : std::string();
  }
  std::vector<uint8_t> ColBlob(int i) {
    auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(st_, i));
    return p ? std::vector<uint8_t>(p, p + sqlite3_column_bytes(st_, i)) : std::vector<uint8_t>();
  }
  std::string Err() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

Error DbError(sqlite3* db, const std::string& what) {
  return MakeError(ErrorCode::kInternal,
                   fmt::format("state database: {}: {}", what, sqlite3_errmsg(db)));
}

json MapsToJson(const std::vector<MapSpec>& maps) {
  json a = json::array();
  for (const auto& m : maps) {
    json j = {{"name", m.name},
              {"type", m.def.type},
              {"key_size", m.def.key_size},
              {"value_size", m.def.value_size},
              {"max_entries", m.def.max_entries}};
    // Kept only when the guest sent them; rows from before have none.
    if (m.btf_key_type_id) j["btf_key_type_id"] = m.btf_key_type_id;
    if (m.btf_value_type_id) j["btf_value_type_id"] = m.btf_value_type_id;
    a.push_back(std::move(j));
  }
  return a;
}

std::vector<MapSpec> MapsFromJson(const json& a) {
  std::vector<MapSpec> out;
  for (const auto& j : a) {
    MapSpec m;
    m.name = j.at("name").get<std::string>();
    m.def.type = j.at("type").get<uint32_t>();
    m.def.key_size = j.at("key_size").get<uint32_t>();
    m.def.value_size = j.at("value_size").get<uint32_t>();
    m.def.max_entries = j.at("max_entries").get<uint32_t>();
    m.btf_key_type_id = j.value("btf_key_type_id", 0u);
    m.btf_value_type_id = j.value("btf_value_type_id", 0u);
    out.push_back(std::move(m));
  }
  return out;
}

// A region's symbol is a key of its own: rows written before it was kept
// have none and read back as "".
json RegionsToJson(const std::vector<hu_region>& regions, const std::vector<std::string>& symbols) {
  json a = json::array();
  for (size_t i = 0; i < regions.size(); ++i) {
    const auto& r = regions[i];
    json j = {{"start", r.start}, {"len", r.len}, {"flags", r.flags}};
    if (i < symbols.size() && !symbols[i].empty()) j["symbol"] = symbols[i];
    a.push_back(std::move(j));
  }
  return a;
}

void RegionsFromJson(const json& a, std::vector<hu_region>* regions,
                     std::vector<std::string>* symbols) {
  for (const auto& j : a) {
    hu_region r{};
    r.start = j.at("start").get<uint64_t>();
    r.len = j.at("len").get<uint64_t>();
    r.flags = j.at("flags").get<uint32_t>();
    regions->push_back(r);
    symbols->push_back(j.value("symbol", std::string()));
  }
}

json SymbolsToJson(const ProgramRecord& rec) {
  json f = json::array();
  for (const auto& s : rec.functions) f.push_back({{"name", s.name}, {"pc", s.pc}});
  return {{"functions", std::move(f)}};
}

std::vector<FuncSymbol> FunctionsFromJson(const json& j) {
  std::vector<FuncSymbol> out;
  for (const auto& f : j.value("functions", json::array()))
    out.push_back(FuncSymbol{f.at("name").get<std::string>(), f.at("pc").get<uint32_t>()});
  return out;
}

json VerdictToJson(const Verdict& v) {
  return {{"kind", static_cast<int>(v.kind)},
          {"stage", v.stage},
          {"message", v.message},
          {"error_pc", v.error_pc},
          {"code", v.code}};
}

Verdict VerdictFromJson(const json& j) {
  Verdict v;
  v.kind = static_cast<VerdictKind>(j.at("kind").get<int>());
  v.stage = j.at("stage").get<std::string>();
  v.message = j.at("message").get<std::string>();
  v.error_pc = j.at("error_pc").get<int32_t>();
  v.code = j.at("code").get<int32_t>();
  return v;
}

std::string Scope(std::optional<uint32_t> domid) {
  return domid ? DomainPolicyScope(*domid) : "default";
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("cannot open state database {}: {}", path, msg));
  }
  std::unique_ptr<Store> s(new Store(db));
  sqlite3_busy_timeout(db, 5000);
  // Every commit, explicit or autocommit, is one fsync; counted so tests can
  // hold the daemon to "a restart is one transaction".
  sqlite3_commit_hook(
      db,
      [](void* n) {
        static_cast<std::atomic<uint64_t>*>(n)->fetch_add(1, std::memory_order_relaxed);
        return 0;
      },
      &s->commits_);
  // WAL + FULL: a committed transaction survives kill -9 and power loss.
  if (auto st = s->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"); !st)
    return st.error();
  if (auto st = s->Exec(kSchema); !st) return st.error();
  if (auto st = s->Migrate(); !st) return st.error();
  return s;
}

Store::~Store() {
  for (auto& [sql, st] : prepared_) sqlite3_finalize(st);
  sqlite3_close(db_);
}

sqlite3_stmt* Store::Prepared(const char* sql) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) return nullptr;
  prepared_[sql] = st;
  return st;
}

Result<bool> Store::HasColumn(const char* table, const char* column) {
  Stmt st(db_, Prepared("SELECT name FROM pragma_table_info(?)"));
  if (!st.ok()) return DbError(db_, "prepare schema check");
  st.Text(1, table);
  bool has = false;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) has = has || st.ColText(0) == column;
  if (rc != SQLITE_DONE) return DbError(db_, "schema check");
  return has;
}

// Columns added after the first schema, each with the value old rows read
// as, so a database of any earlier version opens and keeps its rows:
// - policies.source, xml_fingerprint: old rows count as operator overrides
//   recorded over no XML, so an XML policy present at the next start wins
//   (and is audited as such);
// - programs.btf, symbols: old programs have no BTF and no named
//   functions (regions name their symbol inside the regions JSON);
// - audit.count, last_ms: rows from before refusals were aggregated stand
//   for one decision each;
// - audit.actor: old rows do not know who asked ("").
Status Store::Migrate() {
  struct Added {
    const char* table;
    const char* column;
    const char* decl;
  };
  static const Added kAdded[] = {
      {"policies", "source", "TEXT NOT NULL DEFAULT 'api'"},
      {"policies", "xml_fingerprint", "TEXT NOT NULL DEFAULT ''"},
      {"programs", "btf", "BLOB NOT NULL DEFAULT x''"},
      {"programs", "symbols", "TEXT NOT NULL DEFAULT '{}'"},
      {"audit", "count", "INTEGER NOT NULL DEFAULT 1"},
      {"audit", "last_ms", "INTEGER NOT NULL DEFAULT 0"},
      {"audit", "actor", "TEXT NOT NULL DEFAULT ''"},
  };
  for (const Added& a : kAdded) {
    auto has = HasColumn(a.table, a.column);
    if (!has) return has.error();
    if (*has) continue;
    const std::string sql =
        fmt::format("ALTER TABLE {} ADD COLUMN {} {}", a.table, a.column, a.decl);
    if (auto st = Exec(sql.c_str()); !st) return st;
    spdlog::info("state database: added {}.{}", a.table, a.column);
  }
  return Status::Ok();
}

Status Store::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return MakeError(ErrorCode::kInternal, fmt::format("state database: {}", msg));
  }
  return Status::Ok();
}

Status Store::InsertAudit(const AuditRow& row, uint64_t* audit_id) {
  Stmt st(db_, Prepared("INSERT INTO audit(time_ms, domid, prog_id, prog_name, decision, reason, "
                        "count, last_ms, actor) VALUES(?,?,?,?,?,?,?,?,?)"));
  if (!st.ok()) return DbError(db_, "prepare audit");
  // The last line of defence: whatever a caller quotes, a row holds valid,
  // printable UTF-8 of bounded length.
  st.Int(1, row.time_ms)
      .Int(2, row.domid)
      .Int(3, static_cast<int64_t>(row.prog_id))
      .Text(4, SafeComposedText(row.prog_name, kAuditNameMax))
      .Text(5, SafeComposedText(row.decision, kAuditNameMax))
      .Text(6, SafeComposedText(row.reason, kAuditReasonMax))
      .Int(7, static_cast<int64_t>(row.count))
      .Int(8, row.last_ms ? row.last_ms : row.time_ms)
      .Text(9, SafeComposedText(row.actor, kAuditNameMax));
  if (st.Step() != SQLITE_DONE) return DbError(db_, "insert audit");
  const auto seq = sqlite3_last_insert_rowid(db_);
  if (audit_id) *audit_id = static_cast<uint64_t>(seq);
  NoteAuditSeq(seq);
  return Status::Ok();
}

Status Store::Audit(const AuditRow& row, uint64_t* audit_id) {
  std::lock_guard lk(mu_);
  return InsertAudit(row, audit_id);
}

Status Store::RepeatAudit(uint64_t id, int64_t time_ms) {
  std::lock_guard lk(mu_);
  Stmt st(db_, Prepared("UPDATE audit SET count = count + 1, last_ms = ? WHERE id = ?"));
  if (!st.ok()) return DbError(db_, "prepare audit repeat");
  st.Int(1, time_ms).Int(2, static_cast<int64_t>(id));
  if (st.Step() != SQLITE_DONE) return DbError(db_, "repeat audit");
  return Status::Ok();
}

Status Store::TrimAudit(uint64_t keep) {
  std::lock_guard lk(mu_);
  Stmt st(db_, Prepared("DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - ?"));
  if (!st.ok()) return DbError(db_, "prepare audit trim");
  st.Int(1, static_cast<int64_t>(keep));
  if (st.Step() != SQLITE_DONE) return DbError(db_, "trim audit");
  return Status::Ok();
}

Status Store::WithTransaction(const std::function<Status()>& body) {
  const bool outer = depth_ == 0;
  if (auto s = Exec(outer ? "BEGIN IMMEDIATE" : "SAVEPOINT w"); !s) return s;
  ++depth_;
  Status st = body();
  --depth_;
  if (outer) {
    if (st) st = Exec("COMMIT");
    if (!st) (void)Exec("ROLLBACK");
  } else {
    if (!st) (void)Exec("ROLLBACK TO w");
    if (auto r = Exec("RELEASE w"); !r && st) st = r;
  }
  return st;
}

Status Store::Batch(const std::function<void()>& body) {
  std::lock_guard lk(mu_);
  return WithTransaction([&]() -> Status {
    body();
    return Status::Ok();
  });
}

Status Store::Atomically(const std::function<Status()>& body) {
  std::lock_guard lk(mu_);
  return WithTransaction(body);
}

Result<uint64_t> Store::InsertProgram(const ProgramRecord& rec, const AuditRow& audit,
                                      uint64_t* audit_id, uint64_t repeat_of) {
  std::lock_guard lk(mu_);
  uint64_t id = 0;
  auto st = WithTransaction([&]() -> Status {
    Stmt ins(db_, Prepared("INSERT INTO programs(domid, hook, name, insns, maps, regions, state, "
                           "verdict, verifier_log, verifier_states, verifier_ms, created_ms, "
                           "updated_ms, btf, symbols) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    if (!ins.ok()) return DbError(db_, "prepare program insert");
    ins.Int(1, rec.domid)
        .Int(2, rec.hook)
        .Text(3, rec.name)
        .Blob(4, rec.insns.data(), rec.insns.size() * sizeof(hu_insn))
        .Text(5, MapsToJson(rec.maps).dump())
        .Text(6, RegionsToJson(rec.regions, rec.region_symbols).dump())
        .Text(7, ProgStateName(rec.state))
        .Text(8, VerdictToJson(rec.verdict).dump())
        .Text(9, rec.verifier_log)
        .Int(10, static_cast<int64_t>(rec.verifier_states))
        .Real(11, rec.verifier_ms)
        .Int(12, rec.created_ms)
        .Int(13, rec.updated_ms)
        .Blob(14, rec.btf.data(), rec.btf.size())
        .Text(15, SymbolsToJson(rec).dump());
    if (ins.Step() != SQLITE_DONE) return DbError(db_, "insert program");
    id = static_cast<uint64_t>(sqlite3_last_insert_rowid(db_));
    if (repeat_of) {
      if (audit_id) *audit_id = repeat_of;
      return RepeatAudit(repeat_of, audit.time_ms);
    }
    AuditRow a = audit;
    a.prog_id = id;
    return InsertAudit(a, audit_id);
  });
  if (!st) return st.error();
  return id;
}

Status Store::UpdateProgram(const ProgramRecord& rec, const AuditRow& audit) {
  std::lock_guard lk(mu_);
  return WithTransaction([&]() -> Status {
    Stmt up(db_, Prepared("UPDATE programs SET state=?, verdict=?, updated_ms=? WHERE id=?"));
    if (!up.ok()) return DbError(db_, "prepare program update");
    up.Text(1, ProgStateName(rec.state))
        .Text(2, VerdictToJson(rec.verdict).dump())
        .Int(3, rec.updated_ms)
        .Int(4, static_cast<int64_t>(rec.id));
    if (up.Step() != SQLITE_DONE) return DbError(db_, "update program");
    return InsertAudit(audit);
  });
}

Status Store::DeleteProgram(uint64_t id) {
  std::lock_guard lk(mu_);
  Stmt st(db_, Prepared("DELETE FROM programs WHERE id=?"));
  if (!st.ok()) return DbError(db_, "prepare program delete");
  st.Int(1, static_cast<int64_t>(id));
  if (st.Step() != SQLITE_DONE) return DbError(db_, "delete program");
  return Status::Ok();
}

namespace {

constexpr const char* kProgramColumns =
    "SELECT id, domid, hook, name, insns, maps, regions, state, verdict, verifier_log, "
    "verifier_states, verifier_ms, created_ms, updated_ms, btf, symbols FROM programs ";

Result<ProgramRecord> ReadProgramRow(Stmt& st) {
  ProgramRecord r;
  r.id = static_cast<uint64_t>(st.ColInt(0));
  r.domid = static_cast<uint32_t>(st.ColInt(1));
  r.hook = static_cast<hu_hook_id>(st.ColInt(2));
  r.name = st.ColText(3);
  auto blob = st.ColBlob(4);
  r.insns.resize(blob.size() / sizeof(hu_insn));
  if (!r.insns.empty()) std::memcpy(r.insns.data(), blob.data(), r.insns.size() * sizeof(hu_insn));
  r.insn_count = static_cast<uint32_t>(r.insns.size());
  try {
    r.maps = MapsFromJson(json::parse(st.ColText(5)));
    RegionsFromJson(json::parse(st.ColText(6)), &r.regions, &r.region_symbols);
    r.verdict = VerdictFromJson(json::parse(st.ColText(8)));
    r.functions = FunctionsFromJson(json::parse(st.ColText(15)));
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kInternal,
                     fmt::format("state database: program {} is corrupt: {}", r.id, e.what()));
  }
  if (!ProgStateFromName(st.ColText(7), &r.state)) {
    return MakeError(
        ErrorCode::kInternal,
        fmt::format("state database: program {} has unknown state '{}'", r.id, st.ColText(7)));
  }
  r.verifier_log = st.ColText(9);
  r.verifier_states = static_cast<uint64_t>(st.ColInt(10));
  r.verifier_ms = st.ColReal(11);
  r.created_ms = st.ColInt(12);
  r.updated_ms = st.ColInt(13);
  r.btf = st.ColBlob(14);
  return r;
}

}  // namespace

Result<std::vector<ProgramRecord>> Store::LoadPrograms() {
  std::lock_guard lk(mu_);
  static const std::string sql = std::string(kProgramColumns) + "ORDER BY id";
  Stmt st(db_, Prepared(sql.c_str()));
  if (!st.ok()) return DbError(db_, "prepare program load");
  std::vector<ProgramRecord> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    auto r = ReadProgramRow(st);
    if (!r) return r.error();
    out.push_back(std::move(*r));
  }
  if (rc != SQLITE_DONE) return DbError(db_, "load programs");
  return out;
}

Result<ProgramRecord> Store::LoadProgram(uint64_t id) {
  std::lock_guard lk(mu_);
  static const std::string sql = std::string(kProgramColumns) + "WHERE id=?";
  Stmt st(db_, Prepared(sql.c_str()));
  if (!st.ok()) return DbError(db_, "prepare program load");
  st.Int(1, static_cast<int64_t>(id));
  int rc = st.Step();
  if (rc == SQLITE_DONE)
    return MakeError(ErrorCode::kNotFound, fmt::format("no program with id {}", id));
  if (rc != SQLITE_ROW) return DbError(db_, "load program");
  return ReadProgramRow(st);
}

Status Store::PutPolicy(std::optional<uint32_t> domid, const Policy& p, const AuditRow& audit,
                        const PolicySource& source) {
  return PutScopedPolicy(Scope(domid), p, audit, source);
}

Status Store::PutScopedPolicy(const std::string& scope, const Policy& p, const AuditRow& audit,
                              const PolicySource& source) {
  std::lock_guard lk(mu_);
  return WithTransaction([&]() -> Status {
    Stmt put(db_,
             Prepared("INSERT OR REPLACE INTO policies(scope, policy, source, xml_fingerprint) "
                      "VALUES(?,?,?,?)"));
    if (!put.ok()) return DbError(db_, "prepare policy");
    put.Text(1, scope)
        .Text(2, PolicyToJson(p).dump())
        .Text(3, source.origin)
        .Text(4, source.xml_fingerprint);
    if (put.Step() != SQLITE_DONE) return DbError(db_, "store policy");
    return InsertAudit(audit);
  });
}

Status Store::DeletePolicy(uint32_t domid, const AuditRow& audit) {
  return DeleteScopedPolicy(Scope(domid), audit);
}

Status Store::DeleteScopedPolicy(const std::string& scope, const AuditRow& audit) {
  std::lock_guard lk(mu_);
  return WithTransaction([&]() -> Status {
    Stmt del(db_, Prepared("DELETE FROM policies WHERE scope=?"));
    if (!del.ok()) return DbError(db_, "prepare policy delete");
    del.Text(1, scope);
    if (del.Step() != SQLITE_DONE) return DbError(db_, "delete policy");
    return InsertAudit(audit);
  });
}

Status Store::MovePolicy(const std::string& from, const std::string& to, const AuditRow& audit) {
  std::lock_guard lk(mu_);
  return WithTransaction([&]() -> Status {
    Stmt copy(db_,
              Prepared("INSERT OR IGNORE INTO policies(scope, policy, source, xml_fingerprint) "
                       "SELECT ?, policy, source, xml_fingerprint FROM policies WHERE scope=?"));
    if (!copy.ok()) return DbError(db_, "prepare policy move");
    copy.Text(1, to).Text(2, from);
    if (copy.Step() != SQLITE_DONE) return DbError(db_, "move policy");
    Stmt del(db_, Prepared("DELETE FROM policies WHERE scope=?"));
    if (!del.ok()) return DbError(db_, "prepare policy delete");
    del.Text(1, from);
    if (del.Step() != SQLITE_DONE) return DbError(db_, "delete policy");
    return InsertAudit(audit);
  });
}

Result<std::optional<PolicySource>> Store::PolicySourceOf(uint32_t domid) {
  return ScopedPolicySource(Scope(domid));
}

Result<std::optional<PolicySource>> Store::ScopedPolicySource(const std::string& scope) {
  std::lock_guard lk(mu_);
  Stmt st(db_, Prepared("SELECT source, xml_fingerprint FROM policies WHERE scope=?"));
  if (!st.ok()) return DbError(db_, "prepare policy source");
  st.Text(1, scope);
  int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<PolicySource>();
  if (rc != SQLITE_ROW) return DbError(db_, "load policy source");
  return std::optional<PolicySource>(PolicySource{st.ColText(0), st.ColText(1)});
}

Status Store::AddIdentityChange(const IdentityChangeRow& row) {
  std::lock_guard lk(mu_);
  Stmt st(db_,
          Prepared(
              "INSERT INTO identity_changes(time_ms, kind, old_name, new_name, old_uuid, new_uuid) "
              "VALUES(?,?,?,?,?,?)"));
  if (!st.ok()) return DbError(db_, "prepare identity change");
  st.Int(1, row.time_ms)
      .Text(2, row.kind)
      .Text(3, row.old_name)
      .Text(4, row.new_name)
      .Text(5, row.old_uuid)
      .Text(6, row.new_uuid);
  if (st.Step() != SQLITE_DONE) return DbError(db_, "insert identity change");
  return Status::Ok();
}

Status Store::SaveLibvirtNames(const std::map<std::string, std::string>& name_by_uuid) {
  std::lock_guard lk(mu_);
  return WithTransaction([&]() -> Status {
    for (const auto& [uuid, name] : name_by_uuid) {
      Stmt put(db_, Prepared("INSERT OR REPLACE INTO libvirt_names(uuid, name) VALUES(?,?)"));
      if (!put.ok()) return DbError(db_, "prepare libvirt name");
      put.Text(1, uuid).Text(2, name);
      if (put.Step() != SQLITE_DONE) return DbError(db_, "store libvirt name");
    }
    return Status::Ok();
  });
}

Result<std::map<std::string, std::string>> Store::LibvirtNames() {
  std::lock_guard lk(mu_);
  Stmt st(db_, Prepared("SELECT uuid, name FROM libvirt_names"));
  if (!st.ok()) return DbError(db_, "prepare libvirt names");
  std::map<std::string, std::string> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out[st.ColText(0)] = st.ColText(1);
  if (rc != SQLITE_DONE) return DbError(db_, "load libvirt names");
  return out;
}

Result<std::vector<IdentityChangeRow>> Store::IdentityChanges() {
  std::lock_guard lk(mu_);
  Stmt st(
      db_,
      Prepared("SELECT time_ms, kind, old_name, new_name, old_uuid, new_uuid FROM identity_changes "
               "ORDER BY id"));
  if (!st.ok()) return DbError(db_, "prepare identity history");
  std::vector<IdentityChangeRow> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back(IdentityChangeRow{st.ColInt(0), st.ColText(1), st.ColText(2), st.ColText(3),
                                    st.ColText(4), st.ColText(5)});
  }
  if (rc != SQLITE_DONE) return DbError(db_, "load identity history");
  return out;
}

Result<StoredPolicies> Store::LoadPolicies() {
  std::lock_guard lk(mu_);
  Stmt st(db_, Prepared("SELECT scope, policy FROM policies"));
  if (!st.ok()) return DbError(db_, "prepare policy load");
  StoredPolicies out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    std::string scope = st.ColText(0);
    json j;
    try {
      j = json::parse(st.ColText(1));
    } catch (const json::exception& e) {
      return MakeError(ErrorCode::kInternal,
                       fmt::format("state database: policy {} is corrupt: {}", scope, e.what()));
    }
    auto p = PolicyFromJson(j);
    if (!p) {
      return MakeError(ErrorCode::kInternal,
                       fmt::format("state database: policy {}: {}", scope, p.error().message));
    }
    if (scope == "default") {
      out.default_policy = *p;
    } else if (scope.rfind("domain:", 0) == 0) {
      out.domains[static_cast<uint32_t>(std::stoul(scope.substr(7)))] = *p;
    } else if (scope.rfind("libvirt:", 0) == 0) {
      out.libvirt[scope.substr(8)] = *p;
    }
  }
  if (rc != SQLITE_DONE) return DbError(db_, "load policies");
  return out;
}

Result<std::vector<AuditRow>> Store::AuditLog(size_t limit) {
  AuditQuery q;
  q.limit = limit;
  return QueryAudit(q);
}

Result<std::vector<AuditRow>> Store::QueryAudit(const AuditQuery& q) {
  std::lock_guard lk(mu_);
  // Every filter is a bound parameter; an unset one matches everything.
  static constexpr const char* kNewestFirst =
      "SELECT time_ms, domid, prog_id, prog_name, decision, reason, count, last_ms, actor, id "
      "FROM audit WHERE (?1 < 0 OR domid = ?1) AND (?2 = 0 OR prog_id = ?2) AND "
      "(?3 = '' OR decision = ?3) AND time_ms >= ?4 AND (?5 = 0 OR time_ms < ?5) AND id > ?6 "
      "ORDER BY id DESC LIMIT ?7";
  static constexpr const char* kOldestFirst =
      "SELECT time_ms, domid, prog_id, prog_name, decision, reason, count, last_ms, actor, id "
      "FROM audit WHERE (?1 < 0 OR domid = ?1) AND (?2 = 0 OR prog_id = ?2) AND "
      "(?3 = '' OR decision = ?3) AND time_ms >= ?4 AND (?5 = 0 OR time_ms < ?5) AND id > ?6 "
      "ORDER BY id ASC LIMIT ?7";
  Stmt st(db_, Prepared(q.oldest_first ? kOldestFirst : kNewestFirst));
  if (!st.ok()) return DbError(db_, "prepare audit load");
  st.Int(1, q.domid ? static_cast<int64_t>(*q.domid) : -1)
      .Int(2, static_cast<int64_t>(q.prog_id))
      .Text(3, q.decision)
      .Int(4, q.since_ms)
      .Int(5, q.until_ms)
      .Int(6, q.after_seq)
      .Int(7, static_cast<int64_t>(q.limit));
  std::vector<AuditRow> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back(AuditRow{st.ColInt(0), static_cast<uint32_t>(st.ColInt(1)),
                           static_cast<uint64_t>(st.ColInt(2)), st.ColText(3), st.ColText(4),
                           st.ColText(5), static_cast<uint64_t>(st.ColInt(6)), st.ColInt(7),
                           st.ColText(8), st.ColInt(9)});
  }
  if (rc != SQLITE_DONE) return DbError(db_, "load audit");
  return out;
}

}  // namespace hu::daemon
