// Names people use for hooks and helpers (policies, the APIs, the CLI),
// and the bit masks the daemon keeps them in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hyperupcall/abi.h"

namespace hu::daemon {

// "mem.reclaim" for HU_HOOK_MEM_RECLAIM; "" for ids outside the ABI.
std::string HookName(hu_hook_id hook);
hu_hook_id HookFromName(std::string_view name);
std::vector<std::string> AllHookNames();

// "map_lookup_elem" for HU_HELPER_MAP_LOOKUP; "helper#<id>" when unknown.
std::string HelperName(uint32_t id);
std::optional<uint32_t> HelperFromName(std::string_view name);
std::vector<std::string> AllHelperNames();

// Bit i set: hook/helper id i. Names <-> masks, for policies.
std::vector<std::string> HookMaskNames(uint64_t mask);
std::vector<std::string> HelperMaskNames(uint64_t mask);
uint64_t AllHooksMask();
uint64_t AllHelpersMask();

std::string Join(const std::vector<std::string>& items, std::string_view sep);

}  // namespace hu::daemon
