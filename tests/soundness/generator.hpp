// Random programs for the soundness harness: assembler text over the whole
// ISA and the hook ABI's helpers, shaped like what a hostile guest would
// try (stale stack bytes, pointers leaking through maps, the trace ring or
// r0, map lookups and NULL checks merged across paths, 32-bit subregister
// bounds, helper sizes, local calls and callee frames, loops that may not
// end). Enough of them are safe that the verifier accepts a good share; the
// runner then holds every accepted one to its promises.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hyperupcall/abi.h"

namespace hu::soundness {

// What every generated program may use: its maps and guest regions.
struct Environment {
  std::vector<hu_map_def> maps;
  // Guest addresses inside the regions the runner registers, for read_gva,
  // read_gpa and write_gva arguments (and some just outside them).
  uint64_t read_gva = 0, read_gva_len = 0;
  uint64_t read_gpa = 0, read_gpa_len = 0;
  uint64_t write_gva = 0, write_gva_len = 0;
};

// The maps the generator's programs use, sized to catch bounds mistakes
// (value sizes that are not multiples of 8).
Environment DefaultEnvironment();

struct Generated {
  hu_hook_id hook = HU_HOOK_NONE;
  std::string text;  // for the assembler; printed when a program fails
};

class Generator {
 public:
  Generator(uint64_t seed, Environment env);
  // About `size` instructions of main body, plus subprograms.
  Generated Make(int size);

 private:
  uint32_t Pick(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  bool Chance(uint32_t percent) { return Pick(100) < percent; }
  std::string Label();
  void Emit(std::string line) { out_->push_back(std::move(line)); }

  std::string Reg();     // a register that usually holds a scalar
  std::string AnyReg();  // any of r0..r9, r10 sometimes
  std::string Imm();     // an interesting 32-bit immediate
  std::string Size();    // b, h, w, dw
  std::string StackOff(int lo, int hi);

  void Body(int n, int depth);
  void Snippet(int depth);
  void Alu();
  void CtxLoad(const std::string& dst);
  void StackStore();
  void StackLoad();
  void VarStack();
  void Spill();
  void Lookup(int depth);
  void ValueAccess(const std::string& ptr, uint32_t value_size);
  void MapUpdate();
  void MapDelete();
  void ReadGuest();
  void VcpuState();
  void TraceOutput();
  void WriteGuest();
  void PointerPair();
  void Branch(int depth);
  void Loop(int depth);
  void CallLocal();
  void Atomic();
  void Callx();
  void LookupKey(uint32_t m, uint32_t key);
  void MergedLookups();
  void LookupDistance();
  void BoundedIndex(const std::string& r);
  void SharedCopyBound();
  void NullCheckOnTheRight();
  void DeepNest();
  void CalleeHelperWrite();
  std::string Subprogram(const std::string& name);

  std::mt19937_64 rng_;
  Environment env_;
  hu_hook_id hook_ = HU_HOOK_NONE;
  uint32_t ctx_size_ = 0;
  std::vector<std::string>* out_ = nullptr;
  int labels_ = 0;
  int subprograms_ = 0;
  bool in_sub_ = false;
  std::string counter_;  // a loop counter Reg() leaves alone (mostly)
};

}  // namespace hu::soundness
