// What XEN_DOMCTL_hyperupcall's install accepts (xen-patches 0002 and the
// hook patches after it: at most HU_MAX_INSNS_DEFAULT instructions,
// HU_MAX_PROGS programs per domain, a budget up to HU_BUDGET_MAX, hooks in
// HU_HOOKS_SUPPORTED). Apart from XenBackend so that it is checked without a
// Xen dom0: tests/daemon/backend_hooks_test.cpp compares `hooks` with the
// HU_HOOKS_SUPPORTED the patch series leaves in Xen, so a hook patch that
// does not also land here fails the fast tier.
#pragma once

#include "hyperupcall/abi.h"
#include "hyperupcall/daemon/backend.hpp"

namespace hu::daemon {

// Hooks with a hook point in patched Xen: all five since 0012 added
// mem.protect.
inline constexpr uint64_t kXenHooks =
    (1ull << HU_HOOK_TRACE_EXIT) | (1ull << HU_HOOK_MEM_RECLAIM) | (1ull << HU_HOOK_TLB_FLUSH) |
    (1ull << HU_HOOK_SCHED_PREEMPT) | (1ull << HU_HOOK_MEM_PROTECT);

// Xen's HU_BUDGET_DEFAULT: instructions per run when a program's is 0.
inline constexpr uint64_t kXenDefaultRunBudget = 100000;

inline BackendLimits XenLimits() {
  BackendLimits l;
  l.max_insns = HU_MAX_INSNS_DEFAULT;
  l.max_programs = 16;
  l.max_run_budget = 1u << 20;
  l.hooks = kXenHooks;
  return l;
}

}  // namespace hu::daemon
