#include "hyperupcall/guest/region.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace hu::guest {
namespace {

using testing::TableResolver;

hu_region Must(const std::string& text, SymbolResolver* ksyms) {
  auto spec = ParseRegion(text);
  EXPECT_TRUE(spec.ok()) << text << ": " << (spec.ok() ? "" : spec.error().message);
  if (!spec.ok()) return {};
  auto r = ResolveRegion(*spec, ksyms);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : hu_region{};
}

std::string ParseError(const std::string& text) {
  auto spec = ParseRegion(text);
  return spec.ok() ? "(parsed)" : spec.error().message;
}

TEST(Region, SymbolWithOffsetAndWrite) {
  TableResolver ksyms({{"runqueues", 0xffffffff82a00000ull}});
  hu_region r = Must("runqueues+0x40:4096:rw", &ksyms);
  EXPECT_EQ(r.start, 0xffffffff82a00040ull);
  EXPECT_EQ(r.len, 4096u);
  EXPECT_EQ(r.flags, uint32_t{HU_REGION_READ | HU_REGION_WRITE});
}

TEST(Region, AddressesVirtualAndPhysical) {
  hu_region v = Must("0xffff888000000000:0x1000", nullptr);
  EXPECT_EQ(v.start, 0xffff888000000000ull);
  EXPECT_EQ(v.len, 0x1000u);
  EXPECT_EQ(v.flags, uint32_t{HU_REGION_READ});
  hu_region p = Must("gpa:0x100000:64:ro", nullptr);
  EXPECT_EQ(p.start, 0x100000u);
  EXPECT_EQ(p.flags, uint32_t{HU_REGION_READ | HU_REGION_GPA});
}

TEST(Region, ProtectedFramesAreGuestPhysicalAndReadable) {
  hu_region p = Must("gpa:0x7f000:0x1000:protect", nullptr);
  EXPECT_EQ(p.start, 0x7f000u);
  EXPECT_EQ(p.len, 0x1000u);
  EXPECT_EQ(p.flags, uint32_t{HU_REGION_READ | HU_REGION_GPA | HU_REGION_PROTECT});
}

TEST(Region, MalformedSpecsSayWhatIsWrong) {
  EXPECT_EQ(ParseError("runqueues"),
            "region 'runqueues': want SYMBOL[+OFF]:LEN[:rw], 0xADDR:LEN[:rw] or "
            "gpa:0xADDR:LEN[:rw|:protect]");
  EXPECT_EQ(ParseError("runqueues:0"), "region 'runqueues:0': length is 0");
  EXPECT_EQ(ParseError("runqueues:12k"),
            "region 'runqueues:12k': length '12k' is not a number (decimal or 0x-hex, at most 64 "
            "bits)");
  EXPECT_EQ(ParseError("runqueues:8:wx"),
            "region 'runqueues:8:wx': access 'wx' is none of ro, rw, protect");
  EXPECT_EQ(ParseError("0xffff888000000000:4096:protect"),
            "region '0xffff888000000000:4096:protect': only a guest-physical region (gpa:) can be "
            "protected");
  EXPECT_EQ(ParseError("gpa:runqueues:8"),
            "region 'gpa:runqueues:8': a guest-physical region takes an address, not a symbol");
  EXPECT_EQ(ParseError("run-queues:8"), "region 'run-queues:8': 'run-queues' is not a symbol name");
  EXPECT_EQ(
      ParseError("0x1zz:8"),
      "region '0x1zz:8': address '0x1zz' is not a number (decimal or 0x-hex, at most 64 bits)");
  EXPECT_NE(ParseError("0x10000000000000000:8").find("is not a number"), std::string::npos);
}

TEST(Region, UnknownSymbol) {
  TableResolver ksyms({});
  auto spec = ParseRegion("nosuch:8");
  ASSERT_TRUE(spec.ok());
  auto r = ResolveRegion(*spec, &ksyms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "region 'nosuch:8': symbol 'nosuch' not found in test-table");
}

TEST(Region, RangesThatWrapAreRefused) {
  auto spec = ParseRegion("0xfffffffffffff000:0x1001");
  ASSERT_TRUE(spec.ok());
  auto r = ResolveRegion(*spec, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "region '0xfffffffffffff000:0x1001': range wraps past 2^64");
  EXPECT_TRUE(ResolveRegion(*ParseRegion("0xfffffffffffff000:0x1000"), nullptr).ok());
}

TEST(Region, AtMostSixteen) {
  std::vector<RegionSpec> specs(HU_MAX_REGIONS + 1, *ParseRegion("0x1000:8"));
  auto r = ResolveRegions(specs, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "17 regions given; at most 16 per program");
  specs.pop_back();
  EXPECT_TRUE(ResolveRegions(specs, nullptr).ok());
}

}  // namespace
}  // namespace hu::guest
