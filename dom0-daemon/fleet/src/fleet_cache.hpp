// The fleet state this host last knew, kept on disk (STATE/fleet.db,
// SQLite), so a daemon that starts while etcd is unreachable enforces it
// instead of nothing, and catches up from its revision when etcd is back.
// Also the registry lease of the last run, so a quick restart can take
// its own host key back without waiting for that lease to expire.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "etcd_client.hpp"

struct sqlite3;

namespace hu::fleet {

struct CachedState {
  std::vector<etcd::KeyValue> kvs;
  int64_t revision = 0;  // 0: never synced
  int64_t lease = 0;
};

class FleetCache {
 public:
  static Result<std::unique_ptr<FleetCache>> Open(const std::string& path);
  ~FleetCache();
  FleetCache(const FleetCache&) = delete;
  FleetCache& operator=(const FleetCache&) = delete;

  Result<CachedState> Load();
  // The whole state anew (a full read).
  Status Replace(const std::vector<etcd::KeyValue>& kvs, int64_t revision);
  // Keys set (value) or removed (nullopt), and the revision they bring.
  Status Apply(const std::vector<std::pair<std::string, std::optional<etcd::KeyValue>>>& changes,
               int64_t revision);
  Status SaveLease(int64_t lease);

 private:
  explicit FleetCache(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Status Put(const etcd::KeyValue& kv);
  Status Delete(const std::string& key);
  Status SetMeta(const char* name, int64_t value);
  Status InTransaction(const std::function<Status()>& body);
  sqlite3* db_;
};

}  // namespace hu::fleet
