// The p2m type of an HVM/PVH domain's frames as Xen reports it to dom0
// (HVMOP_get_mem_type): how a test sees, with the domain paused, that
// mem.protect's frames are read-only in the p2m (xen-patches/0012 makes
// them p2m_ram_ro on AMD) after a restore or a migration, before the guest
// runs.
#pragma once

#include <cstdint>
#include <string>

#include "hyperupcall/result.hpp"

namespace hu::xen {

// "ram_rw", "ram_ro", "mmio_dm", "ioreq_server", or "type N". Xen reports
// populate-on-demand entries and grants as ram_rw, and frames in log-dirty
// mode (a live migration's source) as ram_ro.
Result<std::string> P2mType(uint32_t domid, uint64_t gfn);

}  // namespace hu::xen
