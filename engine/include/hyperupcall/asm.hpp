// Assembler for the text syntax of the BPF conformance suite's `-- asm`
// sections (mov %r0, 1 / ldxw %r1, [%r2+4] / jeq %r1, 0x2, label / lock
// fetch add [%r10-8], %r1 / call local f ...), with labels and # comments.
#pragma once

#include <string_view>
#include <vector>

#include "hyperupcall/ebpf.h"
#include "hyperupcall/result.hpp"

namespace hu {

// Errors name the line and the token: "line 7: unknown mnemonic 'movv'".
Result<std::vector<hu_insn>> Assemble(std::string_view text);

}  // namespace hu
