#include "hyperupcall/channel/console_bridge.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace hu::channel {
namespace {

constexpr int kHelloPeriodMs = 200;

void SetNonBlocking(int fd) {
  if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Removes whole copies of `token` from the front of a direction's first
// bytes; gives up (and passes everything) at the first byte that cannot
// begin a token.
class TokenStripper {
 public:
  explicit TokenStripper(std::string_view token) : token_(token) {}
  // Returns the bytes to forward.
  std::string Feed(std::string_view in) {
    if (!stripping_) return std::string(in);
    pending_.append(in);
    while (true) {
      if (pending_.size() >= token_.size() && pending_.compare(0, token_.size(), token_) == 0) {
        pending_.erase(0, token_.size());
        continue;
      }
      if (token_.substr(0, pending_.size()) == pending_) return {};  // maybe a token: wait
      stripping_ = false;
      std::string out;
      out.swap(pending_);
      return out;
    }
  }

 private:
  std::string_view token_;
  std::string pending_;
  bool stripping_ = true;
};

}  // namespace

ConsoleBridge::ConsoleBridge(BridgeRole role, int tty_fd, int sock_fd)
    : role_(role), tty_(tty_fd), sock_(sock_fd) {
  SetNonBlocking(tty_);
  SetNonBlocking(sock_);
  if (::pipe2(wake_, O_CLOEXEC) != 0) {
    wake_[0] = wake_[1] = -1;
    Fail(std::string("pipe: ") + std::strerror(errno));
  }
}

ConsoleBridge::~ConsoleBridge() {
  if (wake_[1] >= 0) {
    char c = 0;
    [[maybe_unused]] ssize_t n = ::write(wake_[1], &c, 1);
  }
  if (thread_.joinable()) thread_.join();
  for (int fd : {tty_, sock_, wake_[0], wake_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

void ConsoleBridge::Start(std::function<void()> on_stop, std::function<void()> on_connected) {
  on_stop_ = std::move(on_stop);
  on_connected_ = std::move(on_connected);
  if (!alive_) return;
  thread_ = std::thread([this] {
    Run();
    // Stopped by the destructor: the owner knows already.
    if (alive_) return;
    if (on_stop_) on_stop_();
  });
}

std::string ConsoleBridge::LastError() const {
  std::lock_guard lk(mu_);
  return error_;
}

void ConsoleBridge::Fail(const std::string& why) {
  {
    std::lock_guard lk(mu_);
    if (error_.empty()) error_ = why;
  }
  alive_ = false;
}

ConsoleBridge::WriteResult ConsoleBridge::WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    // send() on the socket: with MSG_NOSIGNAL a peer that closed (gRPC
    // dropping the connection, a server shutting down) is EPIPE, not a
    // SIGPIPE that kills the whole process.
    ssize_t w = fd == sock_ ? ::send(fd, p, n, MSG_NOSIGNAL) : ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      // Both descriptors are non-blocking so that a peer that stops
      // reading cannot hold this thread where the destructor's wake-up
      // does not reach it.
      pollfd pfd[2] = {{fd, POLLOUT, 0}, {wake_[0], POLLIN, 0}};
      if (::poll(pfd, 2, -1) < 0 && errno != EINTR) return WriteResult::kFailed;
      if (pfd[1].revents) return WriteResult::kStopped;
      continue;
    }
    if (w <= 0) return WriteResult::kFailed;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return WriteResult::kDone;
}

bool ConsoleBridge::MakeRaw(int fd) {
  termios t;
  if (!::isatty(fd)) return true;
  if (::tcgetattr(fd, &t) != 0) return false;
  ::cfmakeraw(&t);
  return ::tcsetattr(fd, TCSANOW, &t) == 0;
}

void ConsoleBridge::Run() {
  const bool guest = role_ == BridgeRole::kGuest;
  const std::string_view want = guest ? kConsoleReady : kConsoleHello;
  std::string handshake_buf;  // tty bytes read before the handshake ended
  TokenStripper from_tty(want);
  char buf[16384];
  // false: stop now (Fail() recorded why, or the destructor asked).
  auto to_tty = [&](const char* p, size_t n) {
    switch (WriteAll(tty_, p, n)) {
      case WriteResult::kDone:
        return true;
      case WriteResult::kFailed:
        Fail(std::string("console write: ") + std::strerror(errno));
        return false;
      case WriteResult::kStopped:
        return false;
    }
    return false;
  };
  auto to_sock = [&](const std::string& out) {
    switch (WriteAll(sock_, out.data(), out.size())) {
      case WriteResult::kDone:
        return true;
      case WriteResult::kFailed:
        Fail("local socket closed");
        return false;
      case WriteResult::kStopped:
        return false;
    }
    return false;
  };

  if (guest && !to_tty(kConsoleHello.data(), kConsoleHello.size())) return;
  while (alive_) {
    pollfd fds[3] = {{tty_, POLLIN, 0}, {sock_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    // The socket is read only once the stream runs: until then its bytes
    // would be lost on the console.
    if (!connected_) fds[1].fd = -1;
    int r = ::poll(fds, 3, connected_ ? -1 : kHelloPeriodMs);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Fail(std::string("poll: ") + std::strerror(errno));
    if (fds[2].revents) return;  // asked to stop
    if (r == 0) {
      if (guest && !to_tty(kConsoleHello.data(), kConsoleHello.size())) return;
      continue;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t got = ::read(tty_, buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0)
        return Fail(got == 0 ? "console closed"
                             : std::string("console read: ") + std::strerror(errno));
      std::string_view data(buf, static_cast<size_t>(got));
      if (!connected_) {
        handshake_buf.append(data);
        size_t at = handshake_buf.find(want);
        if (at == std::string::npos) {
          // Keep only what could still be the start of a token.
          if (handshake_buf.size() > want.size()) {
            handshake_buf.erase(0, handshake_buf.size() - want.size());
          }
          continue;
        }
        if (!guest && !to_tty(kConsoleReady.data(), kConsoleReady.size())) return;
        connected_ = true;
        if (on_connected_) on_connected_();
        data = std::string_view(handshake_buf).substr(at + want.size());
        std::string out = from_tty.Feed(data);
        handshake_buf.clear();
        if (!to_sock(out)) return;
        continue;
      }
      if (!to_sock(from_tty.Feed(data))) return;
    }
    if (connected_ && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t got = ::read(sock_, buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) return Fail("local socket closed");
      if (!to_tty(buf, static_cast<size_t>(got))) return;
    }
  }
}

ConsoleHost::ConsoleHost(int tty_fd, std::function<void(int fd)> attach)
    : tty_(tty_fd), attach_(std::move(attach)) {}

ConsoleHost::~ConsoleHost() {
  Stop();
  if (tty_ >= 0) ::close(tty_);
}

void ConsoleHost::Stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // No session starts after the join; the last one's thread may still call
  // its on_stop (which takes mu_), so it is destroyed outside the lock.
  std::unique_ptr<ConsoleBridge> last;
  {
    std::lock_guard lk(mu_);
    last = std::move(bridge_);
  }
  last.reset();
  std::lock_guard lk(mu_);
  CloseUnattached();
}

void ConsoleHost::CloseUnattached() {
  if (unattached_ >= 0) ::close(unattached_);
  unattached_ = -1;
}

void ConsoleHost::Start() {
  if (!NewSession()) return;
  thread_ = std::thread([this] { Supervise(); });
}

int ConsoleHost::sessions() const {
  std::lock_guard lk(mu_);
  return sessions_;
}

bool ConsoleHost::NewSession() {
  // Each bridge owns (and closes) its descriptors, so it gets its own
  // duplicate of the console.
  int tty = ::fcntl(tty_, F_DUPFD_CLOEXEC, 0);
  int sv[2];
  if (tty < 0 || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    if (tty >= 0) ::close(tty);
    return false;
  }
  ::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  auto bridge = std::make_unique<ConsoleBridge>(BridgeRole::kHost, tty, sv[1]);
  ConsoleBridge* started = bridge.get();
  {
    // Recorded before it starts, so an instant failure finds it here.
    std::lock_guard lk(mu_);
    bridge_ = std::move(bridge);
    unattached_ = sv[0];
    ++sessions_;
  }
  started->Start(
      [this] {
        {
          std::lock_guard lk(mu_);
          session_ended_ = true;
        }
        cv_.notify_all();
      },
      [this] {
        int fd;
        {
          std::lock_guard lk(mu_);
          fd = std::exchange(unattached_, -1);
        }
        if (fd >= 0) attach_(fd);
      });
  return true;
}

void ConsoleHost::Supervise() {
  std::unique_lock lk(mu_);
  while (true) {
    cv_.wait(lk, [this] { return stop_ || session_ended_; });
    if (stop_) return;
    session_ended_ = false;
    // The ended bridge's thread is past its callback or about to be: it is
    // joined here, off that thread.
    std::unique_ptr<ConsoleBridge> old = std::move(bridge_);
    lk.unlock();
    old.reset();
    lk.lock();
    CloseUnattached();  // a session that ended before its hello
    // Stop() may have come while the old bridge was joined: attaching a new
    // socket to a server that is shutting down is what Stop() prevents.
    if (stop_) return;
    lk.unlock();
    const bool ok = NewSession();
    lk.lock();
    if (!ok) return;
  }
}

}  // namespace hu::channel
