// libFuzzer target for the decoder, the interpreter and the JIT. Input: one
// byte choosing the size of a writable memory region (filled from the
// input's tail), then program bytes. Every input is decoded, validated,
// disassembled and re-assembled (valid programs must round-trip), and run
// with a small budget; then translated by the JIT and run again, and the
// two runs must agree (jit_diff.hpp says when they can be compared).
// ASan/UBSan turn any access outside the stack or the region, and any
// undefined arithmetic, into a crash; the JIT's code is not instrumented,
// but a stray access of it lands outside every mapping ASan knows.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/decode.hpp"
#include "hyperupcall/disasm.hpp"
#include "hyperupcall/interp.h"
#include "hyperupcall/opcodes.h"
#include "jit_diff.hpp"

namespace {

uint64_t Sum(hu_run*, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) {
  return a + b + c + d + e;
}

// memset-like: writes only what hu_interp_check allows, as real helpers must.
uint64_t Fill(hu_run* run, uint64_t p, uint64_t n, uint64_t v, uint64_t, uint64_t) {
  if (n == 0) return 0;  // any pointer passes the check with length 0
  if (n > 4096 || hu_interp_check(run, p, n, 1) != HU_RUN_OK) return static_cast<uint64_t>(-14);
  std::memset(reinterpret_cast<void*>(static_cast<uintptr_t>(p)), static_cast<int>(v), n);
  return 0;
}

uint64_t StopIfZero(hu_run* run, uint64_t a, uint64_t, uint64_t, uint64_t, uint64_t) {
  if (a == 0) run->stop = 1;
  return a;
}

void Die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s\n%s\n", what, detail.c_str());
  std::abort();
}

void CheckRoundTrip(const std::vector<hu_insn>& prog) {
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const hu_insn* next = pc + 1 < prog.size() ? &prog[pc + 1] : nullptr;
    if (!hu::ValidateInsn(prog[pc], next).ok()) return;
    if (hu_opcodes[prog[pc].code].flags & HU_OPF_LDDW) ++pc;
  }
  std::string text;
  std::string listing = hu::DisassembleProgram(prog);
  for (size_t pos = 0; pos < listing.size();) {
    size_t colon = listing.find(": ", pos), nl = listing.find('\n', pos);
    text += listing.substr(colon + 2, nl - colon - 2) + "\n";
    pos = nl + 1;
  }
  auto again = hu::Assemble(text);
  if (!again.ok()) Die("disassembly does not assemble", again.error().message + "\n" + text);
  // Legacy callx (register in imm) prints in the RFC form; compare bytes
  // only when there is none.
  for (const hu_insn& i : prog) {
    if (i.code == (HU_CLS_JMP | HU_JMP_CALL | HU_SRC_X) && i.imm != 0) return;
  }
  if (hu::EncodeBytes(*again) != hu::EncodeBytes(prog)) Die("round trip differs", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t mem_len = data[0] % 65;
  ++data;
  --size;
  if (mem_len > size) mem_len = size;
  std::vector<uint8_t> mem(data + size - mem_len, data + size);
  size -= mem_len;
  size -= size % 8;

  auto prog = hu::DecodeBytes(std::span<const uint8_t>(data, size));
  if (!prog.ok()) Die("decode failed on whole slots", prog.error().message);
  if (prog->empty()) return 0;
  for (size_t pc = 0; pc < prog->size(); ++pc) (void)hu::Disassemble(*prog, pc);
  CheckRoundTrip(*prog);

  const std::vector<uint8_t> mem_start = mem;
  alignas(16) static uint8_t stack[HU_STACK_FRAME * HU_MAX_CALL_DEPTH];
  static const hu_helper_fn helpers[] = {Sum, Fill, nullptr, StopIfZero};
  hu_mem_region region{reinterpret_cast<uintptr_t>(mem.data()), mem.size(), 1, 0};
  hu_run run{};
  run.insns = prog->data();
  run.ninsns = static_cast<uint32_t>(prog->size());
  run.helpers = helpers;
  run.nhelpers = 4;
  run.regions = &region;
  run.nregions = 1;
  run.stack = stack;
  run.stack_size = sizeof stack;
  run.budget = 4096;
  int err = hu_interp_run(&run, region.base, mem.size(), 0);
  if (err != run.err || run.executed > run.budget) Die("run bookkeeping broken", "");
  if (err != HU_RUN_OK && run.err_pc >= run.ninsns && err != HU_RUN_FELL_OFF) {
    Die("error pc outside the program", hu_run_strerror(err));
  }
  std::string why = hu::fuzz::CompareRaw(*prog, mem_start);
  if (!why.empty())
    Die("jit differs from the interpreter", why + "\n" + hu::DisassembleProgram(*prog));
  return 0;
}
