#include "hyperupcall/guest/kallsyms.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace hu::guest {
namespace {

constexpr const char* kSample =
    "ffffffff81000000 T _stext\n"
    "ffffffff82a1c340 D runqueues\n"
    "ffffffff81234560 t helper_static\n"
    "ffffffff81234990 t helper_static\n"
    "ffffffffc0a01000 t ext4_fill_super\t[ext4]\n"
    "\n";

TEST(Kallsyms, ParsesKernelAndModuleSymbols) {
  auto k = Kallsyms::Parse(kSample, "sample");
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(*k->Resolve("_stext"), 0xffffffff81000000ull);
  EXPECT_EQ(*k->Resolve("runqueues"), 0xffffffff82a1c340ull);
  EXPECT_EQ(*k->Resolve("ext4_fill_super"), 0xffffffffc0a01000ull);
}

TEST(Kallsyms, MissingSymbol) {
  auto k = Kallsyms::Parse(kSample, "/proc/kallsyms");
  auto r = k->Resolve("init_task");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "'init_task' not found in /proc/kallsyms");
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

TEST(Kallsyms, AmbiguousSymbolNamesBothAddresses) {
  auto k = Kallsyms::Parse(kSample, "sample");
  auto r = k->Resolve("helper_static");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "'helper_static' is ambiguous in sample: 0xffffffff81234560 or 0xffffffff81234990");
}

TEST(Kallsyms, HiddenAddressesAreExplained) {
  auto k = Kallsyms::Parse("0000000000000000 T _stext\n0000000000000000 D runqueues\n", "k");
  auto r = k->Resolve("runqueues");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("has address 0 in k: the kernel hides addresses"),
            std::string::npos);
}

TEST(Kallsyms, MalformedLineIsReportedWithItsNumber) {
  auto k = Kallsyms::Parse("ffffffff81000000 T _stext\nzzzz T bad\n", "k");
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error().message, "k:2: not a kallsyms line (want \"ADDRESS TYPE NAME [MODULE]\")");
  EXPECT_FALSE(Kallsyms::Parse("ffffffff81000000 T\n", "k").ok());
  EXPECT_FALSE(Kallsyms::Parse("ffffffff81000000 TT x\n", "k").ok());
}

TEST(Kallsyms, LazyReadsTheFileOnlyWhenAsked) {
  LazyKallsyms missing("/nonexistent/kallsyms");  // constructing it reads nothing
  auto r = missing.Resolve("x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "cannot open kallsyms file /nonexistent/kallsyms");

  char path[] = "/tmp/hu-kallsyms-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << kSample;
  LazyKallsyms lazy(path);
  EXPECT_EQ(*lazy.Resolve("runqueues"), 0xffffffff82a1c340ull);
  unlink(path);
}

}  // namespace
}  // namespace hu::guest
