#include "hyperupcall/guest/transport.hpp"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <sys/stat.h>

#include "hvc_bridge.hpp"

namespace hu::guest {
namespace {

// Short reconnect backoff: a restarted daemon is back within a second, and
// every call is bounded by the caller's deadline anyway.
grpc::ChannelArguments ChannelArgs() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

class UnixTransport : public Transport {
 public:
  explicit UnixTransport(std::string path)
      : path_(std::move(path)),
        channel_(grpc::CreateCustomChannel("unix:" + path_, grpc::InsecureChannelCredentials(),
                                           ChannelArgs())) {}
  std::shared_ptr<grpc::Channel> Channel() override { return channel_; }
  std::string Describe() const override { return "unix:" + path_; }
  std::string Diagnose() const override {
    struct stat st;
    if (::stat(path_.c_str(), &st) != 0)
      return "no socket at " + path_ + " (is hyperupcalld running?)";
    if (!S_ISSOCK(st.st_mode)) return path_ + " is not a socket";
    return "";
  }

 private:
  std::string path_;
  std::shared_ptr<grpc::Channel> channel_;
};

class HvcTransport : public Transport {
 public:
  explicit HvcTransport(std::string device) : device_(std::move(device)) {}
  std::shared_ptr<grpc::Channel> Channel() override {
    if (!bridge_ || !bridge_->alive()) {
      bridge_ = std::make_unique<HvcBridge>(device_);
      channel_ = bridge_->Connect(ChannelArgs());
    }
    return channel_;
  }
  void Reset() override {
    channel_.reset();
    bridge_.reset();
  }
  std::string Describe() const override { return "hvc:" + device_; }
  std::string Diagnose() const override { return bridge_ ? bridge_->LastError() : ""; }
  std::string Unusable() const override { return bridge_ ? bridge_->OpenError() : ""; }

 private:
  std::string device_;
  std::unique_ptr<HvcBridge> bridge_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace

Result<std::unique_ptr<Transport>> OpenTransport(std::string_view spec) {
  if (spec.starts_with("unix:") && spec.size() > 5) {
    return std::unique_ptr<Transport>(new UnixTransport(std::string(spec.substr(5))));
  }
  if (spec.starts_with("hvc:") && spec.size() > 4) {
    return std::unique_ptr<Transport>(new HvcTransport(std::string(spec.substr(4))));
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "--connect '" + std::string(spec) +
                       "': want unix:PATH (sim) or hvc:/dev/hvcN (Xen console channel)");
}

}  // namespace hu::guest
