// The guest channels: one listening socket per domain (under sim the unix
// socket DIR/<domid>.sock; under Xen the backend's relay connects there),
// all served by one gRPC server with the callback API, so a thousand
// channels cost a thousand sockets, not a thousand servers and their
// threads. The Acceptor takes each connection and remembers which socket
// it came in on: that is the caller's identity, never a field it sends.
//
// A call goes through, in order:
//  1. admission, when it starts and before its request is read: the
//     guest's in-flight and rate limits (GuestAdmission), refused with
//     RESOURCE_EXHAUSTED naming the limit;
//  2. its request, which must arrive within request_timeout_ms
//     (DEADLINE_EXCEEDED otherwise: a slow stream holds nothing for long);
//  3. the guest's turn on the workers (FairQueue), where GuestService
//     parses the bytes and asks the core;
//  4. the answer, once the core's decision is committed, which the guest
//     must read within reply_timeout_ms (cancelled otherwise).
#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "acceptor.hpp"
#include "core.hpp"
#include "fair_queue.hpp"
#include "guest_limits.hpp"
#include "guest_service.hpp"
#include "log_gate.hpp"

namespace hu::daemon {

class GuestCall;

class GuestEndpoints {
 public:
  GuestEndpoints(Core& core, std::string dir, GuestLimits limits = {});
  ~GuestEndpoints() { CloseAll(); }

  // Opens domid's channel (idempotent).
  Status Open(uint32_t domid);
  // Closes domid's channel and ends its connections.
  void Close(uint32_t domid);
  // Stops everything: no new connections, calls in progress answered.
  void CloseAll();
  // Guest channels served now.
  size_t Count();
  std::string SocketPath(uint32_t domid) const;

  // The operator's unix socket goes through the same acceptor, so no
  // shortage of descriptors can stop it from accepting either.
  Status ListenOperator(const std::string& path, grpc::Server* server,
                        const PrepareSocket& prepare = {});

  // The domain whose channel a connection came in on (Acceptor::GuestOf),
  // and its admission counters; nothing once stopping.
  std::optional<uint32_t> GuestOf(const std::string& peer);
  // The credentials of an operator connection (Acceptor::OperatorPeer).
  std::optional<ucred> OperatorPeer(const std::string& peer);
  std::shared_ptr<GuestAdmission> Admission(uint32_t domid);

 private:
  friend class GuestCall;
  class Generic : public grpc::CallbackGenericService {
   public:
    explicit Generic(GuestEndpoints& ep) : ep_(ep) {}
    grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override;

   private:
    GuestEndpoints& ep_;
  };

  // Deadlines of calls waiting for their request or for the guest to read
  // the answer.
  void Track(GuestCall* call);
  void Untrack(GuestCall* call);
  void Sweep();

  Core& core_;
  const std::string dir_;
  const GuestLimits limits_;
  GuestService service_;
  Generic generic_;
  LogGate log_;
  std::unique_ptr<FairQueue> queue_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Acceptor> acceptor_;

  std::mutex mu_;
  std::map<uint32_t, std::shared_ptr<GuestAdmission>> guests_;
  std::string operator_path_;

  std::mutex track_mu_;
  std::condition_variable track_cv_;
  std::set<GuestCall*> tracked_;
  bool stopping_ = false;
  std::thread sweeper_;
};

}  // namespace hu::daemon
