#include <gtest/gtest.h>

#include "hyperupcall/guest/region.hpp"
#include "test_util.hpp"

namespace hu::guest {
namespace {

using testing::TableResolver;

std::string Error(const std::string& json) {
  auto m = ParseManifest(json, "m.json");
  return m.ok() ? "(parsed)" : m.error().message;
}

TEST(Manifest, HookAndRegions) {
  auto m = ParseManifest(R"({
    "hook": "sched.preempt",
    "description": "ignored: notes for people",
    "regions": [
      {"symbol": "runqueues", "offset": 64, "len": 4096, "write": false},
      {"addr": "0xffff888000000000", "len": 64, "write": true},
      {"gpa": 4096, "len": "0x1000"}
    ]})",
                         "m.json");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->hook, "sched.preempt");
  EXPECT_EQ(m->hook_id, HU_HOOK_SCHED_PREEMPT);
  TableResolver ksyms({{"runqueues", 0xffffffff82a00000ull}});
  auto regions = ResolveRegions(m->regions, &ksyms);
  ASSERT_TRUE(regions.ok()) << regions.error().message;
  ASSERT_EQ(regions->size(), 3u);
  EXPECT_EQ((*regions)[0].start, 0xffffffff82a00040ull);
  EXPECT_EQ((*regions)[0].len, 4096u);
  EXPECT_EQ((*regions)[0].flags, uint32_t{HU_REGION_READ});
  EXPECT_EQ((*regions)[1].start, 0xffff888000000000ull);
  EXPECT_EQ((*regions)[1].flags, uint32_t{HU_REGION_READ | HU_REGION_WRITE});
  EXPECT_EQ((*regions)[2].start, 4096u);
  EXPECT_EQ((*regions)[2].len, 4096u);
  EXPECT_EQ((*regions)[2].flags, uint32_t{HU_REGION_READ | HU_REGION_GPA});
}

TEST(Manifest, EmptyObjectIsAllowed) {
  auto m = ParseManifest("{}", "m.json");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->hook_id, HU_HOOK_NONE);
  EXPECT_TRUE(m->regions.empty());
}

TEST(Manifest, MistakesAreNamedPrecisely) {
  EXPECT_EQ(Error("{"), "m.json: not valid JSON");
  EXPECT_EQ(Error("[]"), "m.json: the top level is not a JSON object");
  EXPECT_EQ(Error(R"({"hook": "tlb.flsh"})"),
            "m.json: unknown hook 'tlb.flsh'; hooks are mem.reclaim, tlb.flush, sched.preempt, "
            "trace.exit, mem.protect");
  EXPECT_EQ(Error(R"({"hook": 3})"), "m.json: \"hook\" is not a string");
  EXPECT_EQ(Error(R"({"regions": {}})"), "m.json: \"regions\" is not an array");
  EXPECT_EQ(Error(R"({"regions": [{"symbol": "x", "len": 8, "writable": true}]})"),
            "m.json: regions[0]: unknown key 'writable' (known: symbol, offset, addr, gpa, len, "
            "write, protect)");
  EXPECT_EQ(Error(R"({"regions": [{"addr": 4096, "len": 4096, "protect": true}]})"),
            "m.json: regions[0]: protect needs a gpa region and excludes write");
  EXPECT_EQ(Error(R"({"regions": [{"gpa": 4096, "len": 4096, "protect": true, "write": true}]})"),
            "m.json: regions[0]: protect needs a gpa region and excludes write");
  EXPECT_EQ(Error(R"({"regions": [{"gpa": 4096, "len": 4096, "protect": 1}]})"),
            "m.json: regions[0].protect is not a bool");
  EXPECT_EQ(Error(R"({"regions": [{"symbol": "x"}]})"), "m.json: regions[0] needs a non-zero len");
  EXPECT_EQ(Error(R"({"regions": [{"len": 8}]})"),
            "m.json: regions[0] needs exactly one of symbol, addr, gpa");
  EXPECT_EQ(Error(R"({"regions": [{"symbol": "x", "addr": 1, "len": 8}]})"),
            "m.json: regions[0] needs exactly one of symbol, addr, gpa");
  EXPECT_EQ(Error(R"({"regions": [{"addr": -1, "len": 8}]})"),
            "m.json: regions[0].addr is not a non-negative integer");
  EXPECT_EQ(Error(R"({"regions": [{"addr": 1, "offset": 4, "len": 8}]})"),
            "m.json: regions[0]: offset only applies to a symbol");
  EXPECT_EQ(Error(R"({"regions": [{"symbol": "x", "len": 8, "write": "yes"}]})"),
            "m.json: regions[0].write is not a bool");
}

TEST(Manifest, MissingFile) {
  auto m = LoadManifest("/nonexistent/m.json");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message, "cannot open manifest /nonexistent/m.json");
}

}  // namespace
}  // namespace hu::guest
