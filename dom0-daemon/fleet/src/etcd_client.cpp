#include "etcd_client.hpp"

#include <fmt/format.h>

namespace hu::etcd {

namespace pb = etcdserverpb;

namespace {

KeyValue FromProto(const mvccpb::KeyValue& kv) {
  return KeyValue{kv.key(),          kv.value(),   kv.create_revision(),
                  kv.mod_revision(), kv.version(), kv.lease()};
}

bool Unreachable(const grpc::Status& st) {
  return st.error_code() == grpc::StatusCode::UNAVAILABLE ||
         st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

ErrorCode CodeOf(const grpc::Status& st) {
  switch (st.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return ErrorCode::kInvalidArgument;
    case grpc::StatusCode::NOT_FOUND:
      return ErrorCode::kNotFound;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return ErrorCode::kFailedPrecondition;
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return ErrorCode::kPermissionDenied;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return ErrorCode::kResourceExhausted;
    case grpc::StatusCode::OUT_OF_RANGE:
      return ErrorCode::kOutOfRange;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

}  // namespace

Result<std::vector<std::string>> ParseEndpoints(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string e = list.substr(start, end - start);
    for (const char* scheme : {"http://", "https://"}) {
      if (e.rfind(scheme, 0) == 0) {
        if (std::string(scheme) == "https://") {
          return MakeError(ErrorCode::kInvalidArgument,
                           fmt::format("etcd endpoint '{}': TLS to etcd is not supported yet", e));
        }
        e = e.substr(std::string(scheme).size());
      }
    }
    while (!e.empty() && e.back() == '/') e.pop_back();
    const size_t colon = e.rfind(':');
    if (e.empty() || colon == std::string::npos || colon == 0 || colon + 1 == e.size() ||
        e.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("etcd endpoint '{}' is not HOST:PORT", e));
    }
    out.push_back(e);
    start = end + 1;
  }
  return out;
}

std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // etcd: every key from `key` on
}

Client::Client(ClientOptions o) : opts_(std::move(o)) {
  grpc::ChannelArguments args;
  // A member that stops answering (a hung process, a dead peer on another
  // machine) is noticed by pings, not only by the kernel.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Reconnect quickly once a member is back.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  for (const auto& e : opts_.endpoints) {
    Member m;
    m.endpoint = e;
    m.channel = grpc::CreateCustomChannel(e, grpc::InsecureChannelCredentials(), args);
    m.kv = pb::KV::NewStub(m.channel);
    m.lease = pb::Lease::NewStub(m.channel);
    m.watch = pb::Watch::NewStub(m.channel);
    members_.push_back(std::move(m));
  }
}

std::string Client::current_endpoint() const {
  return members_.empty() ? "" : members_[current_ % members_.size()].endpoint;
}

void Client::Rotate() {
  if (!members_.empty()) current_ = (current_ + 1) % members_.size();
}

pb::Watch::Stub& Client::WatchStub() { return *members_[current_ % members_.size()].watch; }

std::unique_ptr<grpc::ClientContext> Client::Context(bool deadline) const {
  auto c = std::make_unique<grpc::ClientContext>();
  c->AddMetadata("hasleader", "true");
  if (deadline) c->set_deadline(std::chrono::system_clock::now() + opts_.call_timeout);
  return c;
}

template <class F>
Status Client::Try(const char* what, F&& call) {
  if (members_.empty()) {
    return MakeError(ErrorCode::kFailedPrecondition, "no etcd endpoints configured");
  }
  std::string errors;
  const size_t first = current_ % members_.size();
  for (size_t i = 0; i < members_.size(); ++i) {
    const size_t idx = (first + i) % members_.size();
    Member& m = members_[idx];
    grpc::Status st = call(m);
    if (st.ok()) {
      current_ = idx;
      return Status::Ok();
    }
    if (!Unreachable(st)) {
      return MakeError(CodeOf(st),
                       fmt::format("etcd {} at {}: {}", what, m.endpoint, st.error_message()));
    }
    errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", m.endpoint, st.error_message());
  }
  return MakeError(ErrorCode::kUnavailable,
                   fmt::format("etcd {}: no member answered ({})", what, errors));
}

Result<std::optional<KeyValue>> Client::Get(const std::string& key) {
  pb::RangeRequest req;
  req.set_key(key);
  pb::RangeResponse resp;
  if (auto st = Try("get", [&](Member& m) { return m.kv->Range(Context().get(), req, &resp); });
      !st) {
    return st.error();
  }
  if (resp.kvs_size() == 0) return std::optional<KeyValue>();
  return std::optional<KeyValue>(FromProto(resp.kvs(0)));
}

Result<RangeResult> Client::GetPrefix(const std::string& prefix) {
  pb::RangeRequest req;
  req.set_key(prefix);
  req.set_range_end(PrefixEnd(prefix));
  pb::RangeResponse resp;
  if (auto st = Try("range", [&](Member& m) { return m.kv->Range(Context().get(), req, &resp); });
      !st) {
    return st.error();
  }
  RangeResult out;
  out.revision = resp.header().revision();
  for (const auto& kv : resp.kvs()) out.kvs.push_back(FromProto(kv));
  return out;
}

Result<int64_t> Client::Put(const std::string& key, const std::string& value, int64_t lease) {
  pb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  req.set_lease(lease);
  pb::PutResponse resp;
  if (auto st = Try("put", [&](Member& m) { return m.kv->Put(Context().get(), req, &resp); });
      !st) {
    return st.error();
  }
  return resp.header().revision();
}

namespace {

// If key's mod_revision is `expected`: `then`; else: read the key.
pb::TxnRequest CasTxn(const std::string& key, int64_t expected) {
  pb::TxnRequest txn;
  auto* cmp = txn.add_compare();
  cmp->set_key(key);
  cmp->set_target(pb::Compare::MOD);
  cmp->set_result(pb::Compare::EQUAL);
  // etcd compares an absent key as mod_revision 0.
  cmp->set_mod_revision(expected);
  txn.add_failure()->mutable_request_range()->set_key(key);
  return txn;
}

CasResult CasOutcome(const pb::TxnResponse& resp) {
  CasResult out;
  out.succeeded = resp.succeeded();
  out.revision = resp.header().revision();
  if (!out.succeeded && resp.responses_size() > 0) {
    const auto& r = resp.responses(0).response_range();
    if (r.kvs_size() > 0) out.actual = FromProto(r.kvs(0));
  }
  return out;
}

}  // namespace

Result<CasResult> Client::CompareAndPut(const std::string& key, const std::string& value,
                                        int64_t expected_mod_revision, int64_t lease) {
  pb::TxnRequest txn = CasTxn(key, expected_mod_revision);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  pb::TxnResponse resp;
  if (auto st = Try("txn", [&](Member& m) { return m.kv->Txn(Context().get(), txn, &resp); });
      !st) {
    return st.error();
  }
  return CasOutcome(resp);
}

Result<CasResult> Client::CompareAndDelete(const std::string& key, int64_t expected_mod_revision) {
  pb::TxnRequest txn = CasTxn(key, expected_mod_revision);
  txn.add_success()->mutable_request_delete_range()->set_key(key);
  pb::TxnResponse resp;
  if (auto st = Try("txn", [&](Member& m) { return m.kv->Txn(Context().get(), txn, &resp); });
      !st) {
    return st.error();
  }
  return CasOutcome(resp);
}

Result<int64_t> Client::LeaseGrant(int64_t ttl_s) {
  pb::LeaseGrantRequest req;
  req.set_ttl(ttl_s);
  pb::LeaseGrantResponse resp;
  if (auto st = Try("lease grant",
                    [&](Member& m) { return m.lease->LeaseGrant(Context().get(), req, &resp); });
      !st) {
    return st.error();
  }
  if (!resp.error().empty()) {
    return MakeError(ErrorCode::kUnavailable, "etcd lease grant: " + resp.error());
  }
  return resp.id();
}

Result<int64_t> Client::LeaseKeepAlive(int64_t id) {
  pb::LeaseKeepAliveResponse resp;
  auto st = Try("lease keepalive", [&](Member& m) {
    auto ctx = Context();
    auto stream = m.lease->LeaseKeepAlive(ctx.get());
    pb::LeaseKeepAliveRequest req;
    req.set_id(id);
    if (stream->Write(req)) stream->Read(&resp);
    stream->WritesDone();
    return stream->Finish();
  });
  if (!st) return st.error();
  return resp.ttl();
}

Status Client::LeaseRevoke(int64_t id) {
  pb::LeaseRevokeRequest req;
  req.set_id(id);
  pb::LeaseRevokeResponse resp;
  return Try("lease revoke",
             [&](Member& m) { return m.lease->LeaseRevoke(Context().get(), req, &resp); });
}

}  // namespace hu::etcd
