// The daemon accepts connections on its unix sockets itself and hands each
// one to a gRPC server (grpc::AddInsecureChannelFromFd) instead of letting
// gRPC listen, for three reasons:
//  - gRPC 1.51's listener gives up for good when accept4 fails with EMFILE,
//    on every socket of the server. Here a spare descriptor is kept: when
//    descriptors run out, it is let go to accept the waiting connection and
//    close it at once, so the listener never stalls and serves again as
//    soon as descriptors are back.
//  - Connection limits apply before gRPC sees a connection: at most N open
//    connections per guest, and all guests together stay within the
//    process's descriptor limit minus a reserve, so a guest can never take
//    the descriptors the operator, the database or another guest needs.
//    A connection past a limit is closed at once.
//  - Which socket a connection came in on is who it is: gRPC reports such
//    a connection's peer as "fd:N", and the acceptor knows which listening
//    socket descriptor N was accepted on. On the operator's socket it also
//    reads the peer's credentials (SO_PEERCRED) at accept, for the audit
//    log: gRPC does not report them.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "hyperupcall/result.hpp"
#include "log_gate.hpp"
#include "socket_claim.hpp"

namespace hu::daemon {

struct AcceptorCounters {
  uint64_t accepted = 0;
  uint64_t refused_guest_limit = 0;  // a guest at its connection limit
  uint64_t refused_budget = 0;       // all guests at the descriptor budget
  uint64_t shed_no_descriptor = 0;   // closed at once: the process was out of descriptors
};

class Acceptor {
 public:
  // Raises the soft descriptor limit to the hard one and keeps `reserve`
  // descriptors (a quarter of the limit when that is less) out of the
  // guests' reach.
  explicit Acceptor(size_t reserve = 256);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // Listens on a unix socket at `path`, mode `mode`, and hands what
  // connects to `server`. A stale socket there is replaced, one another
  // process serves is refused (ClaimSocketPath); the socket is bound under
  // a private name, given its mode (and `prepare`), then renamed into
  // place. `guest`: the domain whose channel it is, with its connection
  // limit (0: none); nullopt: the operator's socket (no limit, but never
  // refused for the guests' sake).
  Status Listen(const std::string& path, int mode, grpc::Server* server,
                std::optional<uint32_t> guest, uint32_t max_connections,
                const PrepareSocket& prepare = {});
  // Stops listening on `path`, removes it if it is still the socket made
  // here, and ends the connections that came in on it.
  void Unlisten(const std::string& path);

  // The domain whose channel the connection gRPC names `peer` ("fd:N")
  // came in on; nullopt for anything else.
  std::optional<uint32_t> GuestOf(std::string_view peer);
  // The credentials read when the operator's connection `peer` ("fd:N")
  // was accepted; nullopt for anything else.
  std::optional<ucred> OperatorPeer(std::string_view peer);
  // Open connections of a domain (closed ones are noticed lazily).
  size_t Connections(uint32_t domid);
  AcceptorCounters Counters();
  // Descriptors all guests' connections may hold together.
  size_t GuestBudget();

 private:
  struct Conn {
    int fd;
    ino_t ino;  // sockets have unique inodes: tells a reused descriptor number apart
  };
  struct Listener {
    int fd = -1;
    std::string path;
    OwnedSocket socket;
    grpc::Server* server = nullptr;
    std::optional<uint32_t> guest;
    uint32_t max_connections = 0;
    int64_t paused_until_ms = 0;  // after ENOBUFS/ENOMEM
  };
  void Loop();
  void AcceptSome(uint64_t key);
  // Closes one waiting connection of `lfd` with the spare descriptor.
  void Shed(int lfd);
  // Admits fd (already accepted) or closes it; returns the server to hand it to.
  grpc::Server* Admit(Listener& l, int fd);
  static bool StillOpen(const Conn& c);
  void PruneLocked(std::vector<Conn>& conns);
  size_t GuestBudgetLocked() const;

  size_t reserve_;
  size_t fd_limit_ = 0;
  int epoll_ = -1;
  int wake_ = -1;   // eventfd: stop
  int spare_ = -1;  // the descriptor let go when there are none left
  std::mutex mu_;
  std::map<uint64_t, Listener> listeners_;  // by key (epoll data)
  uint64_t next_key_ = 1;
  std::map<uint32_t, std::vector<Conn>> guest_conns_;
  size_t guest_conn_total_ = 0;
  std::map<int, std::pair<std::optional<uint32_t>, ino_t>> by_fd_;
  std::map<int, ucred> operator_creds_;  // by fd, while by_fd_ says it is the operator's
  AcceptorCounters counters_;
  LogGate log_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace hu::daemon
