// What an operator typed to name a domain (libvirt name, UUID, backend
// name or numeric id) -> the hypervisor domid the daemon keys everything by.
// One answer or a precise error: nothing matches (NOT_FOUND), it matches
// more than one running domain (INVALID_ARGUMENT, e.g. a domain named "2"
// beside domain id 2), or libvirt knows it but it is not running, so it has
// no id (FAILED_PRECONDITION). A libvirt domain's former name (or a UUID
// its name had before it was defined anew) is not resolved — that name may
// be reused by another domain later, and the resolver answers one domain or
// none — but its NOT_FOUND says what it became: "no domain named 'web':
// libvirt domain <uuid> was renamed 'web' -> 'www' at <time>; name it 'www'
// or by its UUID". The history survives restarts (the state database).
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
