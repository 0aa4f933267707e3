#include "hyperupcall/guest/hooks.hpp"

#include <array>
#include <utility>

namespace hu::guest {
namespace {

constexpr std::array<std::pair<hu_hook_id, const char*>, 5> kHooks{{
    {HU_HOOK_MEM_RECLAIM, "mem.reclaim"},
    {HU_HOOK_TLB_FLUSH, "tlb.flush"},
    {HU_HOOK_SCHED_PREEMPT, "sched.preempt"},
    {HU_HOOK_TRACE_EXIT, "trace.exit"},
    {HU_HOOK_MEM_PROTECT, "mem.protect"},
}};

}  // namespace

const char* HookName(hu_hook_id hook) {
  for (const auto& [id, name] : kHooks) {
    if (id == hook) return name;
  }
  return "";
}

hu_hook_id HookFromName(std::string_view name) {
  for (const auto& [id, hook_name] : kHooks) {
    if (name == hook_name) return id;
  }
  return HU_HOOK_NONE;
}

std::string HookNameList() {
  std::string out;
  for (const auto& [id, name] : kHooks) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace hu::guest
