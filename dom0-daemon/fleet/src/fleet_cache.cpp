#include "fleet_cache.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <functional>

namespace hu::fleet {

namespace {

Error DbError(sqlite3* db, const char* what) {
  return MakeError(ErrorCode::kInternal,
                   fmt::format("fleet cache {}: {}", what, sqlite3_errmsg(db)));
}

// One prepared statement, finalized on scope exit.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
  ~Stmt() { sqlite3_finalize(s); }
};

}  // namespace

Result<std::unique_ptr<FleetCache>> FleetCache::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    Error e = DbError(db, "open");
    sqlite3_close(db);
    return e;
  }
  std::unique_ptr<FleetCache> c(new FleetCache(db));
  for (const char* sql :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
        "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT "
        "NULL, create_revision INTEGER, mod_revision INTEGER, version INTEGER)",
        "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER)"}) {
    if (auto st = c->Exec(sql); !st) return st.error();
  }
  return c;
}

FleetCache::~FleetCache() { sqlite3_close(db_); }

Status FleetCache::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown";
    sqlite3_free(err);
    return MakeError(ErrorCode::kInternal, fmt::format("fleet cache: {}: {}", sql, m));
  }
  return Status::Ok();
}

Status FleetCache::InTransaction(const std::function<Status()>& body) {
  if (auto st = Exec("BEGIN IMMEDIATE"); !st) return st;
  Status st = body();
  if (st) st = Exec("COMMIT");
  if (!st) (void)Exec("ROLLBACK");
  return st;
}

Result<CachedState> FleetCache::Load() {
  CachedState out;
  Stmt kv(db_, "SELECT key, value, create_revision, mod_revision, version FROM kv");
  if (!kv.s) return DbError(db_, "load");
  while (sqlite3_step(kv.s) == SQLITE_ROW) {
    etcd::KeyValue e;
    e.key = reinterpret_cast<const char*>(sqlite3_column_text(kv.s, 0));
    e.value.assign(static_cast<const char*>(sqlite3_column_blob(kv.s, 1)),
                   static_cast<size_t>(sqlite3_column_bytes(kv.s, 1)));
    e.create_revision = sqlite3_column_int64(kv.s, 2);
    e.mod_revision = sqlite3_column_int64(kv.s, 3);
    e.version = sqlite3_column_int64(kv.s, 4);
    out.kvs.push_back(std::move(e));
  }
  Stmt meta(db_, "SELECT name, value FROM meta");
  if (!meta.s) return DbError(db_, "load");
  while (sqlite3_step(meta.s) == SQLITE_ROW) {
    const std::string name = reinterpret_cast<const char*>(sqlite3_column_text(meta.s, 0));
    if (name == "revision") out.revision = sqlite3_column_int64(meta.s, 1);
    if (name == "lease") out.lease = sqlite3_column_int64(meta.s, 1);
  }
  return out;
}

Status FleetCache::Put(const etcd::KeyValue& kv) {
  Stmt s(db_,
         "INSERT OR REPLACE INTO kv (key, value, create_revision, mod_revision, version) "
         "VALUES (?, ?, ?, ?, ?)");
  sqlite3_bind_text(s.s, 1, kv.key.data(), static_cast<int>(kv.key.size()), SQLITE_TRANSIENT);
  sqlite3_bind_blob(s.s, 2, kv.value.data(), static_cast<int>(kv.value.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.s, 3, kv.create_revision);
  sqlite3_bind_int64(s.s, 4, kv.mod_revision);
  sqlite3_bind_int64(s.s, 5, kv.version);
  if (sqlite3_step(s.s) != SQLITE_DONE) return DbError(db_, "put");
  return Status::Ok();
}

Status FleetCache::Delete(const std::string& key) {
  Stmt s(db_, "DELETE FROM kv WHERE key = ?");
  sqlite3_bind_text(s.s, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(s.s) != SQLITE_DONE) return DbError(db_, "delete");
  return Status::Ok();
}

Status FleetCache::SetMeta(const char* name, int64_t value) {
  Stmt s(db_, "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)");
  sqlite3_bind_text(s.s, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s.s, 2, value);
  if (sqlite3_step(s.s) != SQLITE_DONE) return DbError(db_, "meta");
  return Status::Ok();
}

Status FleetCache::Replace(const std::vector<etcd::KeyValue>& kvs, int64_t revision) {
  return InTransaction([&]() -> Status {
    if (auto st = Exec("DELETE FROM kv"); !st) return st;
    for (const auto& kv : kvs) {
      if (auto st = Put(kv); !st) return st;
    }
    return SetMeta("revision", revision);
  });
}

Status FleetCache::Apply(
    const std::vector<std::pair<std::string, std::optional<etcd::KeyValue>>>& changes,
    int64_t revision) {
  return InTransaction([&]() -> Status {
    for (const auto& [key, kv] : changes) {
      if (auto st = kv ? Put(*kv) : Delete(key); !st) return st;
    }
    return SetMeta("revision", revision);
  });
}

Status FleetCache::SaveLease(int64_t lease) {
  return InTransaction([&] { return SetMeta("lease", lease); });
}

}  // namespace hu::fleet
