// The operator endpoint: a unix socket (mode 0660) by default; TCP only
// with mutual TLS, never in the clear.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "hyperupcall/result.hpp"

namespace hu::daemon {

struct OperatorEndpointOptions {
  std::string unix_socket;  // empty: no unix socket
  std::string tcp_address;  // empty: no TCP
  std::string tls_cert, tls_key, tls_ca;
};

// Checks the combination of options before anything listens.
Status ValidateOperatorEndpoint(const OperatorEndpointOptions& o);

Result<std::unique_ptr<grpc::Server>> StartOperatorServer(const OperatorEndpointOptions& o,
                                                          grpc::Service* service);

}  // namespace hu::daemon
