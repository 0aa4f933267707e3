#include "guest_endpoints.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace hu::daemon {

namespace {

// A guest gets a few threads and a bounded request size: one busy or
// hostile guest must not starve the others or the operator.
constexpr int kGuestMaxThreads = 4;
constexpr int kGuestMaxMessageBytes = 16 << 20;

}  // namespace

std::string GuestEndpoints::SocketPath(uint32_t domid) const {
  return fmt::format("{}/{}.sock", dir_, domid);
}

Status GuestEndpoints::Open(uint32_t domid) {
  std::lock_guard lk(mu_);
  if (endpoints_.count(domid)) return Status::Ok();
  const std::string path = SocketPath(domid);
  // A socket left by a daemon that was killed is replaced; one another
  // daemon serves is not.
  if (auto st = ClaimSocketPath(path, fmt::format("guest socket of domain {}", domid)); !st) {
    return st;
  }
  Endpoint ep;
  ep.service = std::make_unique<GuestService>(core_, domid);
  grpc::ServerBuilder b;
  const std::string bound = BindPath(path);
  ::unlink(bound.c_str());
  b.AddListeningPort("unix:" + bound, grpc::InsecureServerCredentials());
  b.RegisterService(ep.service.get());
  b.SetMaxReceiveMessageSize(kGuestMaxMessageBytes);
  grpc::ResourceQuota quota(fmt::format("guest-{}", domid));
  quota.SetMaxThreads(kGuestMaxThreads);
  b.SetResourceQuota(quota);
  ep.server = b.BuildAndStart();
  if (!ep.server) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("cannot listen on {} for domain {}", path, domid));
  }
  ::chmod(bound.c_str(), 0660);
  if (auto st = MoveIntoPlace(bound, path); !st) {
    ep.server->Shutdown();
    return st;
  }
  ep.socket = OwnedSocket::Mark(path);
  spdlog::info("dom{}: guest channel on {}", domid, path);
  endpoints_[domid] = std::move(ep);
  return Status::Ok();
}

void GuestEndpoints::Close(uint32_t domid) {
  Endpoint ep;
  {
    std::lock_guard lk(mu_);
    auto it = endpoints_.find(domid);
    if (it == endpoints_.end()) return;
    ep = std::move(it->second);
    endpoints_.erase(it);
  }
  ep.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  ep.socket.RemoveIfOurs();
  spdlog::info("dom{}: guest channel closed", domid);
}

size_t GuestEndpoints::Count() {
  std::lock_guard lk(mu_);
  return endpoints_.size();
}

void GuestEndpoints::CloseAll() {
  std::vector<uint32_t> ids;
  {
    std::lock_guard lk(mu_);
    for (const auto& [id, ep] : endpoints_) ids.push_back(id);
  }
  for (uint32_t id : ids) Close(id);
}

}  // namespace hu::daemon
