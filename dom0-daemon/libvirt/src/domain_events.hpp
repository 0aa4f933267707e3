// libvirt's lifecycle (event, detail) pairs, as our typed kinds.
#pragma once

#include <optional>
#include <string>

#include "hyperupcall/daemon/libvirt_monitor.hpp"

namespace hu::daemon::libvirt_internal {

struct Translated {
  // nullopt: nothing to report on its own (the old-name half of a rename,
  // the "shutdown finished" notice that precedes the real stop).
  std::optional<LibvirtEvent::Kind> kind;
  std::string detail;
  bool rename_old_half = false;  // UNDEFINED/RENAMED: carries the old name
};

Translated TranslateLifecycle(int event, int detail);

}  // namespace hu::daemon::libvirt_internal
