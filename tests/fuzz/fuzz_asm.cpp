// libFuzzer target for the assembler: arbitrary text must give a program or
// a "line N: ..." error, never a crash; every program it accepts whose slots
// are all valid must survive disassemble -> assemble unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/decode.hpp"
#include "hyperupcall/disasm.hpp"
#include "hyperupcall/opcodes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto prog = hu::Assemble(text);
  if (!prog.ok()) {
    if (!prog.error().message.starts_with("line ")) {
      std::fprintf(stderr, "error without a line: %s\n", prog.error().message.c_str());
      std::abort();
    }
    return 0;
  }
  for (size_t pc = 0; pc < prog->size(); ++pc) {
    const hu_insn& insn = (*prog)[pc];
    const hu_insn* next = pc + 1 < prog->size() ? &(*prog)[pc + 1] : nullptr;
    if (!hu::ValidateInsn(insn, next).ok()) return 0;
    if (insn.code == (HU_CLS_JMP | HU_JMP_CALL | HU_SRC_X) && insn.imm != 0) return 0;
    if (hu_opcodes[insn.code].flags & HU_OPF_LDDW) ++pc;
  }
  std::string listing = hu::DisassembleProgram(*prog), again_text;
  for (size_t pos = 0; pos < listing.size();) {
    size_t colon = listing.find(": ", pos), nl = listing.find('\n', pos);
    again_text += listing.substr(colon + 2, nl - colon - 2) + "\n";
    pos = nl + 1;
  }
  auto again = hu::Assemble(again_text);
  if (!again.ok() || hu::EncodeBytes(*again) != hu::EncodeBytes(*prog)) {
    std::fprintf(stderr, "round trip failed:\n%s\n", again_text.c_str());
    std::abort();
  }
  return 0;
}
