// Carries a gRPC byte stream over a console channel (a Xen PV console,
// /dev/hvcN in the guest; a pty in tests) by pumping bytes between the tty
// and a local socket that gRPC uses.
//
// A console drops what is written before the other end opens it, so the
// stream starts with a handshake: the guest side writes kHello every
// 200 ms until it reads kReady; the host side answers the first kHello it
// sees (the guest has the console open by then, so kReady is not lost).
// Copies of the tokens that were still in
// flight are stripped from the start of each direction. After that the
// bridge is a transparent pipe. On the host, give gRPC the other end of
// the socketpair with grpc::AddInsecureChannelFromFd after setting it
// O_NONBLOCK (gRPC's server side does not, and stalls on a blocking fd); when either side closes,
// it stops and alive() turns false, and the owner builds a new one (new handshake).
// The bridge makes its own two descriptors non-blocking and writes to the
// socket with MSG_NOSIGNAL: a peer that stops reading cannot keep the
// destructor from stopping it, and one that closes is an error, not SIGPIPE.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace hu::channel {

inline constexpr std::string_view kConsoleHello = "HUHELLO1\n";
inline constexpr std::string_view kConsoleReady = "HUREADY1\n";

enum class BridgeRole { kGuest, kHost };

class ConsoleBridge {
 public:
  // Takes ownership of both descriptors. The tty should be in raw mode
  // (MakeRaw below).
  ConsoleBridge(BridgeRole role, int tty_fd, int sock_fd);
  ~ConsoleBridge();
  ConsoleBridge(const ConsoleBridge&) = delete;
  ConsoleBridge& operator=(const ConsoleBridge&) = delete;

  // `on_stop` runs on the bridge's thread when it stops by itself;
  // `on_connected` runs on it when the handshake ends, before any byte
  // goes to the socket.
  void Start(std::function<void()> on_stop = {}, std::function<void()> on_connected = {});
  bool alive() const { return alive_; }
  bool connected() const { return connected_; }
  std::string LastError() const;

  // cfmakeraw on a tty; does nothing to other descriptors.
  static bool MakeRaw(int fd);

 private:
  enum class WriteResult { kDone, kFailed, kStopped };

  void Run();
  void Fail(const std::string& why);
  // Writes all of p, waiting (interruptibly, via wake_) while fd is full.
  WriteResult WriteAll(int fd, const char* p, size_t n);

  const BridgeRole role_;
  int tty_;
  int sock_;
  int wake_[2] = {-1, -1};  // a pipe that ends Run()
  std::atomic<bool> alive_{true};
  std::atomic<bool> connected_{false};
  mutable std::mutex mu_;
  std::string error_;
  std::function<void()> on_stop_;
  std::function<void()> on_connected_;
  std::thread thread_;
};

// The host end of one guest's console, for the daemon: runs one bridge per
// guest session, back to back. Each session's local socket (non-blocking)
// goes to `attach`, typically grpc::AddInsecureChannelFromFd(server, fd),
// when the session's hello arrives and not before: a connection the
// server held while no guest was there is one it may have closed as idle
// (gRPC's GRPC_ARG_MAX_CONNECTION_IDLE_MS), and its GOAWAY, waiting in the
// socket, would be the first thing the guest's new stream got.
// A session ends when gRPC closes its socket (the guest went away; a new
// guest's hello is not HTTP/2, so the server drops the old connection) or
// the console fails; the next session then waits for the next hello.
class ConsoleHost {
 public:
  // Takes ownership of tty_fd.
  ConsoleHost(int tty_fd, std::function<void(int fd)> attach);
  ~ConsoleHost();
  ConsoleHost(const ConsoleHost&) = delete;
  ConsoleHost& operator=(const ConsoleHost&) = delete;

  void Start();
  // Ends the current session and starts no more; the destructor does it
  // too. Call it before shutting down the gRPC server that `attach` feeds:
  // a session that ends because the server closed its socket would
  // otherwise attach a new socket to a server that is going away.
  void Stop();
  // Sessions started so far.
  int sessions() const;

 private:
  void Supervise();
  bool NewSession();
  void CloseUnattached();  // with mu_ held

  int tty_;
  std::function<void(int)> attach_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool session_ended_ = false;
  bool stop_ = false;
  int sessions_ = 0;
  int unattached_ = -1;  // the session's socket until its hello, then attach_'s
  std::unique_ptr<ConsoleBridge> bridge_;
  std::thread thread_;
};

}  // namespace hu::channel
