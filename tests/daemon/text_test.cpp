// SafeText: what a guest sent, made safe for events, audit rows, logs and
// terminals: valid UTF-8 whatever came in, no control or reordering
// characters, cut only between characters.
#include "text.hpp"

#include <gtest/gtest.h>

namespace hu::daemon {
namespace {

TEST(SafeText, PrintableTextIsUnchanged) {
  EXPECT_EQ(SafeText("mem.reclaim", 64), "mem.reclaim");
  EXPECT_EQ(SafeText("données ✓", 64), "données ✓");
}

TEST(SafeText, InvalidBytesAndControlsAreEscaped) {
  EXPECT_EQ(SafeText(std::string("a\xff"
                                 "b"),
                     64),
            "a\\xffb");
  EXPECT_EQ(SafeText("\x1b[31mred\x07", 64), "\\x1b[31mred\\x07");
  EXPECT_EQ(SafeText("line\nbreak\ttab\x7f", 64), "line\\x0abreak\\x09tab\\x7f");
  EXPECT_EQ(SafeText("back\\slash", 64), "back\\\\slash");
  // C1 controls, bidi overrides and isolates, line separator, BOM.
  EXPECT_EQ(SafeText("\xc2\x9b"
                     "x",
                     64),
            "\\x9bx");
  EXPECT_EQ(SafeText("abc\xe2\x80\xae"
                     "fdp.exe",
                     64),
            "abc\\u202efdp.exe");
  EXPECT_EQ(SafeText("\xe2\x81\xa6"
                     "x"
                     "\xe2\x80\xa8"
                     "\xef\xbb\xbf",
                     64),
            "\\u2066x\\u2028\\ufeff");
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  EXPECT_EQ(SafeText("\xc0\xaf", 64), "\\xc0\\xaf");
  EXPECT_EQ(SafeText("\xed\xa0\x80", 64), "\\xed\\xa0\\x80");
  EXPECT_EQ(SafeText("\xf4\x90\x80\x80", 64), "\\xf4\\x90\\x80\\x80");
}

TEST(SafeText, CutsBetweenCharactersOnly) {
  // The instance of the issue: 31 ASCII bytes and a two-byte character,
  // cut at 32 bytes, once split the character.
  const std::string hook = std::string(31, 'h') + "é";
  const std::string out = SafeText(hook, 32);
  EXPECT_LE(out.size(), 32u);
  EXPECT_TRUE(ValidUtf8(out));
  EXPECT_EQ(out, std::string(29, 'h') + "...");
  EXPECT_EQ(SafeText(hook, 33), hook);  // it fits: nothing cut
  // Every cut of a long mixed string is valid and bounded.
  const std::string mixed =
      "ab€\x01"
      "cd✓\xff"
      "ef€€€\\g";
  for (size_t max = 0; max < 40; ++max) {
    const std::string s = SafeText(mixed, max);
    EXPECT_LE(s.size(), max);
    EXPECT_TRUE(ValidUtf8(s)) << max;
  }
  // An escape is never split either.
  EXPECT_EQ(SafeText("abcd\x01", 6), "abc...");
}

TEST(SafeText, ComposedTextKeepsBackslashes) {
  const std::string once = SafeText("a\x01\\", 64);
  EXPECT_EQ(SafeComposedText(once, 64), once);
  EXPECT_EQ(SafeComposedText("x\xffy", 64), "x\\xffy");
}

TEST(ValidUtf8, ReportsTheFirstBadByte) {
  size_t at = 0;
  EXPECT_TRUE(ValidUtf8("plain ✓", &at));
  EXPECT_FALSE(ValidUtf8(std::string(31, 'h') + "\xc3", &at));
  EXPECT_EQ(at, 31u);
}

}  // namespace
}  // namespace hu::daemon
