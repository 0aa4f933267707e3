// One etcd watch over a key prefix from a given revision: the events as
// they come, progress notifications (so an idle watcher's revision still
// moves on), and compaction (the revision asked for is gone: the caller
// must read everything again).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "etcd_client.hpp"

namespace hu::etcd {

struct WatchEvent {
  bool deleted = false;  // DELETE (also a lease's key going with its lease)
  KeyValue kv;           // for a deletion: the key and its mod_revision
};

struct WatchBatch {
  std::vector<WatchEvent> events;
  int64_t revision = 0;          // the store's revision this batch brings the watcher to
  int64_t compact_revision = 0;  // > 0: start_revision was compacted away
};

class Watch {
 public:
  // Opens the stream on the client's current endpoint and waits for etcd
  // to confirm the watch; an error when no member answers.
  static Result<std::unique_ptr<Watch>> Open(Client& client, const std::string& prefix,
                                             int64_t start_revision);
  ~Watch();

  // Blocks for the next batch; an error when the stream ends (member gone,
  // Cancel called).
  Result<WatchBatch> Next();
  // From any thread: Next returns an error.
  void Cancel();

 private:
  Watch() = default;
  using Stream = grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>;
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<Stream> stream_;
  std::string endpoint_;
};

}  // namespace hu::etcd
