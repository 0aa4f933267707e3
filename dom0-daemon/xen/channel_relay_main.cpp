// hu-xen-channel: carries one domU's guest channel to hyperupcalld.
//
// The dom0 end of an xl.cfg `channel=` entry with connection=socket is a
// unix socket that the channel backend (qemu) listens on, one per domain,
// at a path the operator's config chose. This connects to it, runs the
// host side of the console handshake (guest-driver's ConsoleHost), and
// joins each guest session to the daemon's socket for that domain
// (--guest-socket-dir/<domid>.sock), whose GuestService is bound to the
// domid. So the domain's identity is the channel it came in on, never a
// claim of the guest.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "hyperupcall/guest/console_bridge.hpp"

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
// daemon's when hyperupcalld has seen the domain: both are waited for.
int ConnectWithRetry(const std::string& path, int seconds) {
  for (int i = 0; i < seconds * 10; i++) {
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
    ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
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
// side closes, both are closed, which ends the bridge's session too.
void Splice(int session, const std::string& daemon_socket) {
  int daemon = ConnectWithRetry(daemon_socket, 30);
  if (daemon < 0) {
    std::fprintf(stderr, "hu-xen-channel: connect %s: %s\n", daemon_socket.c_str(),
                 std::strerror(errno));
    ::close(session);
    return;
  }
  std::fprintf(stderr, "hu-xen-channel: guest session joined to %s\n", daemon_socket.c_str());
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

int main(int argc, char** argv) {
  CLI::App app{"hu-xen-channel: joins a domU's Xen channel to hyperupcalld"};
  std::string channel;
  std::string guest_dir = "/run/hyperupcall/guests";
  uint32_t domid = 0;
  int wait_s = 60;
  app.add_option("--channel", channel, "dom0 end of the domain's xl.cfg channel (unix socket)")
      ->required();
  app.add_option("--domid", domid, "the domain that channel belongs to")->required();
  app.add_option("--guest-socket-dir", guest_dir, "hyperupcalld's --guest-socket-dir");
  app.add_option("--wait", wait_s, "seconds to wait for the channel socket");
  CLI11_PARSE(app, argc, argv);
  ::signal(SIGPIPE, SIG_IGN);

  int ch = ConnectWithRetry(channel, wait_s);
  if (ch < 0) {
    std::fprintf(stderr, "hu-xen-channel: connect %s: %s\n", channel.c_str(), std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "hu-xen-channel: domain %u on %s\n", domid, channel.c_str());
  const std::string daemon_socket = guest_dir + "/" + std::to_string(domid) + ".sock";
  hu::guest::ConsoleHost host(ch, [&](int fd) {
    // ConsoleHost hands over a non-blocking socket (for gRPC); the splice
    // polls, so it works either way.
    std::thread(Splice, fd, daemon_socket).detach();
  });
  host.Start();
  // The channel closes when the domain goes away; then so does the relay.
  int probe = ::fcntl(ch, F_DUPFD_CLOEXEC, 0);
  while (true) {
    pollfd p{probe, POLLRDHUP, 0};
    if (::poll(&p, 1, 1000) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) break;
  }
  std::fprintf(stderr, "hu-xen-channel: domain %u channel closed\n", domid);
  ::close(probe);
  std::_Exit(0);
}
