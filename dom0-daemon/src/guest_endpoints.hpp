// One gRPC server per guest channel. Under sim a channel is the unix
// socket DIR/<domid>.sock; the server's GuestService is bound to that
// domid, so which socket a request came in on is who sent it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core.hpp"
#include "guest_service.hpp"
#include "socket_claim.hpp"

namespace hu::daemon {

class GuestEndpoints {
 public:
  GuestEndpoints(Core& core, std::string dir) : core_(core), dir_(std::move(dir)) {}
  ~GuestEndpoints() { CloseAll(); }

  Status Open(uint32_t domid);
  void Close(uint32_t domid);
  void CloseAll();
  // Guest channels served now.
  size_t Count();
  std::string SocketPath(uint32_t domid) const;

 private:
  struct Endpoint {
    std::unique_ptr<GuestService> service;
    std::unique_ptr<grpc::Server> server;
    OwnedSocket socket;
  };
  Core& core_;
  const std::string dir_;
  std::mutex mu_;
  std::map<uint32_t, Endpoint> endpoints_;
};

}  // namespace hu::daemon
