// The byte stream to dom0 that gRPC runs over.
//   unix:PATH      sim: the daemon's socket for this guest (DIR/<domid>.sock);
//                  the socket itself is the guest's identity.
//   hvc:/dev/hvcN  Xen: a PV console channel, bridged to a local socketpair
//                  (see hvc_bridge.hpp).
#pragma once

#include <grpcpp/channel.h>

#include <memory>
#include <string>
#include <string_view>

#include "hyperupcall/result.hpp"

namespace hu::guest {

class Transport {
 public:
  virtual ~Transport() = default;
  // The channel to use now.
  virtual std::shared_ptr<grpc::Channel> Channel() = 0;
  // A call failed because the connection broke. A unix channel reconnects
  // by itself (gRPC's backoff); a bridged one is rebuilt on the next
  // Channel().
  virtual void Reset() {}
  // "unix:/run/hyperupcall/guests/1.sock", for messages.
  virtual std::string Describe() const = 0;
  // Why the daemon might be unreachable, from what the guest can see
  // (e.g. "no socket at PATH"); "" when nothing is known.
  virtual std::string Diagnose() const { return ""; }
  // Set when the transport cannot work at all (e.g. the console device
  // does not open): the client gives up at once instead of waiting.
  virtual std::string Unusable() const { return ""; }
};

Result<std::unique_ptr<Transport>> OpenTransport(std::string_view spec);

}  // namespace hu::guest
