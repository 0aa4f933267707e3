#include "acceptor.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <grpcpp/server_posix.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "program.hpp"

namespace hu::daemon {

namespace {

constexpr uint64_t kWakeKey = 0;
// Connections taken from one listener per wake-up, so one busy socket
// cannot keep the others waiting.
constexpr int kAcceptsPerWake = 64;
constexpr int64_t kPauseMs = 100;

int OpenSpare() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

}  // namespace

Acceptor::Acceptor(size_t reserve) : reserve_(reserve) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rlimit up = rl;
      up.rlim_cur = rl.rlim_max;
      if (::setrlimit(RLIMIT_NOFILE, &up) == 0) rl = up;
    }
    fd_limit_ = rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : static_cast<size_t>(rl.rlim_cur);
  }
  reserve_ = std::min(reserve_, fd_limit_ / 4);
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  spare_ = OpenSpare();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeKey;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
  spdlog::info("descriptors: limit {}, {} reserved from guests", fd_limit_, reserve_);
  thread_ = std::thread([this] { Loop(); });
}

Acceptor::~Acceptor() {
  stop_ = true;
  uint64_t one = 1;
  (void)!::write(wake_, &one, sizeof one);
  thread_.join();
  std::vector<std::string> paths;
  {
    std::lock_guard lk(mu_);
    for (auto& [key, l] : listeners_) paths.push_back(l.path);
  }
  for (auto& p : paths) Unlisten(p);
  ::close(epoll_);
  ::close(wake_);
  if (spare_ >= 0) ::close(spare_);
}

size_t Acceptor::GuestBudget() {
  std::lock_guard lk(mu_);
  return GuestBudgetLocked();
}

size_t Acceptor::GuestBudgetLocked() const {
  const size_t fixed = reserve_ + listeners_.size();
  return fd_limit_ > fixed ? fd_limit_ - fixed : 0;
}

Status Acceptor::Listen(const std::string& path, int mode, grpc::Server* server,
                        std::optional<uint32_t> guest, uint32_t max_connections,
                        const PrepareSocket& prepare) {
  const std::string bound = BindPath(path);
  sockaddr_un addr{};
  if (bound.size() >= sizeof addr.sun_path) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("socket path {} is too long: bound first as {} ({} bytes), at most {}", path,
                    bound, bound.size(), sizeof addr.sun_path - 1));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, bound.c_str(), bound.size() + 1);
  const std::string what =
      guest ? fmt::format("guest socket of domain {}", *guest) : std::string("operator socket");
  if (auto st = ClaimSocketPath(path, what); !st) return st;
  ::unlink(bound.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("socket for {}: {}", path, std::strerror(errno)));
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::chmod(bound.c_str(), static_cast<mode_t>(mode)) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(bound.c_str());
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("cannot listen on {}: {}", path, std::strerror(err)));
  }
  Status st = prepare ? prepare(bound) : Status::Ok();
  if (st) st = MoveIntoPlace(bound, path);
  if (!st) {
    ::close(fd);
    ::unlink(bound.c_str());
    return st;
  }
  std::lock_guard lk(mu_);
  const uint64_t key = next_key_++;
  Listener& l = listeners_[key];
  l.fd = fd;
  l.path = path;
  l.socket = OwnedSocket::Mark(path);
  l.server = server;
  l.guest = guest;
  l.max_connections = max_connections;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = key;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
  return Status::Ok();
}

void Acceptor::Unlisten(const std::string& path) {
  std::lock_guard lk(mu_);
  for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
    if (it->second.path != path) continue;
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, it->second.fd, nullptr);
    ::close(it->second.fd);
    it->second.socket.RemoveIfOurs();
    if (auto g = it->second.guest) {
      // Its guest's connections end with its channel: gRPC sees them close.
      auto conns = guest_conns_.find(*g);
      if (conns != guest_conns_.end()) {
        for (const Conn& c : conns->second) {
          if (StillOpen(c)) ::shutdown(c.fd, SHUT_RDWR);
        }
        guest_conn_total_ -= conns->second.size();
        guest_conns_.erase(conns);
      }
    }
    listeners_.erase(it);
    return;
  }
}

bool Acceptor::StillOpen(const Conn& c) {
  struct stat st;
  return ::fstat(c.fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == c.ino;
}

void Acceptor::PruneLocked(std::vector<Conn>& conns) {
  const size_t before = conns.size();
  std::erase_if(conns, [&](const Conn& c) {
    if (StillOpen(c)) return false;
    auto it = by_fd_.find(c.fd);
    if (it != by_fd_.end() && it->second.second == c.ino) by_fd_.erase(it);
    return true;
  });
  guest_conn_total_ -= before - conns.size();
}

namespace {

// N of gRPC's "fd:N" peer; -1 for any other peer.
int PeerFd(std::string_view peer) {
  if (!peer.starts_with("fd:")) return -1;
  int fd = -1;
  auto r = std::from_chars(peer.data() + 3, peer.data() + peer.size(), fd);
  if (r.ec != std::errc() || r.ptr != peer.data() + peer.size()) return -1;
  return fd;
}

}  // namespace

std::optional<uint32_t> Acceptor::GuestOf(std::string_view peer) {
  const int fd = PeerFd(peer);
  std::lock_guard lk(mu_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return std::nullopt;
  return it->second.first;
}

std::optional<ucred> Acceptor::OperatorPeer(std::string_view peer) {
  const int fd = PeerFd(peer);
  std::lock_guard lk(mu_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end() || it->second.first) return std::nullopt;  // a guest's
  auto cr = operator_creds_.find(fd);
  if (cr == operator_creds_.end()) return std::nullopt;
  return cr->second;
}

size_t Acceptor::Connections(uint32_t domid) {
  std::lock_guard lk(mu_);
  auto it = guest_conns_.find(domid);
  if (it == guest_conns_.end()) return 0;
  PruneLocked(it->second);
  return it->second.size();
}

AcceptorCounters Acceptor::Counters() {
  std::lock_guard lk(mu_);
  return counters_;
}

grpc::Server* Acceptor::Admit(Listener& l, int fd) {
  if (l.guest) {
    const uint32_t domid = *l.guest;
    auto& conns = guest_conns_[domid];
    if (l.max_connections && conns.size() >= l.max_connections) PruneLocked(conns);
    if (l.max_connections && conns.size() >= l.max_connections) {
      ::close(fd);
      ++counters_.refused_guest_limit;
      log_.Warn(fmt::format("conn-limit-{}", domid),
                fmt::format("dom{}: connection refused: {} open, the limit per guest "
                            "(--guest-max-connections)",
                            domid, conns.size()));
      return nullptr;
    }
    if (guest_conn_total_ >= GuestBudgetLocked()) {
      for (auto& [d, c] : guest_conns_) PruneLocked(c);
    }
    if (guest_conn_total_ >= GuestBudgetLocked()) {
      ::close(fd);
      ++counters_.refused_budget;
      log_.Warn("conn-budget",
                fmt::format("dom{}: connection refused: guests hold {} connections, all the "
                            "descriptors they may have (limit {}, {} kept for the daemon)",
                            domid, guest_conn_total_, fd_limit_, reserve_));
      return nullptr;
    }
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return nullptr;
  }
  if (!l.guest) {
    // Every operator decision names who took it: nobody operates anonymously.
    ucred cr{};
    socklen_t len = sizeof(cr);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
      log_.Warn("peercred",
                fmt::format("operator socket: no peer credentials: {}", std::strerror(errno)));
      ::close(fd);
      return nullptr;
    }
    operator_creds_[fd] = cr;
  } else {
    operator_creds_.erase(fd);
  }
  if (l.guest) {
    guest_conns_[*l.guest].push_back(Conn{fd, st.st_ino});
    ++guest_conn_total_;
  }
  by_fd_[fd] = {l.guest, st.st_ino};
  ++counters_.accepted;
  return l.server;
}

void Acceptor::Shed(int lfd) {
  // Out of descriptors: the spare one makes room to take the waiting
  // connection off the queue and close it, so the listener keeps turning.
  if (spare_ >= 0) {
    ::close(spare_);
    spare_ = -1;
  }
  int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) ::close(fd);
  spare_ = OpenSpare();
  ++counters_.shed_no_descriptor;
  log_.Warn("emfile", "out of file descriptors: a connection was closed unserved");
}

void Acceptor::AcceptSome(uint64_t key) {
  std::vector<std::pair<int, grpc::Server*>> admitted;
  {
    std::lock_guard lk(mu_);
    auto it = listeners_.find(key);
    if (it == listeners_.end()) return;
    Listener& l = it->second;
    for (int i = 0; i < kAcceptsPerWake; ++i) {
      int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE) {
          Shed(l.fd);
          continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          // ENOBUFS, ENOMEM: try this listener again a little later.
          log_.Warn("accept-" + l.path,
                    fmt::format("accept on {}: {}", l.path, std::strerror(errno)));
          l.paused_until_ms = NowUnixMs() + kPauseMs;
          epoll_event ev{};
          ev.data.u64 = key;
          ::epoll_ctl(epoll_, EPOLL_CTL_MOD, l.fd, &ev);
        }
        break;
      }
      if (grpc::Server* s = Admit(l, fd)) admitted.emplace_back(fd, s);
    }
  }
  // Outside the lock: gRPC may start reading (and calling GuestOf) at once.
  for (auto [fd, server] : admitted) grpc::AddInsecureChannelFromFd(server, fd);
}

void Acceptor::Loop() {
  epoll_event events[64];
  while (!stop_) {
    int timeout = -1;
    {
      std::lock_guard lk(mu_);
      const int64_t now = NowUnixMs();
      for (auto& [key, l] : listeners_) {
        if (!l.paused_until_ms) continue;
        if (l.paused_until_ms <= now) {
          l.paused_until_ms = 0;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u64 = key;
          ::epoll_ctl(epoll_, EPOLL_CTL_MOD, l.fd, &ev);
        } else {
          const int left = static_cast<int>(l.paused_until_ms - now);
          timeout = timeout < 0 ? left : std::min(timeout, left);
        }
      }
    }
    int n = ::epoll_wait(epoll_, events, 64, timeout);
    for (int i = 0; i < n && !stop_; ++i) {
      if (events[i].data.u64 == kWakeKey) continue;
      AcceptSome(events[i].data.u64);
    }
  }
}

}  // namespace hu::daemon
