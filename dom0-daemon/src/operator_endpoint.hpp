// The operator endpoint: a unix socket (mode 0660) by default; TCP only
// with mutual TLS, never in the clear.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hyperupcall/result.hpp"
#include "socket_claim.hpp"

namespace hu::daemon {

struct OperatorEndpointOptions {
  std::string unix_socket;   // empty: no unix socket
  std::string socket_group;  // group that may operate (socket 0660); empty: the daemon's
  std::string tcp_address;   // empty: no TCP
  std::string tls_cert, tls_key, tls_ca;
};

// Checks the combination of options before anything listens.
Status ValidateOperatorEndpoint(const OperatorEndpointOptions& o);

struct OperatorServer {
  std::unique_ptr<grpc::Server> server;
  OwnedSocket socket;  // the unix socket, removed at shutdown if still ours
};

// `listen_unix`, when given, takes the unix socket instead of gRPC's own
// listener (the daemon's Acceptor: it keeps accepting through a shortage
// of descriptors, and removes the socket itself); `prepare` is run on it
// before it appears at its path.
using UnixListen = std::function<Status(const std::string& path, grpc::Server* server,
                                        const PrepareSocket& prepare)>;

// Refuses a unix socket another process serves ("in use by pid N"); a
// stale one is replaced. With socket_group, the socket (0660) and its
// folder belong to that group. `more`: other services served beside the
// operator's (the fleet's).
Result<OperatorServer> StartOperatorServer(const OperatorEndpointOptions& o, grpc::Service* service,
                                           const std::vector<grpc::Service*>& more = {},
                                           const UnixListen& listen_unix = {});

}  // namespace hu::daemon
