// Guest memory regions a program may reach through helpers, as the guest
// admin writes them:
//   --region SYMBOL[+OFF]:LEN[:rw]     kernel symbol from kallsyms (virtual)
//   --region 0xADDR:LEN[:rw]           guest-virtual address
//   --region gpa:0xADDR:LEN[:rw]       guest-physical address
// OFF, LEN and ADDR are decimal or 0x-hex; the last field is "ro" (default)
// or "rw". Or in a manifest file next to the policy:
//   {"hook": "sched.preempt",
//    "regions": [{"symbol": "runqueues", "offset": 0, "len": 4096, "write": false},
//                {"addr": "0xffff888000000000", "len": 64},
//                {"gpa": "0x1000", "len": 4096}]}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hyperupcall/abi.h"
#include "hyperupcall/guest/kallsyms.hpp"
#include "hyperupcall/result.hpp"

namespace hu::guest {

struct RegionSpec {
  std::string symbol;   // empty when the start is an address
  uint64_t offset = 0;  // added to the symbol's address
  uint64_t addr = 0;    // when symbol is empty
  uint64_t len = 0;
  bool write = false;
  bool gpa = false;      // addr is guest-physical
  bool protect = false;  // mem.protect: the host write-protects it (gpa only)
  std::string text;      // as written, for messages
};

Result<RegionSpec> ParseRegion(std::string_view text);
// Looks the symbol up (when there is one) and checks the range does not wrap.
Result<hu_region> ResolveRegion(const RegionSpec& spec, SymbolResolver* ksyms);
Result<std::vector<hu_region>> ResolveRegions(const std::vector<RegionSpec>& specs,
                                              SymbolResolver* ksyms);

struct Manifest {
  std::string source;
  std::string hook;  // "" when the manifest does not name one
  hu_hook_id hook_id = HU_HOOK_NONE;
  std::vector<RegionSpec> regions;
};

// Unknown top-level keys are ignored (manifests may carry notes for
// people); unknown keys inside a region are errors, since a typo there
// would silently change what the program may read.
Result<Manifest> ParseManifest(std::string_view json_text, std::string source);
Result<Manifest> LoadManifest(const std::string& path);

// "0x1f", "4096" -> value; for the CLI and manifests.
Result<uint64_t> ParseNumber(std::string_view text, std::string_view what);

}  // namespace hu::guest
