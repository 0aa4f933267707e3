#include "toolstack_server.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "domctl_abi.h"
#include "stream_peer.hpp"

namespace hu::xen {
namespace {

constexpr int kIoTimeoutMs = 30'000;
constexpr size_t kMaxLine = 256;

bool WaitFor(int fd, short events) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, kIoTimeoutMs);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

bool ReadExactly(int fd, uint8_t* buf, size_t n) {
  while (n) {
    if (!WaitFor(fd, POLLIN)) return false;
    ssize_t r = ::read(fd, buf, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// A line without its newline; false when longer than kMaxLine or cut off.
bool ReadLine(int fd, std::string& line) {
  line.clear();
  char c;
  while (line.size() <= kMaxLine) {
    if (!ReadExactly(fd, reinterpret_cast<uint8_t*>(&c), 1)) return false;
    if (c == '\n') return true;
    line.push_back(c);
  }
  return false;
}

void WriteAll(int fd, const std::string& s) {
  const char* p = s.data();
  size_t n = s.size();
  while (n) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Answers go back on one line: newlines in a reason would end it early.
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

bool ParseU32(const std::string& s, uint32_t& out) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos)
    return false;
  unsigned long v = std::stoul(s);
  if (v > UINT32_MAX) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

Result<std::unique_ptr<ToolstackServer>> ToolstackServer::Listen(const std::string& path,
                                                                 ToolstackHandlers handlers) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) {
    return MakeError(ErrorCode::kInvalidArgument, "toolstack socket path too long: " + path);
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  std::error_code ec;
  if (auto dir = std::filesystem::path(path).parent_path(); !dir.empty()) {
    std::filesystem::create_directories(dir, ec);
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return MakeError(ErrorCode::kInternal, std::string("socket: ") + strerror(errno));
  ::unlink(path.c_str());
  // Created 0600 (umask for the bind), so no other user can ever connect.
  mode_t old = ::umask(0177);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  ::umask(old);
  if (rc || ::listen(fd, 8)) {
    std::string err = strerror(errno);
    ::close(fd);
    return MakeError(ErrorCode::kUnavailable, "toolstack socket " + path + ": " + err);
  }
  std::unique_ptr<ToolstackServer> s(new ToolstackServer(fd, path, std::move(handlers)));
  s->thread_ = std::thread([p = s.get()] { p->Serve(); });
  return s;
}

ToolstackServer::~ToolstackServer() {
  stop_ = true;
  ::shutdown(fd_, SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
  ::unlink(path_.c_str());
}

void ToolstackServer::Serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    ServeOne(conn);
    ::close(conn);
  }
}

void ToolstackServer::ServeOne(int conn) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.uid != 0) {
    spdlog::warn("toolstack socket: refused a connection from uid {}", cred.uid);
    WriteAll(conn, "REFUSED only root may talk to hyperupcalld's toolstack socket\n");
    return;
  }
  std::string line;
  if (!ReadLine(conn, line)) {
    WriteAll(conn, "REFUSED no request line\n");
    return;
  }
  auto answer = Handle(line, cred.pid, [conn](std::vector<uint8_t>& buf, size_t n) {
    buf.resize(n);
    return ReadExactly(conn, buf.data(), n);
  });
  WriteAll(conn, OneLine(answer) + "\n");
}

std::string ToolstackServer::Handle(
    const std::string& line, pid_t peer,
    const std::function<bool(std::vector<uint8_t>&, size_t)>& read_payload) {
  std::istringstream in(line);
  std::string magic, version, what, a, b, extra;
  in >> magic >> version >> what >> a >> b >> extra;
  uint32_t domid = 0, n = 0;
  if (magic != "HYPERUPCALL" || version != "1" || !ParseU32(a, domid) || !extra.empty()) {
    return "REFUSED unknown request '" + line.substr(0, 80) + "'";
  }
  if (what == "SAVE" && ParseU32(b, n)) {
    auto dest = DescribeStreamPeer(peer, static_cast<int>(n));
    spdlog::info("dom{}: its programs leave with a stream to {}", domid, dest);
    if (h_.leaving) h_.leaving(domid, dest);
    return "OK";
  }
  if (what == "RESUME" && b.empty()) {
    if (h_.stayed) h_.stayed(domid);
    return "OK";
  }
  if (what == "RESTORE" && ParseU32(b, n)) {
    if (n > HU_XEN_STATE_MAX) {
      return fmt::format("REFUSED {} bytes of program state, more than Xen loads ({})", n,
                         HU_XEN_STATE_MAX);
    }
    std::vector<uint8_t> state;
    if (!read_payload(state, n)) return "REFUSED the program state was cut short";
    if (!h_.restore) return "REFUSED this daemon's backend cannot restore programs";
    auto r = h_.restore(domid, state);
    if (!r) return "REFUSED " + r.error().message;
    return fmt::format("OK {}", *r);
  }
  return "REFUSED unknown request '" + line.substr(0, 80) + "'";
}

}  // namespace hu::xen
