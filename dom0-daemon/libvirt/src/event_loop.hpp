// libvirt's default event loop, run in one thread per process. libvirt
// delivers domain events (and keeps remote connections alive) only while
// someone runs it, and it must be registered before the first
// virConnectOpen that wants events.
#pragma once

namespace hu::daemon::libvirt_internal {

// Each open monitor holds one reference; the thread runs while any does.
void AcquireEventLoop();
void ReleaseEventLoop();

}  // namespace hu::daemon::libvirt_internal
