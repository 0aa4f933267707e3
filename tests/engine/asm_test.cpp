// Assembler: encodings of the suite's syntax, labels, and errors that name
// the line and the token.
#include "hyperupcall/asm.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

std::string ErrorOf(std::string_view text) {
  auto r = hu::Assemble(text);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.error().message;
}

TEST(Assembler, EncodesTheSuiteSyntax) {
  auto r = hu::Assemble(
      "mov %r0, -1\n"
      "ldxw %r1, [%r2+4]\n"
      "stxdw [%r10-8], %r1\n"
      "lock fetch add32 [%r10-4], %r3\n"
      "sdiv32 %r1, 3\n"
      "movsx1664 %r2, %r3\n"
      "call local +0\n"
      "exit\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& p = *r;
  ASSERT_EQ(p.size(), 8u);
  EXPECT_EQ(p[0].code, 0xb7);
  EXPECT_EQ(p[0].imm, -1);
  EXPECT_EQ(p[1].code, 0x61);
  EXPECT_EQ(p[1].dst, 1);
  EXPECT_EQ(p[1].src, 2);
  EXPECT_EQ(p[1].off, 4);
  EXPECT_EQ(p[2].code, 0x7b);
  EXPECT_EQ(p[2].dst, 10);
  EXPECT_EQ(p[2].off, -8);
  EXPECT_EQ(p[3].code, 0xc3);
  EXPECT_EQ(p[3].imm, 0x01);  // add | fetch
  EXPECT_EQ(p[4].code, 0x34);
  EXPECT_EQ(p[4].off, 1);
  EXPECT_EQ(p[5].code, 0xbf);
  EXPECT_EQ(p[5].off, 16);
  EXPECT_EQ(p[6].code, 0x85);
  EXPECT_EQ(p[6].src, 1);
  EXPECT_EQ(p[7].code, 0x95);
}

TEST(Assembler, ResolvesLabelsBothWaysAndTheImplicitExitLabel) {
  auto r = hu::Assemble(
      "top:\n"
      "  jeq %r1, 0, done   # forward\n"
      "  ja top             # backward\n"
      "done: mov %r0, 0\n"
      "  jne %r0, 1, exit   # the suite's implicit label: first exit\n"
      "  exit\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& p = *r;
  EXPECT_EQ(p[0].off, 1);
  EXPECT_EQ(p[1].off, -2);
  EXPECT_EQ(p[3].off, 0);
}

TEST(Assembler, LddwSpansTwoSlots) {
  auto r = hu::Assemble("lddw %r1, 0x1122334455667788\nlddw %r2, map[3]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ(static_cast<uint32_t>((*r)[0].imm), 0x55667788u);
  EXPECT_EQ(static_cast<uint32_t>((*r)[1].imm), 0x11223344u);
  EXPECT_EQ((*r)[2].src, 1);
  EXPECT_EQ((*r)[2].imm, 3);
}

TEST(Assembler, UnknownMnemonicNamesLineAndToken) {
  EXPECT_EQ(ErrorOf("mov %r0, 1\nmovv %r0, 1\n"), "line 2: unknown mnemonic 'movv'");
}

TEST(Assembler, BadRegisterNamesToken) {
  EXPECT_EQ(ErrorOf("\n\nadd %rx, 1"), "line 3: bad register '%rx'");
  EXPECT_EQ(ErrorOf("mov 5, %r1"), "line 1: expected a register like %r1, got '5'");
}

TEST(Assembler, UndefinedLabelNamesTheLineThatUsesIt) {
  EXPECT_EQ(ErrorOf("mov %r0, 0\nja nowhere\nexit"), "line 2: undefined label 'nowhere'");
}

TEST(Assembler, DuplicateLabel) {
  EXPECT_EQ(ErrorOf("a:\nexit\na:\nexit"), "line 3: label 'a' already defined on line 1");
}

TEST(Assembler, ImmediateOutOfRange) {
  EXPECT_EQ(ErrorOf("mov %r0, 0x100000000"), "line 1: immediate out of 32-bit range '0x100000000'");
  EXPECT_EQ(ErrorOf("mov %r0, 12abc"), "line 1: expected an immediate, got '12abc'");
}

TEST(Assembler, OperandCount) {
  EXPECT_EQ(ErrorOf("exit %r0"), "line 1: 'exit' takes 0 operand(s), got 1");
  EXPECT_EQ(ErrorOf("add %r0"), "line 1: 'add' takes 2 operand(s), got 1");
}

TEST(Assembler, BadMemoryOperand) {
  EXPECT_EQ(ErrorOf("ldxw %r0, %r1"), "line 1: expected a memory operand like [%r1+8], got '%r1'");
  EXPECT_EQ(ErrorOf("ldxw %r0, [%r1+70000]"),
            "line 1: offset out of 16-bit range in '[%r1+70000]'");
}

TEST(Assembler, BadAtomic) {
  EXPECT_EQ(ErrorOf("lock nand [%r10-8], %r1"), "line 1: unknown atomic operation 'nand'");
}

TEST(Assembler, EmptyAndCommentOnlyTextIsAnEmptyProgram) {
  auto r = hu::Assemble("# nothing\n\n   \n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

}  // namespace
