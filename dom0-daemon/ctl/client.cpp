#include "client.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace hu::ctl {

namespace {

std::string ReadOrDie(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  if (in) ss << in.rdbuf();
  if (!in || ss.str().empty()) {
    fmt::print(stderr, "hyperupcallctl: cannot read {} file '{}'\n", what, path);
    std::exit(kExitUsage);
  }
  return ss.str();
}

}  // namespace

opv1::OperatorService::Stub& Context::Stub() {
  if (!stub_)
    stub_ = opv1::OperatorService::NewStub(ChannelTo(tcp.empty() ? "unix:" + socket : tcp));
  return *stub_;
}

std::shared_ptr<grpc::Channel> Context::ChannelTo(const std::string& address) const {
  if (address.rfind("unix:", 0) == 0) {
    return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  }
  if (tls_cert.empty() || tls_key.empty() || tls_ca.empty()) {
    fmt::print(stderr,
               "hyperupcallctl: {} is TCP: it needs --tls-cert, --tls-key and --tls-ca (the "
               "operator API is only served with mutual TLS)\n",
               address);
    std::exit(kExitUsage);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadOrDie(tls_ca, "TLS CA");
  ssl.pem_private_key = ReadOrDie(tls_key, "TLS key");
  ssl.pem_cert_chain = ReadOrDie(tls_cert, "TLS certificate");
  return grpc::CreateChannel(address, grpc::SslCredentials(ssl));
}

std::unique_ptr<grpc::ClientContext> Context::Call(bool stream) const {
  auto c = std::make_unique<grpc::ClientContext>();
  if (!stream) c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_s));
  return c;
}

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK:
      return "OK";
    case grpc::CANCELLED:
      return "CANCELLED";
    case grpc::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::ABORTED:
      return "ABORTED";
    case grpc::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::INTERNAL:
      return "INTERNAL";
    case grpc::UNAVAILABLE:
      return "UNAVAILABLE";
    default:
      return "UNKNOWN";
  }
}

int Fail(const Context& ctx, const grpc::Status& st) {
  std::string msg = st.error_message();
  if (st.error_code() == grpc::UNAVAILABLE) {
    msg += ctx.tcp.empty()
               ? fmt::format(" (is hyperupcalld running with --operator-socket {}?)", ctx.socket)
               : fmt::format(" (is hyperupcalld serving {}?)", ctx.tcp);
  }
  if (ctx.json) {
    nlohmann::json j = {{"error", {{"code", CodeName(st.error_code())}, {"message", msg}}}};
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print(stderr, "hyperupcallctl: {}: {}\n", CodeName(st.error_code()), msg);
  }
  const bool unreachable =
      st.error_code() == grpc::UNAVAILABLE || st.error_code() == grpc::DEADLINE_EXCEEDED;
  return unreachable ? kExitUnreachable : kExitRefused;
}

int Usage(const std::string& msg) {
  fmt::print(stderr, "hyperupcallctl: {}\n", msg);
  return kExitUsage;
}

}  // namespace hu::ctl
