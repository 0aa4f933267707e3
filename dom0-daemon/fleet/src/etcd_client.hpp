// A small client of etcd's v3 API over gRPC: what the fleet needs and no
// more (ranges, puts, compare-and-swap transactions, leases, watches).
//
// Endpoints are tried in turn: a call that finds its member unreachable
// (UNAVAILABLE, DEADLINE_EXCEEDED) moves on to the next one, so one member
// of a cluster going away costs a retry, not an error. Every request
// carries etcd's "hasleader" metadata, so a member cut off from the
// cluster's leader refuses instead of answering from stale state.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "hyperupcall/result.hpp"

namespace hu::etcd {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct RangeResult {
  std::vector<KeyValue> kvs;
  int64_t revision = 0;  // the store's revision the answer is from
};

// A compare-and-swap: applied only when the key's mod_revision is still
// `expected` (0: the key must not exist).
struct CasResult {
  bool succeeded = false;
  int64_t revision = 0;            // the new revision when it succeeded
  std::optional<KeyValue> actual;  // the key as it is, when it did not
};

struct ClientOptions {
  std::vector<std::string> endpoints;  // host:port, etcd's client URLs without scheme
  std::chrono::milliseconds call_timeout{2000};
};

// "a:1,b:2" or "http://a:1,http://b:2" -> {"a:1", "b:2"}; an error names
// the bad entry.
Result<std::vector<std::string>> ParseEndpoints(const std::string& list);

// The end of the key range holding every key that starts with `prefix`.
std::string PrefixEnd(const std::string& prefix);

class Client {
 public:
  explicit Client(ClientOptions o);

  const std::vector<std::string>& endpoints() const { return opts_.endpoints; }
  // The endpoint the next call starts with (the last one that answered).
  std::string current_endpoint() const;

  Result<std::optional<KeyValue>> Get(const std::string& key);
  Result<RangeResult> GetPrefix(const std::string& prefix);
  Result<int64_t> Put(const std::string& key, const std::string& value, int64_t lease = 0);
  Result<CasResult> CompareAndPut(const std::string& key, const std::string& value,
                                  int64_t expected_mod_revision, int64_t lease = 0);
  Result<CasResult> CompareAndDelete(const std::string& key, int64_t expected_mod_revision);

  // Leases: granted with a TTL, kept alive by the holder; keys put with a
  // lease go when it expires. KeepAlive answers the TTL left (0: expired).
  Result<int64_t> LeaseGrant(int64_t ttl_s);
  Result<int64_t> LeaseKeepAlive(int64_t id);
  Status LeaseRevoke(int64_t id);

  // A Watch stream's stub on the current endpoint, and moving on to the
  // next one after a failure (EtcdWatch uses these).
  etcdserverpb::Watch::Stub& WatchStub();
  void Rotate();
  // A context carrying "hasleader" and, when deadline is set, the call timeout.
  std::unique_ptr<grpc::ClientContext> Context(bool deadline = true) const;

 private:
  struct Member {
    std::string endpoint;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch;
  };
  // Runs `call` on each member in turn from the current one until one
  // answers (anything but UNAVAILABLE / DEADLINE_EXCEEDED).
  template <class F>
  Status Try(const char* what, F&& call);

  ClientOptions opts_;
  std::vector<Member> members_;
  std::atomic<size_t> current_{0};
};

}  // namespace hu::etcd
