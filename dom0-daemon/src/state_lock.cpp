#include "state_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hu::daemon {

Result<std::unique_ptr<StateLock>> StateLock::Acquire(const std::string& state_dir) {
  const std::string path = state_dir + "/hyperupcalld.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("cannot open the lock {}: {}", path, std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("cannot lock {}: {}", path, std::strerror(err)));
    }
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return MakeError(
        ErrorCode::kFailedPrecondition,
        fmt::format("state directory {} is in use by hyperupcalld pid {} (it holds {})", state_dir,
                    pid.empty() ? "?" : pid, path));
  }
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) < 0) {
    const int err = errno;
    ::close(fd);
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("cannot write {}: {}", path, std::strerror(err)));
  }
  return std::unique_ptr<StateLock>(new StateLock(fd));
}

StateLock::~StateLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace hu::daemon
