// Who is on the other end of an operator call, for the audit log: the
// peer's uid (SO_PEERCRED) over the unix socket, the certificate subject
// over mutual TLS.
//
// gRPC does not report a unix peer's credentials: the daemon's Acceptor
// takes the operator socket's connections, reads each one's SO_PEERCRED
// when it accepts it and hands the connection to the server, which names
// its peer "fd:N"; the lookup below finds the credentials by that name.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/socket.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hu::daemon {

// The credentials of an operator connection by gRPC's peer name
// (Acceptor::OperatorPeer); nullopt when it is not known.
using OperatorPeerLookup = std::function<std::optional<ucred>(std::string_view peer)>;

// "uid:0(root) pid:812" over the unix socket, "tls:CN=ops,O=example" over
// mutual TLS, else the peer gRPC names ("unknown:<peer>").
std::string OperatorIdentity(const grpc::ServerContext& ctx, const OperatorPeerLookup& peers);

}  // namespace hu::daemon
