// The mnemonic spelling shared by the assembler and the disassembler, so
// the two cannot drift: one table per instruction family, indexed by the
// opcode's operation bits.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace hu::mnemonics {

// ALU operation names by HU_ALU_* >> 4 ("" where the slot is not a plain
// binary/unary operation: END is spelled be/le/bswap).
std::string_view AluName(uint8_t op);
std::optional<uint8_t> AluOp(std::string_view name);

// Conditional jump names by HU_JMP_* >> 4 ("" for ja/call/exit).
std::string_view JmpName(uint8_t op);
std::optional<uint8_t> JmpOp(std::string_view name);

// Memory access size suffix: b, h, w, dw by HU_SIZE_* >> 3.
std::string_view SizeName(uint8_t size);
std::optional<uint8_t> SizeBits(std::string_view name);

// Atomic operation names (add, or, and, xor, xchg, cmpxchg) by imm, fetch
// bit cleared for the four arithmetic ones.
std::string_view AtomicName(int32_t imm);
std::optional<int32_t> AtomicImm(std::string_view name);

}  // namespace hu::mnemonics
