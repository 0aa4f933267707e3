// Tells systemd (Type=notify, through libsystemd's sd_notify) where the
// daemon is: ready once every endpoint listens, reloading on SIGHUP,
// stopping on SIGTERM. Without $NOTIFY_SOCKET (not under systemd) each call
// does nothing.
#pragma once

#include <string>

namespace hu::daemon {

void NotifyReady(const std::string& status);
void NotifyReloading();
void NotifyStopping();

}  // namespace hu::daemon
