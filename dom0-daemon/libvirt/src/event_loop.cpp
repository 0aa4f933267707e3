#include "event_loop.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace hu::daemon::libvirt_internal {
namespace {

std::mutex g_mu;
int g_refs = 0;
std::thread g_thread;
std::atomic<bool> g_stop{false};

// libvirt prints every error to stderr by default; ours are returned to
// the caller with virGetLastErrorMessage() instead.
void Quiet(void*, virErrorPtr) {}

void Run() {
  while (!g_stop.load()) {
    if (virEventRunDefaultImpl() < 0) break;  // only on an internal libvirt fault
  }
}

void Wake(int, void*) {}

}  // namespace

void AcquireEventLoop() {
  static std::once_flag once;
  std::call_once(once, [] {
    virSetErrorFunc(nullptr, Quiet);
    virEventRegisterDefaultImpl();
  });
  std::lock_guard lock(g_mu);
  if (g_refs++ == 0) {
    g_stop = false;
    g_thread = std::thread(Run);
  }
}

void ReleaseEventLoop() {
  std::lock_guard lock(g_mu);
  if (--g_refs > 0) return;
  g_stop = true;
  // A zero-interval timer makes the blocked poll return at once, and keeps
  // firing until the loop has seen g_stop.
  int timer = virEventAddTimeout(0, Wake, nullptr, nullptr);
  g_thread.join();
  if (timer >= 0) virEventRemoveTimeout(timer);
}

}  // namespace hu::daemon::libvirt_internal
