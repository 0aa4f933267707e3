#include "hvc_bridge.hpp"

#include <fcntl.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/create_channel_posix.h>
#include <grpcpp/security/credentials.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hu::guest {

std::shared_ptr<grpc::Channel> HvcBridge::Connect(const grpc::ChannelArguments& args) {
  int tty = ::open(device_.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  int sv[2] = {-1, -1};
  if (tty < 0 || !ConsoleBridge::MakeRaw(tty) ||
      ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    open_error_ = "cannot open console " + device_ + ": " + std::strerror(errno);
    if (tty >= 0) ::close(tty);
    // A channel that goes nowhere; the client sees Unusable() first and
    // reports open_error_ without calling.
    return grpc::CreateCustomChannel("unix:/nonexistent/hyperupcall-console",
                                     grpc::InsecureChannelCredentials(), args);
  }
  bridge_ = std::make_unique<ConsoleBridge>(BridgeRole::kGuest, tty, sv[1]);
  bridge_->Start();
  return grpc::CreateCustomInsecureChannelFromFd("hvc:" + device_, sv[0], args);
}

std::string HvcBridge::LastError() const {
  if (!open_error_.empty()) return open_error_;
  if (!bridge_) return "";
  if (!bridge_->connected()) {
    return "no answer from dom0 on " + device_ + " (is hyperupcalld serving this channel?)";
  }
  return bridge_->LastError();
}

}  // namespace hu::guest
