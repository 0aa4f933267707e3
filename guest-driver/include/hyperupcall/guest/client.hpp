// The guest's GuestService client: every call bounded by one deadline,
// waiting for the daemon to be reachable (wait_for_ready) and, for calls
// that are safe to repeat, retrying when the connection breaks mid-call
// (the daemon restarted). Every call, registrations included, is retried
// after the pause the daemon advises when it refused the call for a
// guest limit (in flight, rate) before doing anything with it. Errors keep
// gRPC's code so the tool can tell a
// refusal (the daemon said no) from a transport failure (never got an
// answer).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "hyperupcall/guest/transport.hpp"
#include "hyperupcall/guest/v1/guest.grpc.pb.h"
#include "hyperupcall/result.hpp"

namespace hu::guest {

namespace gv1 = ::hyperupcall::guest::v1;

struct CallError {
  bool transport = false;  // no answer from the daemon
  int grpc_code = 0;       // grpc::StatusCode
  std::string message;     // one line for people
};

template <class T>
struct CallResult {
  bool ok() const { return !error; }
  T value;
  std::unique_ptr<CallError> error;
};

class GuestClient {
 public:
  GuestClient(std::unique_ptr<Transport> transport, std::chrono::milliseconds timeout)
      : transport_(std::move(transport)), timeout_(timeout) {}

  // Not retried after the request may have reached the daemon: a second
  // attempt could register the program twice.
  CallResult<gv1::RegisterProgramResponse> Register(const gv1::RegisterProgramRequest& req);
  CallResult<gv1::UnregisterProgramResponse> Unregister(const gv1::UnregisterProgramRequest& req);
  CallResult<gv1::ListProgramsResponse> List(const gv1::ListProgramsRequest& req);
  CallResult<gv1::ReadMapResponse> ReadMap(const gv1::ReadMapRequest& req);
  CallResult<gv1::GuestStatsResponse> Stats(const gv1::GuestStatsRequest& req);
  CallResult<gv1::ReadTraceResponse> ReadTrace(const gv1::ReadTraceRequest& req);

 private:
  template <class Req, class Resp, class Fn>
  CallResult<Resp> Call(const char* what, const Req& req, bool idempotent, Fn fn);

  std::unique_ptr<Transport> transport_;
  std::chrono::milliseconds timeout_;
};

}  // namespace hu::guest
