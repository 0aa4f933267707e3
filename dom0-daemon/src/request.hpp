// Structural checks of a guest's RegisterProgram request, before any
// policy: is this a program at all? Every field is hostile input.
#pragma once

#include <string>
#include <vector>

#include "hyperupcall/daemon/backend.hpp"
#include "hyperupcall/result.hpp"
#include "program.hpp"

namespace hu::daemon {

// The request as it came off the wire, free of protobuf types.
struct RawProgram {
  std::string hook;
  std::string name;
  std::string insn_bytes;
  std::vector<MapSpec> maps;
  std::vector<hu_region> regions;
  // For people only (prog dump, map dump), checked for size and form.
  std::vector<std::string> region_symbols;  // parallel to regions; may be shorter
  std::string btf;
  std::vector<FuncSymbol> functions;
};

struct DecodedProgram {
  hu_hook_id hook = HU_HOOK_NONE;
  std::string name;
  std::vector<hu_insn> insns;
  std::vector<MapSpec> maps;
  std::vector<hu_region> regions;
  std::vector<std::string> region_symbols;  // one per region
  std::vector<uint8_t> btf;
  std::vector<FuncSymbol> functions;
};

// Caps on what a guest may send for people: BTF bytes, functions, and the
// length of a function or region symbol name.
inline constexpr size_t kMaxBtfBytes = 1u << 20;
inline constexpr size_t kMaxFunctions = 256;
inline constexpr size_t kMaxSymbolLen = 128;

inline constexpr size_t kMaxNameLen = 64;
// Hard ceiling before any policy: no operator setting admits more.
inline constexpr size_t kMaxWireInsns = 1'000'000;

// InvalidArgument naming the field and the offending value.
Result<DecodedProgram> DecodeProgram(const RawProgram& raw);

}  // namespace hu::daemon
