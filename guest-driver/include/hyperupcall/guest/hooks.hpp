// Hook names as they appear in SEC("hyperupcall/<hook>"), manifests and the
// guest API. The guest tool keeps its own copy of this five-entry table so it
// does not link the verifier just to spell hook names.
#pragma once

#include <string>
#include <string_view>

#include "hyperupcall/abi.h"

namespace hu::guest {

// "mem.reclaim" for HU_HOOK_MEM_RECLAIM; "" for ids outside the ABI.
const char* HookName(hu_hook_id hook);
// HU_HOOK_NONE when `name` is not a hook of the ABI.
hu_hook_id HookFromName(std::string_view name);
// "mem.reclaim, tlb.flush, sched.preempt, trace.exit, mem.protect", for
// error messages that tell people what they could have written.
std::string HookNameList();

}  // namespace hu::guest
