#include "operator_endpoint.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace hu::daemon {

namespace {

Result<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("cannot read {} file {}: {}", what, path, std::strerror(errno)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().empty()) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("{} file {} is empty", what, path));
  }
  return ss.str();
}

}  // namespace

Status ValidateOperatorEndpoint(const OperatorEndpointOptions& o) {
  if (o.unix_socket.empty() && o.tcp_address.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "no operator endpoint: give --operator-socket or --operator-tcp");
  }
  bool any_tls = !o.tls_cert.empty() || !o.tls_key.empty() || !o.tls_ca.empty();
  bool all_tls = !o.tls_cert.empty() && !o.tls_key.empty() && !o.tls_ca.empty();
  if (!o.tcp_address.empty() && !all_tls) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--operator-tcp needs mutual TLS: give --tls-cert, --tls-key and --tls-ca "
                     "(the operator API is never served over plain TCP)");
  }
  if (any_tls && o.tcp_address.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "--tls-* options need --operator-tcp");
  }
  return Status::Ok();
}

Result<std::unique_ptr<grpc::Server>> StartOperatorServer(const OperatorEndpointOptions& o,
                                                          grpc::Service* service,
                                                          const std::vector<grpc::Service*>& more) {
  if (auto st = ValidateOperatorEndpoint(o); !st) return st.error();
  grpc::ServerBuilder b;
  if (!o.unix_socket.empty()) {
    if (::unlink(o.unix_socket.c_str()) != 0 && errno != ENOENT) {
      return MakeError(ErrorCode::kUnavailable, fmt::format("cannot remove stale socket {}: {}",
                                                            o.unix_socket, std::strerror(errno)));
    }
    b.AddListeningPort("unix:" + o.unix_socket, grpc::InsecureServerCredentials());
  }
  if (!o.tcp_address.empty()) {
    auto cert = ReadFile(o.tls_cert, "TLS certificate");
    if (!cert) return cert.error();
    auto key = ReadFile(o.tls_key, "TLS key");
    if (!key) return key.error();
    auto ca = ReadFile(o.tls_ca, "TLS CA");
    if (!ca) return ca.error();
    grpc::SslServerCredentialsOptions ssl(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = *ca;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    b.AddListeningPort(o.tcp_address, grpc::SslServerCredentials(ssl));
  }
  b.RegisterService(service);
  for (auto* m : more) b.RegisterService(m);
  auto server = b.BuildAndStart();
  if (!server) {
    return MakeError(
        ErrorCode::kUnavailable,
        fmt::format("cannot listen on the operator endpoint ({}{}{})", o.unix_socket,
                    o.unix_socket.empty() || o.tcp_address.empty() ? "" : ", ", o.tcp_address));
  }
  if (!o.unix_socket.empty()) {
    // Who may operate is decided by the socket's group.
    ::chmod(o.unix_socket.c_str(), 0660);
    spdlog::info("operator API on unix:{} (mode 0660)", o.unix_socket);
  }
  if (!o.tcp_address.empty()) spdlog::info("operator API on {} (mutual TLS)", o.tcp_address);
  return server;
}

}  // namespace hu::daemon
