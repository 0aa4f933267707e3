// Disassembler: the inverse of Assemble, in the same syntax, so verifier
// messages show instructions the way guest admins write them.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "hyperupcall/ebpf.h"

namespace hu {

// One instruction at `pc` (an lddw reads pc and pc + 1). Jump targets are
// printed as signed offsets ("+3"); an invalid encoding prints as
// ".invalid 0x.." rather than failing.
std::string Disassemble(std::span<const hu_insn> prog, size_t pc);

// Whole program, one "pc: text" line per instruction.
std::string DisassembleProgram(std::span<const hu_insn> prog);

}  // namespace hu
