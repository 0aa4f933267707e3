#include "guest_endpoints.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "text.hpp"

namespace hu::daemon {

namespace {

int64_t NowMonoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t NowMonoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A cheap method's request is a few bytes; a large one goes to the workers
// like any other.
constexpr size_t kCheapRequestMax = 256;

std::string Flatten(const grpc::ByteBuffer& bb) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!bb.Dump(&slices).ok()) return out;
  out.reserve(bb.Length());
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

}  // namespace

// One guest call, from its start to OnDone. Deleted when both gRPC (OnDone)
// and the sweeper (while it holds it) are done with it.
class GuestCall final : public grpc::ServerGenericBidiReactor {
 public:
  enum Phase { kStarting, kReading, kWorking, kReplying, kEnded };

  GuestCall(GuestEndpoints& ep, grpc::GenericCallbackServerContext* ctx) : ep_(ep), ctx_(ctx) {
    method_ = ctx->method();
    if (!GuestService::Known(method_)) {
      End(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                       fmt::format("unknown method '{}' (GuestService has "
                                   "RegisterProgram, UnregisterProgram, ListPrograms, "
                                   "ReadMap)",
                                   SafeText(method_, 128))));
      return;
    }
    auto domid = ep_.GuestOf(ctx->peer());
    if (domid) admission_ = ep_.Admission(*domid);
    if (!admission_) {
      End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                       "this connection is not a guest "
                       "channel that is open"));
      return;
    }
    if (auto no = admission_->Admit(NowMonoNs())) {
      admission_.reset();
      ep_.log_.Warn(fmt::format("refused-{}", *domid),
                    fmt::format("dom{}: {}", *domid, no->message));
      ctx->AddTrailingMetadata("hu-retry-after-ms", std::to_string(no->retry_after_ms));
      End(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, no->message));
      return;
    }
    deadline_ms_ = NowMonoMs() + ep_.limits_.request_timeout_ms;
    phase_ = kReading;
    ep_.Track(this);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    int expect = kReading;
    if (!phase_.compare_exchange_strong(expect, kWorking)) return;  // the sweeper ended it
    ep_.Untrack(this);
    if (!ok) {
      return End(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              "the call ended before its request message arrived"));
    }
    const uint32_t domid = admission_->domid();
    if (GuestService::Cheap(method_) && request_.Length() <= kCheapRequestMax) return Work(domid);
    ep_.queue_->Post(domid, [this, domid] { Work(domid); });
  }

  void Work(uint32_t domid) {
    const std::string bytes = Flatten(request_);
    request_.Clear();
    ep_.service_.Handle(domid, method_, bytes,
                        [this](const grpc::Status& st, std::string out) { Reply(st, out); });
  }

  // The sweeper: the request did not arrive in time, or the answer was
  // not read in time. True when it ended the call.
  void Expire() {
    int expect = kReading;
    if (phase_.compare_exchange_strong(expect, kEnded)) {
      Release();
      Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          fmt::format("the request did not arrive within {} ms of the call's "
                                      "start (the limit per request)",
                                      ep_.limits_.request_timeout_ms)));
      return;
    }
    if (phase_ == kReplying) ctx_->TryCancel();
  }

  void OnWriteDone(bool) override {}

  void OnDone() override {
    ep_.Untrack(this);
    Release();
    Unref();
  }

  int64_t deadline_ms() const { return deadline_ms_; }
  void Ref() { ++refs_; }
  void Unref() {
    if (--refs_ == 0) delete this;
  }

 private:
  // The call no longer counts against the guest's in flight: before its
  // answer leaves, so the stream the client opens the moment it has the
  // answer never finds its slot still taken.
  void Release() {
    if (admission_ && !released_.exchange(true)) admission_->Release();
  }
  // Answers: the response, or the error.
  void Reply(const grpc::Status& st, const std::string& out) {
    Release();
    if (!st.ok()) return End(st);
    grpc::Slice slice(out);
    response_ = grpc::ByteBuffer(&slice, 1);
    deadline_ms_ = NowMonoMs() + ep_.limits_.reply_timeout_ms;
    phase_ = kReplying;
    ep_.Track(this);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }
  void End(const grpc::Status& st) {
    Release();
    phase_ = kEnded;
    Finish(st);
  }

  GuestEndpoints& ep_;
  grpc::GenericCallbackServerContext* ctx_;
  std::string method_;
  std::shared_ptr<GuestAdmission> admission_;
  std::atomic<int> phase_{kStarting};
  std::atomic<int64_t> deadline_ms_{0};
  std::atomic<int> refs_{1};
  std::atomic<bool> released_{false};
  grpc::ByteBuffer request_, response_;
};

grpc::ServerGenericBidiReactor* GuestEndpoints::Generic::CreateReactor(
    grpc::GenericCallbackServerContext* ctx) {
  return new GuestCall(ep_, ctx);
}

GuestEndpoints::GuestEndpoints(Core& core, std::string dir, GuestLimits limits)
    : core_(core), dir_(std::move(dir)), limits_(limits), service_(core), generic_(*this) {
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  const size_t workers = limits_.workers ? limits_.workers : std::max(4u, 2 * cpus);
  queue_ = std::make_unique<FairQueue>(workers, std::max<size_t>(1, workers / 2));

  // The largest request: every instruction the backend (or, without a
  // limit, the wire) allows, and room for maps, regions and names.
  const BackendLimits& bl = core_.limits();
  const size_t insns = bl.max_insns ? std::min<size_t>(bl.max_insns, kMaxWireInsns) : kMaxWireInsns;
  const int max_message = static_cast<int>(insns * sizeof(hu_insn) + (1 << 20));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder b;
  b.RegisterCallbackGenericService(&generic_);
  b.SetMaxReceiveMessageSize(max_message);
  b.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                       static_cast<int>(limits_.streams_per_connection));
  b.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, static_cast<int>(limits_.idle_timeout_ms));
  server_ = b.BuildAndStart();
  if (!server_) throw std::runtime_error("guest gRPC server did not start");
  if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(true);
  acceptor_ = std::make_unique<Acceptor>();
  sweeper_ = std::thread([this] { Sweep(); });
}

std::string GuestEndpoints::SocketPath(uint32_t domid) const {
  return fmt::format("{}/{}.sock", dir_, domid);
}

std::optional<uint32_t> GuestEndpoints::GuestOf(const std::string& peer) {
  std::lock_guard lk(mu_);
  return acceptor_ ? acceptor_->GuestOf(peer) : std::nullopt;
}

std::optional<ucred> GuestEndpoints::OperatorPeer(const std::string& peer) {
  std::lock_guard lk(mu_);
  return acceptor_ ? acceptor_->OperatorPeer(peer) : std::nullopt;
}

std::shared_ptr<GuestAdmission> GuestEndpoints::Admission(uint32_t domid) {
  std::lock_guard lk(mu_);
  auto it = guests_.find(domid);
  return it == guests_.end() ? nullptr : it->second;
}

Status GuestEndpoints::Open(uint32_t domid) {
  {
    std::lock_guard lk(mu_);
    if (guests_.count(domid)) return Status::Ok();
    if (!acceptor_) return MakeError(ErrorCode::kUnavailable, "the guest server is stopping");
    guests_[domid] = std::make_shared<GuestAdmission>(domid, limits_);
  }
  const std::string path = SocketPath(domid);
  if (auto st = acceptor_->Listen(path, 0660, server_.get(), domid, limits_.max_connections); !st) {
    std::lock_guard lk(mu_);
    guests_.erase(domid);
    return st;
  }
  spdlog::info("dom{}: guest channel on {}", domid, path);
  return Status::Ok();
}

void GuestEndpoints::Close(uint32_t domid) {
  {
    std::lock_guard lk(mu_);
    if (!guests_.erase(domid) || !acceptor_) return;
  }
  acceptor_->Unlisten(SocketPath(domid));
  spdlog::info("dom{}: guest channel closed", domid);
}

size_t GuestEndpoints::Count() {
  std::lock_guard lk(mu_);
  return guests_.size();
}

Status GuestEndpoints::ListenOperator(const std::string& path, grpc::Server* server,
                                      const PrepareSocket& prepare) {
  if (auto st = acceptor_->Listen(path, 0660, server, std::nullopt, 0, prepare); !st) return st;
  std::lock_guard lk(mu_);
  operator_path_ = path;
  return Status::Ok();
}

void GuestEndpoints::CloseAll() {
  std::unique_ptr<Acceptor> acceptor;
  {
    std::lock_guard lk(mu_);
    if (!acceptor_) return;
    acceptor = std::move(acceptor_);  // no new connections from here on
    guests_.clear();
  }
  acceptor.reset();  // closes the listeners and ends the guests' connections
  // Calls in progress get their answers (the workers and the commit
  // thread still run); what is left after the grace period is cancelled.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  {
    std::lock_guard lk(track_mu_);
    stopping_ = true;
  }
  track_cv_.notify_all();
  sweeper_.join();
  queue_.reset();
}

void GuestEndpoints::Track(GuestCall* call) {
  std::lock_guard lk(track_mu_);
  tracked_.insert(call);
}

void GuestEndpoints::Untrack(GuestCall* call) {
  std::lock_guard lk(track_mu_);
  tracked_.erase(call);
}

void GuestEndpoints::Sweep() {
  std::unique_lock lk(track_mu_);
  while (!stopping_) {
    track_cv_.wait_for(lk, std::chrono::milliseconds(100));
    const int64_t now = NowMonoMs();
    std::vector<GuestCall*> expired;
    for (auto it = tracked_.begin(); it != tracked_.end();) {
      if ((*it)->deadline_ms() <= now) {
        (*it)->Ref();  // OnDone cannot delete it while the sweeper holds it
        expired.push_back(*it);
        it = tracked_.erase(it);
      } else {
        ++it;
      }
    }
    lk.unlock();
    for (GuestCall* c : expired) {
      c->Expire();
      c->Unref();
    }
    lk.lock();
  }
}

}  // namespace hu::daemon
