// One domU's guest channel carried to hyperupcalld: the dom0 end of the
// domain's xl.cfg `channel=` entry (a unix socket the channel backend,
// qemu, listens on) joined to the daemon's socket for that domain. The
// handshake is the channel framing's ConsoleHost (channel/); each guest session gets its own
// connection to the daemon's socket. The domain's identity is which relay
// the bytes came through, i.e. the socket path dom0's toolstack chose, never
// a claim of the guest.
//
// Used by hu-xen-channel (one relay, the process lives as long as it) and
// by hyperupcalld --backend xen (one relay per domain, in a thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace hu::xen {

class ChannelRelay {
 public:
  using Log = std::function<void(const std::string&)>;

  // channel: the dom0 end of the channel; daemon_socket: the daemon's
  // socket for `domid` (--guest-socket-dir/<domid>.sock).
  ChannelRelay(std::string channel, uint32_t domid, std::string daemon_socket, Log log);
  ~ChannelRelay();
  ChannelRelay(const ChannelRelay&) = delete;
  ChannelRelay& operator=(const ChannelRelay&) = delete;

  // Starts the relay's thread: it waits up to wait_s seconds for the
  // channel socket (it appears when the domain's qemu starts), then
  // relays until the channel closes or Stop().
  void Start(int wait_s);
  // Ends the relay (its sessions end with it) and joins its thread.
  void Stop();
  // True once the relay has ended by itself: channel closed or never came.
  bool finished() const { return finished_; }
  // 0 while running or stopped; 1 if the channel could not be reached.
  int exit_code() const { return exit_code_; }

 private:
  void Run(int wait_s);

  const std::string channel_;
  const uint32_t domid_;
  const std::string daemon_socket_;
  Log log_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  std::atomic<int> exit_code_{0};
  std::thread thread_;
};

}  // namespace hu::xen
