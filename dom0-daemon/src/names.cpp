#include "names.hpp"

#include <array>

namespace hu::daemon {
namespace {

// Index = id. The daemon keeps its own table so a policy file or a CLI
// argument is checked against exactly the ABI this daemon was built with.
constexpr std::array<std::string_view, HU_HOOK_MAX> kHooks = {
    "", "mem.reclaim", "tlb.flush", "sched.preempt", "trace.exit", "mem.protect",
};
constexpr std::array<std::string_view, HU_HELPER_MAX> kHelpers = {
    "",         "map_lookup_elem", "map_update_elem", "map_delete_elem", "read_gva",
    "read_gpa", "write_gva",       "trace_output",    "ktime_ns",        "vcpu_state",
};

}  // namespace

std::string HookName(hu_hook_id hook) {
  if (hook <= HU_HOOK_NONE || hook >= HU_HOOK_MAX) return "";
  return std::string(kHooks[hook]);
}

hu_hook_id HookFromName(std::string_view name) {
  for (int i = 1; i < HU_HOOK_MAX; ++i) {
    if (kHooks[i] == name) return static_cast<hu_hook_id>(i);
  }
  return HU_HOOK_NONE;
}

std::vector<std::string> AllHookNames() { return HookMaskNames(AllHooksMask()); }

std::string HelperName(uint32_t id) {
  if (id == 0 || id >= HU_HELPER_MAX) return "helper#" + std::to_string(id);
  return std::string(kHelpers[id]);
}

std::optional<uint32_t> HelperFromName(std::string_view name) {
  for (uint32_t i = 1; i < HU_HELPER_MAX; ++i) {
    if (kHelpers[i] == name) return i;
  }
  return std::nullopt;
}

std::vector<std::string> AllHelperNames() { return HelperMaskNames(AllHelpersMask()); }

std::vector<std::string> HookMaskNames(uint64_t mask) {
  std::vector<std::string> out;
  for (int i = 1; i < HU_HOOK_MAX; ++i) {
    if (mask & (1ull << i)) out.emplace_back(kHooks[i]);
  }
  return out;
}

std::vector<std::string> HelperMaskNames(uint64_t mask) {
  std::vector<std::string> out;
  for (int i = 1; i < HU_HELPER_MAX; ++i) {
    if (mask & (1ull << i)) out.emplace_back(kHelpers[i]);
  }
  return out;
}

uint64_t AllHooksMask() { return ((1ull << HU_HOOK_MAX) - 1) & ~1ull; }

uint64_t AllHelpersMask() { return ((1ull << HU_HELPER_MAX) - 1) & ~1ull; }

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

}  // namespace hu::daemon
