#include "operator_endpoint.hpp"

#include <fmt/format.h>
#include <grp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

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

Result<gid_t> GroupId(const std::string& name) {
  std::vector<char> buf(16384);
  group g{};
  group* found = nullptr;
  int rc = ::getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &found);
  if (rc != 0 || !found) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--operator-socket-group {}: no such group{}", name,
                                 rc ? std::string(": ") + std::strerror(rc) : ""));
  }
  return found->gr_gid;
}

// The socket and its folder (which the daemon made 0750) go to the group,
// so its members can reach the socket; others still cannot. A shared
// sticky folder (/tmp) is left alone.
Status GiveToGroup(const std::string& socket, gid_t gid) {
  for (const std::string& p : {socket, std::filesystem::path(socket).parent_path().string()}) {
    struct stat st {};
    if (p.empty() || ::stat(p.c_str(), &st) != 0 || (st.st_mode & S_ISVTX)) continue;
    if (::chown(p.c_str(), static_cast<uid_t>(-1), gid) != 0) {
      return MakeError(ErrorCode::kPermissionDenied,
                       fmt::format("cannot give {} to group {}: {}", p, gid, std::strerror(errno)));
    }
  }
  return Status::Ok();
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

Result<OperatorServer> StartOperatorServer(const OperatorEndpointOptions& o, grpc::Service* service,
                                           const std::vector<grpc::Service*>& more,
                                           const UnixListen& listen_unix) {
  if (auto st = ValidateOperatorEndpoint(o); !st) return st.error();
  gid_t gid = static_cast<gid_t>(-1);
  if (!o.socket_group.empty()) {
    auto g = GroupId(o.socket_group);
    if (!g) return g.error();
    gid = *g;
  }
  grpc::ServerBuilder b;
  const std::string bound = BindPath(o.unix_socket);
  if (!o.unix_socket.empty() && !listen_unix) {
    if (auto st = ClaimSocketPath(o.unix_socket, "operator socket"); !st) return st.error();
    ::unlink(bound.c_str());
    b.AddListeningPort("unix:" + bound, grpc::InsecureServerCredentials());
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
  OperatorServer out{std::move(server), {}};
  // Who may operate is decided by the socket's group; both are set before
  // the socket appears at its path.
  auto give_to_group = [&o, gid](const std::string& at) {
    return o.socket_group.empty() ? Status::Ok() : GiveToGroup(at, gid);
  };
  if (!o.unix_socket.empty() && listen_unix) {
    if (auto st = listen_unix(o.unix_socket, out.server.get(), give_to_group); !st) {
      out.server->Shutdown();
      return st.error();
    }
  } else if (!o.unix_socket.empty()) {
    ::chmod(bound.c_str(), 0660);
    Status st = give_to_group(bound);
    if (st) st = MoveIntoPlace(bound, o.unix_socket);
    if (!st) {
      out.server->Shutdown();
      ::unlink(bound.c_str());
      return st.error();
    }
    out.socket = OwnedSocket::Mark(o.unix_socket);
  }
  if (!o.unix_socket.empty()) {
    spdlog::info("operator API on unix:{} (mode 0660{})", o.unix_socket,
                 o.socket_group.empty() ? "" : ", group " + o.socket_group);
  }
  if (!o.tcp_address.empty()) spdlog::info("operator API on {} (mutual TLS)", o.tcp_address);
  return out;
}

}  // namespace hu::daemon
