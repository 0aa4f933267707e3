// What an operator typed to name a domain (libvirt name, UUID, backend
// name or numeric id) -> the hypervisor domid the daemon keys everything by.
// One answer or a precise error: nothing matches (NOT_FOUND), it matches
// more than one running domain (INVALID_ARGUMENT, e.g. a domain named "2"
// beside domain id 2), or libvirt knows it but it is not running, so it has
// no id (FAILED_PRECONDITION).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "hyperupcall/daemon/backend.hpp"
#include "hyperupcall/daemon/libvirt_monitor.hpp"
#include "hyperupcall/result.hpp"

namespace hu::daemon {

// `backend` is the daemon's domain list (with --libvirt-uri already under
// libvirt's names); `libvirt` may be null. Names compare exactly, UUIDs
// without regard to case.
Result<uint32_t> ResolveDomainSelector(std::string_view who, const std::vector<DomainInfo>& backend,
                                       LibvirtMonitor* libvirt);

}  // namespace hu::daemon
