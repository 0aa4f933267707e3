#include "service_notify.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

namespace hu::daemon {

namespace {

void Notify(const std::string& state) {
  int rc = sd_notify(0, state.c_str());
  if (rc < 0) spdlog::warn("sd_notify({}): {}", state, -rc);
}

}  // namespace

void NotifyReady(const std::string& status) {
  Notify(fmt::format("READY=1\nSTATUS={}\nMAINPID={}", status, ::getpid()));
}

void NotifyReloading() { Notify("RELOADING=1\nSTATUS=reloading the configuration"); }

void NotifyStopping() { Notify("STOPPING=1\nSTATUS=stopping"); }

}  // namespace hu::daemon
