// What each guest method does with the bytes of a request: parse them
// (guest_wire: undecodable is INVALID_ARGUMENT, audited at a bounded
// rate), ask the core, and answer with the bytes of the response. Bound
// to nothing: the guest server passes the domid of the channel the call
// came in on, and that is the guest's whole identity.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>
#include <string_view>

#include "core.hpp"
#include "request_memo.hpp"

namespace hu::daemon {

class GuestService {
 public:
  explicit GuestService(Core& core) : core_(core) {}

  // The full gRPC method names of hyperupcall.guest.v1.GuestService.
  static bool Known(std::string_view method);
  // Methods whose work is small and bounded whatever the guest sends
  // (unload one program, list its own few): answered on the thread that
  // received them, without waiting for a worker.
  static bool Cheap(std::string_view method);

  // Answers once (possibly on another thread, after the commit).
  using Reply = std::function<void(const grpc::Status&, std::string response)>;
  void Handle(uint32_t domid, std::string_view method, std::string_view request, Reply reply);

 private:
  // Parses `request` into `msg`; on failure the guest hears why, the
  // refusal is audited (at a bounded rate), and false is returned.
  bool ParseOrRefuse(uint32_t domid, std::string_view request, google::protobuf::Message* msg,
                     const Reply& reply);
  void Register(uint32_t domid, std::string_view request, Reply reply);
  void Unregister(uint32_t domid, std::string_view request, Reply reply);
  void List(uint32_t domid, std::string_view request, Reply reply);
  void ReadMap(uint32_t domid, std::string_view request, Reply reply);
  // Its own programs' counters, and its own trace records.
  void Stats(uint32_t domid, std::string_view request, Reply reply);
  void Trace(uint32_t domid, std::string_view request, Reply reply);

  Core& core_;
  RequestMemo memo_;
};

}  // namespace hu::daemon
