// The daemon's end of the toolstack socket: libxenguest (xen-patches/0031)
// tells hyperupcalld when a domain's programs leave with a save or
// migration stream, when they stay after all, and hands it the programs a
// restored domain brings, before that domain first runs. One-line messages,
// described in tools/libs/guest/xg_hyperupcall.c of the patched tree:
//
//   HYPERUPCALL 1 SAVE <domid> <fd>       -> OK
//   HYPERUPCALL 1 RESUME <domid>          -> OK
//   HYPERUPCALL 1 RESTORE <domid> <size>  + <size> bytes of state -> OK <n> | REFUSED <why>
//
// Only root may talk to it (the socket is 0600, and the peer's credentials
// are checked): what arrives on it decides what runs in Xen.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "hyperupcall/result.hpp"

namespace hu::xen {

struct ToolstackHandlers {
  // The stream with domid's programs goes where `destination` says.
  std::function<void(uint32_t domid, const std::string& destination)> leaving;
  std::function<void(uint32_t domid)> stayed;
  // Checks and loads the programs; how many, or why not.
  std::function<Result<uint32_t>(uint32_t domid, const std::vector<uint8_t>& state)> restore;
};

class ToolstackServer {
 public:
  // Listens on `path` (replacing a stale socket) and serves each
  // connection in turn on its own thread.
  static Result<std::unique_ptr<ToolstackServer>> Listen(const std::string& path,
                                                         ToolstackHandlers handlers);
  ~ToolstackServer();
  ToolstackServer(const ToolstackServer&) = delete;
  ToolstackServer& operator=(const ToolstackServer&) = delete;

  // The answer line for one request line (and payload); exposed for tests.
  // `peer` is the requester's pid, `read_payload` reads exactly n bytes.
  std::string Handle(const std::string& line, pid_t peer,
                     const std::function<bool(std::vector<uint8_t>&, size_t)>& read_payload);

 private:
  ToolstackServer(int fd, std::string path, ToolstackHandlers h)
      : fd_(fd), path_(std::move(path)), h_(std::move(h)) {}
  void Serve();
  void ServeOne(int conn);

  int fd_;
  std::string path_;
  ToolstackHandlers h_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace hu::xen
