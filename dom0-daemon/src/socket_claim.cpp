#include "socket_claim.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hu::daemon {

namespace {

// Connects to a unix socket: the peer's pid when someone accepts, 0 when
// the socket is stale (ECONNREFUSED), -1 with errno otherwise.
pid_t PeerOf(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  pid_t pid = -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    ucred cred{};
    socklen_t len = sizeof cred;
    pid = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.pid : 1;
  } else if (errno == ECONNREFUSED) {
    pid = 0;
  }
  int saved = errno;
  ::close(fd);
  errno = saved;
  return pid;
}

}  // namespace

Status ClaimSocketPath(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("{} {}: {}", what, path, std::strerror(errno)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("{} {} exists and is not a socket; not replacing it", what, path));
  }
  pid_t peer = PeerOf(path);
  if (peer > 0) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("{} {} is in use by pid {}", what, path, peer));
  }
  if (peer < 0) {
    return MakeError(ErrorCode::kUnavailable, fmt::format("{} {}: cannot tell whether it is in "
                                                          "use: {}",
                                                          what, path, std::strerror(errno)));
  }
  // Nobody accepts: left by a daemon that was killed.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return MakeError(ErrorCode::kUnavailable, fmt::format("cannot remove stale {} {}: {}", what,
                                                          path, std::strerror(errno)));
  }
  spdlog::info("removed the stale {} {} (nobody accepted on it)", what, path);
  return Status::Ok();
}

std::string BindPath(const std::string& path) { return fmt::format("{}.{}.new", path, ::getpid()); }

Status MoveIntoPlace(const std::string& bound, const std::string& path) {
  if (::rename(bound.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(bound.c_str());
    return MakeError(
        ErrorCode::kUnavailable,
        fmt::format("cannot put the socket in place at {}: {}", path, std::strerror(err)));
  }
  return Status::Ok();
}

OwnedSocket OwnedSocket::Mark(const std::string& path) {
  OwnedSocket s;
  s.path_ = path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    s.dev_ = st.st_dev;
    s.ino_ = st.st_ino;
  }
  return s;
}

void OwnedSocket::RemoveIfOurs() const {
  if (path_.empty() || ino_ == 0) return;
  struct stat st {};
  if (::lstat(path_.c_str(), &st) != 0) return;
  if (st.st_dev != dev_ || st.st_ino != ino_) {
    spdlog::warn("{} is no longer the socket this daemon created; left in place", path_);
    return;
  }
  ::unlink(path_.c_str());
}

}  // namespace hu::daemon
