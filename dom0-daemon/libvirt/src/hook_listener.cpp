// Serves the hook script's socket. One connection carries one line and one
// reply; connections are served one at a time (libvirt runs hooks one at a
// time per domain), each bounded by a read deadline so a stuck client can
// not hold the daemon.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "hyperupcall/daemon/libvirt_hook.hpp"

namespace hu::daemon {
namespace {

constexpr int kReadTimeoutMs = 2000;

Error Sys(const std::string& what) {
  return MakeError(ErrorCode::kUnavailable, what + ": " + std::strerror(errno));
}

Result<sockaddr_un> Address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(a.sun_path))
    return MakeError(ErrorCode::kInvalidArgument,
                     "libvirt hook socket path '" + path + "' is empty or longer than " +
                         std::to_string(sizeof(a.sun_path) - 1) + " bytes");
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

// Reads up to the first newline; nullopt-like empty error on timeout/EOF.
Result<std::string> ReadLine(int fd) {
  std::string buf;
  char chunk[4096];
  while (buf.find('\n') == std::string::npos) {
    if (buf.size() > kLibvirtHookMaxLine)
      return MakeError(ErrorCode::kInvalidArgument, "libvirt hook message: line too long");
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, kReadTimeoutMs);
    if (r == 0) return MakeError(ErrorCode::kAborted, "libvirt hook message: read timed out");
    if (r < 0) {
      if (errno == EINTR) continue;
      return Sys("libvirt hook socket poll");
    }
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, size_t(n));
  }
  size_t nl = buf.find('\n');
  if (nl == std::string::npos)
    return MakeError(ErrorCode::kInvalidArgument, "libvirt hook message: no newline");
  return buf.substr(0, nl);
}

void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the script gave up waiting; nothing to do
    off += size_t(n);
  }
}

std::string OneLine(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

struct LibvirtHookListener::Impl {
  std::string path;
  Handler handler;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::thread thread;

  ~Impl() {
    if (thread.joinable()) {
      char b = 1;
      (void)!write(wake[1], &b, 1);
      thread.join();
    }
    if (listen_fd >= 0) {
      close(listen_fd);
      unlink(path.c_str());
    }
    for (int fd : wake)
      if (fd >= 0) close(fd);
  }

  void Serve(int fd) {
    auto line = ReadLine(fd);
    std::string reply;
    if (!line) {
      reply = "error " + line.error().message;
    } else if (auto m = ParseLibvirtHookLine(*line); !m) {
      reply = "error " + m.error().message;
    } else {
      Status s = handler(*m);
      reply = s ? "ok" : "error " + s.error().message;
    }
    WriteAll(fd, OneLine(reply) + "\n");
  }

  void Run() {
    for (;;) {
      pollfd p[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
      if (poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (p[1].revents) return;
      if (!(p[0].revents & POLLIN)) continue;
      int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      Serve(fd);
      close(fd);
    }
  }
};

LibvirtHookListener::LibvirtHookListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LibvirtHookListener::~LibvirtHookListener() = default;
const std::string& LibvirtHookListener::path() const { return impl_->path; }

Result<std::unique_ptr<LibvirtHookListener>> LibvirtHookListener::Listen(const std::string& path,
                                                                         Handler handler) {
  auto addr = Address(path);
  if (!addr) return addr.error();
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return MakeError(ErrorCode::kAlreadyExists,
                       "libvirt hook socket path '" + path + "' exists and is not a socket");
    // A socket someone still accepts on belongs to a running daemon.
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live =
        probe >= 0 && connect(probe, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) == 0;
    if (probe >= 0) close(probe);
    if (live)
      return MakeError(ErrorCode::kAlreadyExists,
                       "libvirt hook socket '" + path + "' is in use by another process");
    unlink(path.c_str());
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->handler = std::move(handler);
  if (pipe2(impl->wake, O_CLOEXEC) < 0) return Sys("pipe");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Sys("socket");
  // Only root (libvirtd runs hooks as root) may talk to us.
  mode_t old = umask(0177);
  int r = bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  umask(old);
  if (r < 0) {
    Error e = Sys("libvirt hook socket bind '" + path + "'");
    close(fd);
    return e;
  }
  impl->listen_fd = fd;
  if (listen(fd, 16) < 0) return Sys("libvirt hook socket listen '" + path + "'");
  impl->thread = std::thread([p = impl.get()] { p->Run(); });
  return std::unique_ptr<LibvirtHookListener>(new LibvirtHookListener(std::move(impl)));
}

}  // namespace hu::daemon
