// The fleet state one host enforces: the keys under PREFIX/state/ that
// concern it (the fleet-wide policy, its own host policy, every domain
// policy, every approval), as of one etcd revision. Plain data: the agent
// guards it with its lock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "etcd_watch.hpp"
#include "fleet_keys.hpp"
#include "policy.hpp"

namespace hu::fleet {

using daemon::Policy;

// A value that is not a valid policy is enforced as this: nothing allowed
// (a typo in etcd must not open a host up).
Policy NothingAllowed();

struct Change {
  StateKey key;
  bool deleted = false;
  int64_t mod_revision = 0;
  std::string text;  // one line for the audit log
};

class FleetState {
 public:
  FleetState(Keys keys, std::string host) : keys_(std::move(keys)), host_(std::move(host)) {}

  // Everything anew, from a full read (first sync, after compaction, or the
  // copy on disk): answers what differs from before.
  std::vector<Change> Replace(const std::vector<etcd::KeyValue>& kvs, int64_t revision);
  // One watched change; nothing when the key is not this host's concern.
  std::optional<Change> Apply(const etcd::WatchEvent& ev);
  void set_revision(int64_t r) { revision_ = r; }
  int64_t revision() const { return revision_; }
  // Whether `key` is kept (the cache stores the same keys).
  bool Concerns(const std::string& key) const;
  const std::map<std::string, etcd::KeyValue>& raw() const { return raw_; }

  // The host's default: its own key, else the fleet's.
  std::optional<Policy> DefaultPolicy() const;
  std::optional<Policy> DomainPolicy(const std::string& uuid) const;  // canonical UUID
  bool Approved(const std::string& sha256) const { return approvals_.count(sha256) > 0; }

  bool has_fleet_policy() const { return fleet_policy_.has_value(); }
  bool has_host_policy() const { return host_policy_.has_value(); }
  size_t domain_policies() const { return domains_.size(); }
  size_t approvals() const { return approvals_.size(); }
  // Keys whose value did not parse, with why.
  std::vector<std::string> invalid() const;

 private:
  struct Entry {
    Policy policy;
    std::string error;  // non-empty: the value did not parse
  };
  Entry Parse(const etcd::KeyValue& kv) const;
  std::optional<Change> Set(const StateKey& k, const etcd::KeyValue& kv);
  std::optional<Change> Erase(const StateKey& k, const std::string& key, int64_t rev);

  Keys keys_;
  std::string host_;
  int64_t revision_ = 0;
  std::map<std::string, etcd::KeyValue> raw_;
  std::optional<Entry> fleet_policy_;
  std::optional<Entry> host_policy_;
  std::map<std::string, Entry> domains_;  // by UUID
  std::map<std::string, int64_t> approvals_;
  std::map<std::string, std::string> invalid_;  // key -> why
};

}  // namespace hu::fleet
