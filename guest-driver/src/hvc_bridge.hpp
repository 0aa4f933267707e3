// The guest end of a console channel: opens /dev/hvcN, hands gRPC one end
// of a socketpair and runs a ConsoleBridge between the other end and the
// console.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "hyperupcall/channel/console_bridge.hpp"

namespace hu::guest {

using channel::BridgeRole;
using channel::ConsoleBridge;

class HvcBridge {
 public:
  explicit HvcBridge(std::string device) : device_(std::move(device)) {}
  // A channel over the console; a dead channel (calls fail UNAVAILABLE)
  // when the device cannot be opened, with the reason in LastError().
  std::shared_ptr<grpc::Channel> Connect(const grpc::ChannelArguments& args);
  bool alive() const { return bridge_ && bridge_->alive(); }
  std::string LastError() const;
  const std::string& OpenError() const { return open_error_; }

 private:
  std::string device_;
  std::string open_error_;
  std::unique_ptr<ConsoleBridge> bridge_;
};

}  // namespace hu::guest
