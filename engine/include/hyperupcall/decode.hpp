// Bytes <-> instruction slots (little endian, 8 bytes each), and the
// per-opcode validity table shared by the assembler, verifier and fuzzers.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hyperupcall/ebpf.h"
#include "hyperupcall/result.hpp"

namespace hu {

Result<std::vector<hu_insn>> DecodeBytes(std::span<const uint8_t> bytes);
std::vector<uint8_t> EncodeBytes(std::span<const hu_insn> prog);

// Structural validity of one slot, independent of data flow: known opcode,
// register numbers <= 10, reserved fields zero. For an lddw, `next` is the
// second slot (nullptr if missing). Message names the field: "unknown
// opcode 0x8f", "src register 12 out of range", "reserved off field is 3".
Status ValidateInsn(const hu_insn& insn, const hu_insn* next);

}  // namespace hu
