// Instruction -> text in the conformance suite's syntax. Every valid
// encoding has exactly one spelling, which Assemble maps back to the same
// bytes; anything else prints as `.invalid 0x<slot>` (also assemblable).
#include "hyperupcall/disasm.hpp"

#include <cinttypes>
#include <cstdio>
#include <string>

#include "hyperupcall/opcodes.h"
#include "mnemonics.hpp"

namespace hu {
namespace {

std::string Reg(unsigned r) { return "%r" + std::to_string(r); }

std::string Signed(int64_t v) { return (v >= 0 ? "+" : "") + std::to_string(v); }

std::string Mem(unsigned r, int16_t off) {
  if (off == 0) return "[" + Reg(r) + "]";
  return "[" + Reg(r) + Signed(off) + "]";
}

// The slot as one little-endian 64-bit number, as in `-- raw` sections.
uint64_t RawSlot(const hu_insn& insn) {
  return static_cast<uint64_t>(static_cast<uint32_t>(insn.imm)) << 32 |
         static_cast<uint64_t>(static_cast<uint16_t>(insn.off)) << 16 |
         static_cast<uint64_t>(insn.src << 4 | insn.dst) << 8 | insn.code;
}

std::string Invalid(const hu_insn& insn) {
  char buf[40];
  std::snprintf(buf, sizeof buf, ".invalid 0x%016" PRIx64, RawSlot(insn));
  return buf;
}

std::string Alu(const hu_insn& insn) {
  const bool is64 = HU_CLASS(insn.code) == HU_CLS_ALU64;
  const uint8_t op = HU_OP(insn.code);
  const std::string suffix = is64 ? "" : "32";
  if (op == HU_ALU_END) {
    std::string name = is64 ? "bswap" : (HU_SRC(insn.code) == HU_SRC_X ? "be" : "le");
    return name + std::to_string(insn.imm) + " " + Reg(insn.dst);
  }
  if (op == HU_ALU_NEG) return "neg" + suffix + " " + Reg(insn.dst);
  std::string name(mnemonics::AluName(op >> 4));
  if ((op == HU_ALU_DIV || op == HU_ALU_MOD) && insn.off == 1) name.insert(0, "s");
  if (op == HU_ALU_MOV && insn.off != 0) {
    // movsx<from><to>: the suite spells the class as a width suffix.
    name = "movsx" + std::to_string(insn.off) + (is64 ? "64" : "32");
  } else {
    name += suffix;
  }
  std::string src = HU_SRC(insn.code) == HU_SRC_X ? Reg(insn.src) : std::to_string(insn.imm);
  return name + " " + Reg(insn.dst) + ", " + src;
}

std::string Jmp(const hu_insn& insn) {
  const bool is32 = HU_CLASS(insn.code) == HU_CLS_JMP32;
  const uint8_t op = HU_OP(insn.code);
  switch (op) {
    case HU_JMP_JA:
      return is32 ? "ja32 " + Signed(insn.imm) : "ja " + Signed(insn.off);
    case HU_JMP_EXIT:
      return "exit";
    case HU_JMP_CALL:
      if (HU_SRC(insn.code) == HU_SRC_X) {
        return "call " + Reg(insn.imm != 0 ? static_cast<unsigned>(insn.imm) : insn.dst);
      }
      if (insn.src == HU_CALL_LOCAL) return "call local " + Signed(insn.imm);
      return "call " + std::to_string(insn.imm);
    default:
      break;
  }
  std::string name(mnemonics::JmpName(op >> 4));
  if (is32) name += "32";
  std::string src = HU_SRC(insn.code) == HU_SRC_X ? Reg(insn.src) : std::to_string(insn.imm);
  return name + " " + Reg(insn.dst) + ", " + src + ", " + Signed(insn.off);
}

std::string Lddw(std::span<const hu_insn> prog, size_t pc) {
  const hu_insn& insn = prog[pc];
  const hu_insn& hi = prog[pc + 1];
  char buf[96];
  switch (insn.src) {
    case HU_PSEUDO_MAP_IDX:
      std::snprintf(buf, sizeof buf, "lddw %%r%d, map[%u]", insn.dst,
                    static_cast<uint32_t>(insn.imm));
      break;
    case HU_PSEUDO_MAP_IDX_VALUE:
      std::snprintf(buf, sizeof buf, "lddw %%r%d, map_value[%u]%+d", insn.dst,
                    static_cast<uint32_t>(insn.imm), hi.imm);
      break;
    default: {
      uint64_t v = static_cast<uint64_t>(static_cast<uint32_t>(insn.imm)) |
                   static_cast<uint64_t>(static_cast<uint32_t>(hi.imm)) << 32;
      std::snprintf(buf, sizeof buf, "lddw %%r%d, 0x%" PRIx64, insn.dst, v);
    }
  }
  return buf;
}

std::string LoadStore(const hu_insn& insn) {
  const std::string size(mnemonics::SizeName(HU_SIZE(insn.code) >> 3));
  switch (HU_CLASS(insn.code)) {
    case HU_CLS_LDX: {
      std::string name = HU_MODE(insn.code) == HU_MODE_MEMSX ? "ldxs" : "ldx";
      return name + size + " " + Reg(insn.dst) + ", " + Mem(insn.src, insn.off);
    }
    case HU_CLS_ST:
      return "st" + size + " " + Mem(insn.dst, insn.off) + ", " + std::to_string(insn.imm);
    default:
      break;
  }
  if (HU_MODE(insn.code) == HU_MODE_ATOMIC) {
    std::string name = "lock ";
    if ((insn.imm & HU_ATOMIC_FETCH) && insn.imm != HU_ATOMIC_XCHG &&
        insn.imm != HU_ATOMIC_CMPXCHG) {
      name += "fetch ";
    }
    name += mnemonics::AtomicName(insn.imm);
    if (HU_SIZE(insn.code) == HU_SIZE_W) name += "32";
    return name + " " + Mem(insn.dst, insn.off) + ", " + Reg(insn.src);
  }
  return "stx" + size + " " + Mem(insn.dst, insn.off) + ", " + Reg(insn.src);
}

}  // namespace

std::string Disassemble(std::span<const hu_insn> prog, size_t pc) {
  if (pc >= prog.size()) return "<pc " + std::to_string(pc) + " out of range>";
  const hu_insn& insn = prog[pc];
  const hu_insn* next = pc + 1 < prog.size() ? &prog[pc + 1] : nullptr;
  if (hu_insn_validate(&insn, next) != HU_INSN_OK) return Invalid(insn);
  switch (HU_CLASS(insn.code)) {
    case HU_CLS_ALU:
    case HU_CLS_ALU64:
      return Alu(insn);
    case HU_CLS_JMP:
    case HU_CLS_JMP32:
      return Jmp(insn);
    case HU_CLS_LD:
      return Lddw(prog, pc);
    default:
      return LoadStore(insn);
  }
}

std::string DisassembleProgram(std::span<const hu_insn> prog) {
  std::string out;
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    out += std::to_string(pc) + ": " + Disassemble(prog, pc) + "\n";
    const hu_insn* next = pc + 1 < prog.size() ? &prog[pc + 1] : nullptr;
    if ((hu_opcodes[prog[pc].code].flags & HU_OPF_LDDW) &&
        hu_insn_validate(&prog[pc], next) == HU_INSN_OK) {
      ++pc;  // the second slot belongs to the lddw
    }
  }
  return out;
}

}  // namespace hu
