// How hyperupcallctl reaches the daemon, and what it prints when a call fails.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "hyperupcall/operator_api/v1/operator.grpc.pb.h"

namespace hu::ctl {

namespace opv1 = hyperupcall::operator_api::v1;

struct Context {
  std::string socket = "/run/hyperupcall/operator.sock";
  std::string tcp;  // ADDR:PORT, with the three TLS files
  std::string tls_cert, tls_key, tls_ca;
  bool json = false;
  int timeout_s = 30;

  // Connects on first use; exits with a message when the options are bad.
  opv1::OperatorService::Stub& Stub();
  // A channel to another daemon's operator endpoint: "unix:PATH", or
  // ADDR:PORT with this context's TLS files (exits when they are missing).
  std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address) const;
  // A context with the call deadline set (none for streams).
  std::unique_ptr<grpc::ClientContext> Call(bool stream = false) const;

 private:
  std::unique_ptr<opv1::OperatorService::Stub> stub_;
};

// Exit codes, the same for every tool (README.md, "Exit codes").
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;      // the daemon answered no
inline constexpr int kExitUnreachable = 2;  // no answer from the daemon
inline constexpr int kExitUsage = 64;       // EX_USAGE: bad command line or input file

// Prints "hyperupcallctl: <CODE>: <message>" (or JSON) and returns
// kExitUnreachable when the daemon did not answer (UNAVAILABLE,
// DEADLINE_EXCEEDED), kExitRefused otherwise.
int Fail(const Context& ctx, const grpc::Status& st);
// Prints a usage-style error and returns kExitUsage.
int Usage(const std::string& msg);
const char* CodeName(grpc::StatusCode code);

}  // namespace hu::ctl
