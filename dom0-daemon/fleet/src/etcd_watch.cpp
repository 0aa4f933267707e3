#include "etcd_watch.hpp"

#include <fmt/format.h>

namespace hu::etcd {

namespace pb = etcdserverpb;

Result<std::unique_ptr<Watch>> Watch::Open(Client& client, const std::string& prefix,
                                           int64_t start_revision) {
  std::string errors;
  for (size_t i = 0; i < client.endpoints().size(); ++i) {
    std::unique_ptr<Watch> w(new Watch());
    w->endpoint_ = client.current_endpoint();
    w->ctx_ = client.Context(false);
    w->stream_ = client.WatchStub().Watch(w->ctx_.get());
    pb::WatchRequest req;
    auto* c = req.mutable_create_request();
    c->set_key(prefix);
    c->set_range_end(PrefixEnd(prefix));
    c->set_start_revision(start_revision);
    c->set_progress_notify(true);
    pb::WatchResponse resp;
    // A stream on a dead member fails its first write or read at once; one
    // on a live member answers "created" (or, for a compacted revision,
    // created and then canceled, which Next reports).
    if (w->stream_->Write(req) && w->stream_->Read(&resp) && resp.created()) {
      return w;
    }
    w->ctx_->TryCancel();
    grpc::Status st = w->stream_->Finish();
    w->stream_.reset();  // finished: the destructor must not finish it again
    errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", w->endpoint_,
                          st.ok() ? "watch not created" : st.error_message());
    client.Rotate();
  }
  return MakeError(ErrorCode::kUnavailable,
                   fmt::format("etcd watch: no member answered ({})", errors));
}

Watch::~Watch() {
  if (stream_) {
    ctx_->TryCancel();
    (void)stream_->Finish();
  }
}

Result<WatchBatch> Watch::Next() {
  pb::WatchResponse resp;
  if (!stream_->Read(&resp)) {
    grpc::Status st = stream_->Finish();
    stream_.reset();
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("etcd watch on {} ended: {}", endpoint_,
                                 st.ok() ? "closed by the server" : st.error_message()));
  }
  WatchBatch b;
  b.revision = resp.header().revision();
  if (resp.canceled()) {
    if (resp.compact_revision() > 0) {
      b.compact_revision = resp.compact_revision();
      return b;
    }
    return MakeError(
        ErrorCode::kUnavailable,
        fmt::format("etcd watch on {} canceled: {}", endpoint_,
                    resp.cancel_reason().empty() ? "no reason given" : resp.cancel_reason()));
  }
  for (const auto& e : resp.events()) {
    WatchEvent we;
    we.deleted = e.type() == mvccpb::Event::DELETE;
    const auto& kv = e.kv();
    we.kv = KeyValue{kv.key(),          kv.value(),   kv.create_revision(),
                     kv.mod_revision(), kv.version(), kv.lease()};
    b.events.push_back(std::move(we));
  }
  // A catching-up watcher may get its backlog in several batches, each
  // stamped with the store's current revision: only the last event's
  // revision is surely complete. A batch without events is a progress
  // notification, sent to watchers that have everything up to it.
  if (!b.events.empty()) b.revision = b.events.back().kv.mod_revision;
  return b;
}

void Watch::Cancel() {
  if (ctx_) ctx_->TryCancel();
}

}  // namespace hu::etcd
