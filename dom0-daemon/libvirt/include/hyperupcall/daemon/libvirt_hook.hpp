// The daemon's side of the libvirt hook script (hooks/libxl): libvirt runs
// the script at prepare/start/started/stopped/release/reconnect; it sends
// one JSON line on a unix socket and waits (bounded) for "ok". That lets
// the daemon know about a domain before libvirt's own events arrive.
// Protocol in dom0-daemon/libvirt/README.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hyperupcall/result.hpp"

namespace hu::daemon {

inline constexpr const char* kLibvirtHookSocketDefault = "/run/hyperupcall/libvirt-hook.sock";
inline constexpr size_t kLibvirtHookMaxLine = 16 * 1024;

struct LibvirtHookMessage {
  std::string driver;  // "libxl" (the script's name)
  std::string op;      // prepare, start, started, stopped, release, reconnect
  std::string sub_op;  // begin, end, -
  std::string name;
  std::string uuid;               // empty when the XML had none
  std::optional<uint32_t> domid;  // absent before the domain exists
};

// One line without its newline. Unknown keys, unknown operations, bad
// UUIDs and out-of-range ids are errors that say which field is wrong.
Result<LibvirtHookMessage> ParseLibvirtHookLine(std::string_view line);

class LibvirtHookListener {
 public:
  // Returns the reply's status: an error is sent back as "error <msg>" (the
  // script logs it, libvirt carries on).
  using Handler = std::function<Status(const LibvirtHookMessage&)>;

  // Binds `path` (mode 0600; a stale socket is replaced, a live one is
  // kAlreadyExists) and serves connections on a thread of its own.
  static Result<std::unique_ptr<LibvirtHookListener>> Listen(const std::string& path,
                                                             Handler handler);
  ~LibvirtHookListener();  // stops the thread and removes the socket
  LibvirtHookListener(const LibvirtHookListener&) = delete;
  LibvirtHookListener& operator=(const LibvirtHookListener&) = delete;

  const std::string& path() const;

  struct Impl;

 private:
  explicit LibvirtHookListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hu::daemon
