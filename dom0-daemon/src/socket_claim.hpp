// Unix sockets the daemon listens on are its own only while it runs: a
// socket another live process serves is never taken over ("in use by pid
// N"), a stale one (nobody accepts) is replaced, and at exit the daemon
// removes a path only if it is still the socket it created.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "hyperupcall/result.hpp"

namespace hu::daemon {

// Makes `path` free for bind(): nothing there, or a stale socket (removed).
// FAILED_PRECONDITION "<what> PATH is in use by pid N" when a process
// accepts on it (its pid from SO_PEERCRED), or when PATH is not a socket.
Status ClaimSocketPath(const std::string& path, const std::string& what);

// gRPC unlinks a unix socket's path when its server shuts down, whoever
// the file at that path belongs to by then. So a server binds a private
// path (BindPath) and the socket is renamed into place once it listens
// (MoveIntoPlace): gRPC's unlink at shutdown then hits the private name,
// and the public path is removed only through OwnedSocket, if still ours.
// The rename also replaces a stale socket atomically.
std::string BindPath(const std::string& path);
Status MoveIntoPlace(const std::string& bound, const std::string& path);

// Runs on a socket just bound under its private name (BindPath), before
// it appears at its path: whatever must hold from its first connection on
// (the operator socket's group).
using PrepareSocket = std::function<Status(const std::string& bound)>;

// The socket file a server just bound, remembered by device and inode.
class OwnedSocket {
 public:
  OwnedSocket() = default;
  // After bind(): remembers what is at `path` now.
  static OwnedSocket Mark(const std::string& path);
  // Unlinks path only if it is still the file Mark() saw (another daemon
  // may have replaced it since).
  void RemoveIfOurs() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace hu::daemon
