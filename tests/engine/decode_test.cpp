// Decoder and the structural validity check built on the opcode table.
#include "hyperupcall/decode.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "hyperupcall/opcodes.h"

namespace {

hu_insn Insn(uint8_t code, int dst = 0, int src = 0, int16_t off = 0, int32_t imm = 0) {
  hu_insn i{};
  i.code = code;
  i.dst = dst & 0xf;
  i.src = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

std::string Why(const hu_insn& i, const hu_insn* next = nullptr) {
  auto st = hu::ValidateInsn(i, next);
  return st.ok() ? "ok" : st.error().message;
}

TEST(Decode, BytesRoundTripLittleEndian) {
  std::vector<uint8_t> bytes = {0x18, 0x21, 0xfe, 0xff, 0x88, 0x77, 0x66, 0x55,
                                0x00, 0x00, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11};
  auto p = hu::DecodeBytes(bytes);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].code, 0x18);
  EXPECT_EQ((*p)[0].dst, 1);
  EXPECT_EQ((*p)[0].src, 2);
  EXPECT_EQ((*p)[0].off, -2);
  EXPECT_EQ(static_cast<uint32_t>((*p)[0].imm), 0x55667788u);
  EXPECT_EQ(hu::EncodeBytes(*p), bytes);
}

TEST(Decode, RejectsPartialSlot) {
  std::vector<uint8_t> bytes(13);
  auto p = hu::DecodeBytes(bytes);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message, "program size 13 bytes is not a multiple of 8 (trailing 5 bytes)");
}

TEST(Validate, NamesTheField) {
  EXPECT_EQ(Why(Insn(0x8f, 1)), "unknown opcode 0x8f");
  EXPECT_EQ(Why(Insn(0x0f, 1, 12)), "src register 12 out of range");
  EXPECT_EQ(Why(Insn(0x07, 11)), "dst register 11 out of range");
  EXPECT_EQ(Why(Insn(0x07, 10)), "dst register r10 is read-only");
  EXPECT_EQ(Why(Insn(0x07, 1, 0, 3)), "reserved off field is 3");
  EXPECT_EQ(Why(Insn(0x0f, 1, 2, 0, 9)), "reserved imm field is 9");
  EXPECT_EQ(Why(Insn(0x3f, 1, 2, 2)), "off field 2 not allowed for opcode 0x3f");
  EXPECT_EQ(Why(Insn(0xd4, 1, 0, 0, 8)), "imm field 8 not allowed for opcode 0xd4");
  EXPECT_EQ(Why(Insn(0xdb, 10, 1, -8, 0x42)), "imm field 66 not allowed for opcode 0xdb");
  EXPECT_EQ(Why(Insn(0xdb, 10, 10, -8, 0x01)), "src register r10 is read-only");
  EXPECT_EQ(Why(Insn(0x85, 0, 2, 0, 1)), "reserved src field is 2");
  EXPECT_EQ(Why(Insn(0x95, 1)), "reserved dst field is 1");
}

TEST(Validate, Lddw) {
  hu_insn lo = Insn(0x18, 1), hi = Insn(0);
  EXPECT_EQ(Why(lo, &hi), "ok");
  EXPECT_EQ(Why(lo), "lddw is missing its second slot");
  hi.code = 0x07;
  EXPECT_EQ(Why(lo, &hi), "lddw second slot has reserved fields set (code 0x07, off 0, imm 0)");
  lo.src = HU_PSEUDO_MAP_IDX;
  hi = Insn(0);
  EXPECT_EQ(Why(lo, &hi), "ok");
  hi.imm = 4;  // a map reference has no offset
  EXPECT_EQ(Why(lo, &hi), "lddw second slot has reserved fields set (code 0x00, off 0, imm 4)");
  lo.src = HU_PSEUDO_MAP_IDX_VALUE;  // a map value does
  EXPECT_EQ(Why(lo, &hi), "ok");
  hi = Insn(0);
  lo.src = 3;
  EXPECT_EQ(Why(lo, &hi), "reserved src field is 3");
}

TEST(Validate, AcceptsTheWholeIsa) {
  // One representative of each family the RFC defines.
  for (hu_insn i :
       {Insn(0x07, 1), Insn(0x3c, 1, 2, 1), Insn(0xbf, 1, 2, 32), Insn(0xbc, 1, 2, 16),
        Insn(0x87, 1), Insn(0xd7, 1, 0, 0, 64), Insn(0xdc, 1, 0, 0, 16), Insn(0x05, 0, 0, -1),
        Insn(0x06, 0, 0, 0, -1), Insn(0x1d, 1, 2, 3), Insn(0x6e, 1, 2, 3), Insn(0x85, 0, 1, 0, -3),
        Insn(0x8d, 2), Insn(0x8d, 0, 0, 0, 2), Insn(0x91, 1, 2, -1), Insn(0x7a, 10, 0, -8, 7),
        Insn(0xc3, 10, 1, -4, 0xf1), Insn(0xdb, 1, 2, 0, 0xe1)}) {
    EXPECT_EQ(Why(i), "ok") << "opcode 0x" << std::hex << int(i.code);
  }
}

}  // namespace
