// The rules a registered region's flags obey (abi.h), in one place for
// every host that checks them in user space: the daemon's request check and
// the sim backend. Xen checks the same rules itself (xen-patches).
#pragma once

#include <cstdint>

#include "hyperupcall/abi.h"

namespace hu {

inline constexpr uint64_t kGuestPageSize = 4096;

// nullptr when the flags suit a program on `hook`, else what is wrong.
inline const char* RegionFlagsProblem(const hu_region& r, hu_hook_id hook) {
  constexpr uint32_t kKnown = HU_REGION_READ | HU_REGION_WRITE | HU_REGION_GPA | HU_REGION_PROTECT;
  if (r.flags & ~kKnown) return "unknown flags";
  if (r.flags & HU_REGION_PROTECT) {
    if (hook != HU_HOOK_MEM_PROTECT) return "protect (0x8) is for mem.protect programs only";
    if (!(r.flags & HU_REGION_GPA)) return "protect (0x8) needs a guest-physical region (0x4)";
    if (r.flags & HU_REGION_WRITE) return "protect (0x8) and write (0x2) contradict each other";
    if (r.start % kGuestPageSize || r.len % kGuestPageSize)
      return "a protected region must start and end on a 4 KiB page boundary";
    return nullptr;
  }
  if (!(r.flags & (HU_REGION_READ | HU_REGION_WRITE)))
    return "neither read (0x1) nor write (0x2) nor protect (0x8) set";
  return nullptr;
}

}  // namespace hu
