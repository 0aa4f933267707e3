// Bytes <-> slots and the structural check, on top of the C opcode table.
#include "hyperupcall/decode.hpp"

#include <cstdio>
#include <string>

#include "hyperupcall/opcodes.h"

namespace hu {

// Programs arrive as raw 8-byte slots (ELF sections, domctl buffers); the
// struct must match that layout exactly, dst in the low nibble.
static_assert(sizeof(hu_insn) == 8, "hu_insn must be one 8-byte slot");

Result<std::vector<hu_insn>> DecodeBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() % 8 != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "program size " + std::to_string(bytes.size()) +
                                                      " bytes is not a multiple of 8 (trailing " +
                                                      std::to_string(bytes.size() % 8) + " bytes)");
  }
  std::vector<hu_insn> out(bytes.size() / 8);
  for (size_t i = 0; i < out.size(); ++i) {
    const uint8_t* b = bytes.data() + i * 8;
    hu_insn& insn = out[i];
    insn.code = b[0];
    insn.dst = b[1] & 0xf;
    insn.src = b[1] >> 4;
    insn.off = static_cast<int16_t>(static_cast<uint16_t>(b[2] | (b[3] << 8)));
    insn.imm = static_cast<int32_t>(
        static_cast<uint32_t>(b[4]) | (static_cast<uint32_t>(b[5]) << 8) |
        (static_cast<uint32_t>(b[6]) << 16) | (static_cast<uint32_t>(b[7]) << 24));
  }
  return out;
}

std::vector<uint8_t> EncodeBytes(std::span<const hu_insn> prog) {
  std::vector<uint8_t> out;
  out.reserve(prog.size() * 8);
  for (const hu_insn& insn : prog) {
    auto off = static_cast<uint16_t>(insn.off);
    auto imm = static_cast<uint32_t>(insn.imm);
    out.push_back(insn.code);
    out.push_back(static_cast<uint8_t>(insn.dst | (insn.src << 4)));
    out.push_back(static_cast<uint8_t>(off));
    out.push_back(static_cast<uint8_t>(off >> 8));
    for (int s = 0; s < 32; s += 8) out.push_back(static_cast<uint8_t>(imm >> s));
  }
  return out;
}

Status ValidateInsn(const hu_insn& insn, const hu_insn* next) {
  char buf[128];
  switch (hu_insn_validate(&insn, next)) {
    case HU_INSN_OK:
      return Status::Ok();
    case HU_INSN_BAD_OPCODE:
      std::snprintf(buf, sizeof buf, "unknown opcode 0x%02x", insn.code);
      break;
    case HU_INSN_BAD_DST:
      if (insn.dst > HU_REG_FP) {
        std::snprintf(buf, sizeof buf, "dst register %d out of range", insn.dst);
      } else if (insn.dst == HU_REG_FP) {
        std::snprintf(buf, sizeof buf, "dst register r10 is read-only");
      } else {
        std::snprintf(buf, sizeof buf, "reserved dst field is %d", insn.dst);
      }
      break;
    case HU_INSN_BAD_SRC:
      if (insn.src > HU_REG_FP) {
        std::snprintf(buf, sizeof buf, "src register %d out of range", insn.src);
      } else if (hu_opcodes[insn.code].src == HU_SRC_RULE_REG) {
        std::snprintf(buf, sizeof buf, "src register r10 is read-only");
      } else {
        std::snprintf(buf, sizeof buf, "reserved src field is %d", insn.src);
      }
      break;
    case HU_INSN_BAD_OFF:
      if (hu_opcodes[insn.code].off == HU_OFF_RULE_ZERO) {
        std::snprintf(buf, sizeof buf, "reserved off field is %d", insn.off);
      } else {
        std::snprintf(buf, sizeof buf, "off field %d not allowed for opcode 0x%02x", insn.off,
                      insn.code);
      }
      break;
    case HU_INSN_BAD_IMM:
      if (hu_opcodes[insn.code].imm == HU_IMM_RULE_ZERO) {
        std::snprintf(buf, sizeof buf, "reserved imm field is %d", insn.imm);
      } else {
        std::snprintf(buf, sizeof buf, "imm field %d not allowed for opcode 0x%02x", insn.imm,
                      insn.code);
      }
      break;
    case HU_INSN_LDDW_MISSING:
      std::snprintf(buf, sizeof buf, "lddw is missing its second slot");
      break;
    case HU_INSN_LDDW_BAD_NEXT:
      std::snprintf(buf, sizeof buf,
                    "lddw second slot has reserved fields set (code 0x%02x, off %d, imm %d)",
                    next ? next->code : 0, next ? next->off : 0, next ? next->imm : 0);
      break;
  }
  return MakeError(ErrorCode::kInvalidArgument, buf);
}

}  // namespace hu
