// What the table tests share: the maps their programs use, the lookup
// prologue, and the checks of a rejection (message and instruction) and of
// an acceptance.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/verifier.hpp"

namespace hu::verifier::table {

// map 0: array, 4-byte key, 16-byte value; map 1: hash, 8-byte key and value.
inline const std::vector<hu_map_def> kMaps = {{HU_MAP_ARRAY, 4, 16, 4}, {HU_MAP_HASH, 8, 8, 64}};

// Looks up key 0 in map 0: r0 = value or NULL at insn 6.
inline const char* kLookup = R"(
  stw [%r10-4], 0
  mov %r2, %r10
  add %r2, -4
  lddw %r1, map[0]
  call 1
)";

// An unsafe program: the message must contain `expect` and name insn `pc`.
struct Case {
  const char* name;
  std::string text;
  const char* expect;  // substring of the one-line message
  int pc;              // instruction it must point at
  hu_hook_id hook = HU_HOOK_MEM_RECLAIM;
  uint64_t allowed_helpers = ~0ull;
};

struct Safe {
  const char* name;
  std::string text;
  hu_hook_id hook = HU_HOOK_MEM_RECLAIM;
};

inline std::vector<hu_insn> Build(const std::string& text) {
  auto prog = Assemble(text);
  EXPECT_TRUE(prog.ok()) << (prog.ok() ? "" : prog.error().message) << "\n" << text;
  return prog.ok() ? *prog : std::vector<hu_insn>{};
}

inline Report RunOn(const std::vector<hu_insn>& prog, hu_hook_id hook, uint64_t allowed = ~0ull) {
  Options opts;
  opts.hook = hook;
  opts.maps = kMaps;
  opts.allowed_helpers = allowed;
  return Verify(prog, opts);
}

inline std::string L(const char* body) { return std::string(kLookup) + body; }
// The same, with the context saved in r9 first (the call clobbers r1).
inline std::string C(const char* body) { return "mov %r9, %r1\n" + L(body); }

inline void ExpectRejected(const Case& c) {
  SCOPED_TRACE(c.name);
  auto prog = Build(c.text);
  ASSERT_FALSE(prog.empty());
  Report r = RunOn(prog, c.hook, c.allowed_helpers);
  EXPECT_FALSE(r.accepted);
  std::printf("%-55s %6.2f ms  %s\n", c.name, r.elapsed_ms, r.error.c_str());
  EXPECT_NE(r.error.find(c.expect), std::string::npos) << r.error;
  EXPECT_EQ(r.error_pc, c.pc) << r.error;
  // Every message names the instruction it is about, disassembled.
  EXPECT_EQ(r.error.rfind("insn " + std::to_string(c.pc) + " `", 0), 0u) << r.error;
}

inline Report ExpectAccepted(const Safe& c) {
  SCOPED_TRACE(c.name);
  auto prog = Build(c.text);
  EXPECT_FALSE(prog.empty());
  Report r = RunOn(prog, c.hook);
  EXPECT_TRUE(r.accepted) << r.error;
  return r;
}

}  // namespace hu::verifier::table
