// The operator endpoint: a unix socket (mode 0660) by default; TCP only
// with mutual TLS, never in the clear.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "hyperupcall/result.hpp"

namespace hu::daemon {

struct OperatorEndpointOptions {
  std::string unix_socket;  // empty: no unix socket
  std::string tcp_address;  // empty: no TCP
  std::string tls_cert, tls_key, tls_ca;
};

// Checks the combination of options before anything listens.
Status ValidateOperatorEndpoint(const OperatorEndpointOptions& o);

// `more`: other services served beside the operator's (the fleet's).
Result<std::unique_ptr<grpc::Server>> StartOperatorServer(
    const OperatorEndpointOptions& o, grpc::Service* service,
    const std::vector<grpc::Service*>& more = {});

}  // namespace hu::daemon
