// Structural checks of a guest's RegisterProgram request, before any
// policy: is this a program at all? Every field is hostile input.
#pragma once

#include <string>
#include <vector>

#include "hyperupcall/daemon/backend.hpp"
#include "hyperupcall/result.hpp"

namespace hu::daemon {

// The request as it came off the wire, free of protobuf types.
struct RawProgram {
  std::string hook;
  std::string name;
  std::string insn_bytes;
  std::vector<MapSpec> maps;
  std::vector<hu_region> regions;
};

struct DecodedProgram {
  hu_hook_id hook = HU_HOOK_NONE;
  std::string name;
  std::vector<hu_insn> insns;
  std::vector<MapSpec> maps;
  std::vector<hu_region> regions;
};

inline constexpr size_t kMaxNameLen = 64;
// Hard ceiling before any policy: no operator setting admits more.
inline constexpr size_t kMaxWireInsns = 1'000'000;

// InvalidArgument naming the field and the offending value.
Result<DecodedProgram> DecodeProgram(const RawProgram& raw);

}  // namespace hu::daemon
