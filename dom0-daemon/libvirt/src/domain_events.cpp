#include "domain_events.hpp"

#include <libvirt/libvirt.h>

namespace hu::daemon::libvirt_internal {
namespace {

using Kind = LibvirtEvent::Kind;

const char* DefinedDetail(int d) {
  switch (d) {
    case VIR_DOMAIN_EVENT_DEFINED_ADDED:
      return "added";
    case VIR_DOMAIN_EVENT_DEFINED_UPDATED:
      return "updated";
    case VIR_DOMAIN_EVENT_DEFINED_RENAMED:
      return "renamed";
    case VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT:
      return "from-snapshot";
    default:
      return "other";
  }
}

const char* StartedDetail(int d) {
  switch (d) {
    case VIR_DOMAIN_EVENT_STARTED_BOOTED:
      return "booted";
    case VIR_DOMAIN_EVENT_STARTED_MIGRATED:
      return "migrated";
    case VIR_DOMAIN_EVENT_STARTED_RESTORED:
      return "restored";
    case VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT:
      return "from-snapshot";
    case VIR_DOMAIN_EVENT_STARTED_WAKEUP:
      return "wakeup";
    default:
      return "other";
  }
}

const char* StoppedDetail(int d) {
  switch (d) {
    case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN:
      return "shutdown";
    case VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
      return "destroyed";
    case VIR_DOMAIN_EVENT_STOPPED_CRASHED:
      return "crashed";
    case VIR_DOMAIN_EVENT_STOPPED_MIGRATED:
      return "migrated";
    case VIR_DOMAIN_EVENT_STOPPED_SAVED:
      return "saved";
    case VIR_DOMAIN_EVENT_STOPPED_FAILED:
      return "failed";
    case VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT:
      return "from-snapshot";
    default:
      return "other";
  }
}

}  // namespace

Translated TranslateLifecycle(int event, int detail) {
  switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED:
      return {detail == VIR_DOMAIN_EVENT_DEFINED_RENAMED ? Kind::kRenamed : Kind::kDefined,
              DefinedDetail(detail)};
    case VIR_DOMAIN_EVENT_UNDEFINED:
      if (detail == VIR_DOMAIN_EVENT_UNDEFINED_RENAMED) return {std::nullopt, "renamed", true};
      return {Kind::kUndefined, "removed"};
    case VIR_DOMAIN_EVENT_STARTED:
      return {Kind::kStarted, StartedDetail(detail)};
    case VIR_DOMAIN_EVENT_SUSPENDED:
      return {Kind::kSuspended, "paused"};
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
      return {Kind::kSuspended, "pmsuspended"};
    case VIR_DOMAIN_EVENT_RESUMED:
      return {Kind::kResumed, "unpaused"};
    case VIR_DOMAIN_EVENT_STOPPED:
      return {detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED ? Kind::kCrashed : Kind::kStopped,
              StoppedDetail(detail)};
    case VIR_DOMAIN_EVENT_CRASHED:
      // The guest crashed but is kept (on_crash=preserve / coredump): its
      // programs must go all the same.
      return {Kind::kCrashed, detail == VIR_DOMAIN_EVENT_CRASHED_PANICKED ? "panicked" : "crashed"};
    case VIR_DOMAIN_EVENT_SHUTDOWN:  // a STOPPED follows when it is really gone
    default:
      return {std::nullopt, "ignored"};
  }
}

}  // namespace hu::daemon::libvirt_internal
