#include "channel_relay.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "hyperupcall/channel/console_bridge.hpp"

namespace hu::xen {
namespace {

int ConnectUnix(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// The channel socket appears when the domain's channel backend starts, the
// daemon's when hyperupcalld has seen the domain: both are waited for, in
// 100 ms steps so that `stop` is noticed.
int ConnectWithRetry(const std::string& path, int seconds, const std::atomic<bool>* stop) {
  for (int i = 0; i < seconds * 10; i++) {
    if (stop && *stop) {
      errno = ECANCELED;
      return -1;
    }
    int fd = ConnectUnix(path);
    if (fd >= 0) return fd;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ConnectUnix(path);
}

bool CopySome(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof(buf));
  if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::send(to, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{to, POLLOUT, 0};
        ::poll(&p, 1, 1000);
        continue;
      }
      return false;
    }
    off += w;
  }
  return true;
}

// One guest session: the bridge's socket <-> the daemon's. When either
// side closes, both are closed; the bridge closing its end (relay stopped,
// channel gone) ends the session too, so a detached splice never outlives
// its session.
void Splice(int session, const std::string& daemon_socket, const ChannelRelay::Log& log) {
  int daemon = ConnectWithRetry(daemon_socket, 30, nullptr);
  if (daemon < 0) {
    log("connect " + daemon_socket + ": " + std::strerror(errno));
    ::close(session);
    return;
  }
  log("guest session joined to " + daemon_socket);
  while (true) {
    pollfd p[2] = {{session, POLLIN, 0}, {daemon, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !CopySome(session, daemon)) break;
    if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) && !CopySome(daemon, session)) break;
  }
  ::close(daemon);
  ::close(session);
}

}  // namespace

ChannelRelay::ChannelRelay(std::string channel, uint32_t domid, std::string daemon_socket, Log log)
    : channel_(std::move(channel)),
      domid_(domid),
      daemon_socket_(std::move(daemon_socket)),
      log_(std::move(log)) {}

ChannelRelay::~ChannelRelay() { Stop(); }

void ChannelRelay::Start(int wait_s) {
  thread_ = std::thread([this, wait_s] { Run(wait_s); });
}

void ChannelRelay::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ChannelRelay::Run(int wait_s) {
  int ch = ConnectWithRetry(channel_, wait_s, &stop_);
  if (ch < 0) {
    if (!stop_) {
      log_("connect " + channel_ + ": " + std::strerror(errno));
      exit_code_ = 1;
    }
    finished_ = true;
    return;
  }
  log_("domain " + std::to_string(domid_) + " on " + channel_);
  // Watches the channel for its close (the domain went away); the host
  // owns ch.
  int probe = ::fcntl(ch, F_DUPFD_CLOEXEC, 0);
  {
    const std::string daemon_socket = daemon_socket_;
    Log log = log_;
    channel::ConsoleHost host(ch, [daemon_socket, log](int fd) {
      // ConsoleHost hands over a non-blocking socket (for gRPC); the splice
      // polls, so it works either way.
      std::thread(Splice, fd, daemon_socket, log).detach();
    });
    host.Start();
    while (!stop_) {
      pollfd p{probe, POLLRDHUP, 0};
      if (::poll(&p, 1, 200) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
        log_("domain " + std::to_string(domid_) + " channel closed");
        break;
      }
    }
    host.Stop();
  }
  ::close(probe);
  finished_ = true;
}

}  // namespace hu::xen
