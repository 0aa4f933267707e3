// Structural checks of guest requests and the operator policy check.
#include <gtest/gtest.h>

#include "policy.hpp"
#include "request.hpp"

namespace hu::daemon {
namespace {

RawProgram Minimal() {
  RawProgram r;
  r.hook = "mem.reclaim";
  r.name = "p";
  // mov r0, 0; exit
  r.insn_bytes =
      std::string("\xb7\x00\x00\x00\x00\x00\x00\x00\x95\x00\x00\x00\x00\x00\x00\x00", 16);
  return r;
}

TEST(DecodeProgram, AcceptsAMinimalProgram) {
  auto d = DecodeProgram(Minimal());
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->hook, HU_HOOK_MEM_RECLAIM);
  EXPECT_EQ(d->insns.size(), 2u);
}

TEST(DecodeProgram, NamesWhatIsWrong) {
  struct Case {
    const char* what;
    void (*edit)(RawProgram&);
    const char* needle;
  };
  const Case cases[] = {
      {"unknown hook", [](RawProgram& r) { r.hook = "nope"; }, "unknown hook 'nope'"},
      {"empty name", [](RawProgram& r) { r.name = ""; }, "program name must be 1..64"},
      {"name with newline", [](RawProgram& r) { r.name = "a\nb"; }, "non-printable"},
      {"no insns", [](RawProgram& r) { r.insn_bytes.clear(); }, "no instructions"},
      {"odd length", [](RawProgram& r) { r.insn_bytes += "x"; }, "not a multiple of 8"},
      {"bad opcode", [](RawProgram& r) { r.insn_bytes[0] = '\xff'; }, "insn 0"},
      {"map type",
       [](RawProgram& r) {
         r.maps.push_back({"m", {99, 4, 8, 1}});
       },
       "type 99 unsupported"},
      {"map key size",
       [](RawProgram& r) {
         r.maps.push_back({"m", {HU_MAP_HASH, 65, 8, 1}});
       },
       "key_size 65 out of range"},
      {"array key size",
       [](RawProgram& r) {
         r.maps.push_back({"m", {HU_MAP_ARRAY, 8, 8, 1}});
       },
       "array maps need key_size 4"},
      {"duplicate map",
       [](RawProgram& r) {
         r.maps.push_back({"m", {HU_MAP_ARRAY, 4, 8, 1}});
         r.maps.push_back({"m", {HU_MAP_ARRAY, 4, 8, 1}});
       },
       "both named 'm'"},
      {"region wraps",
       [](RawProgram& r) {
         r.regions.push_back({~0ull - 4, 16, HU_REGION_READ, 0});
       },
       "wraps around"},
      {"region flags",
       [](RawProgram& r) {
         r.regions.push_back({0x1000, 16, 0x80, 0});
       },
       "(flags 0x80): unknown flags"},
      {"protect on another hook",
       [](RawProgram& r) {
         r.regions.push_back({0x1000, 4096, HU_REGION_GPA | HU_REGION_PROTECT, 0});
       },
       "protect (0x8) is for mem.protect programs only"},
      {"protect a virtual range",
       [](RawProgram& r) {
         r.hook = "mem.protect";
         r.regions.push_back({0x1000, 4096, HU_REGION_PROTECT, 0});
       },
       "needs a guest-physical region"},
      {"protect and write",
       [](RawProgram& r) {
         r.hook = "mem.protect";
         r.regions.push_back(
             {0x1000, 4096, HU_REGION_GPA | HU_REGION_PROTECT | HU_REGION_WRITE, 0});
       },
       "contradict each other"},
      {"protect part of a page",
       [](RawProgram& r) {
         r.hook = "mem.protect";
         r.regions.push_back({0x1008, 4096, HU_REGION_GPA | HU_REGION_PROTECT, 0});
       },
       "4 KiB page boundary"},
      {"region empty",
       [](RawProgram& r) {
         r.regions.push_back({0x1000, 0, HU_REGION_READ, 0});
       },
       "length 0"},
  };
  for (const auto& c : cases) {
    RawProgram r = Minimal();
    c.edit(r);
    auto d = DecodeProgram(r);
    ASSERT_FALSE(d.ok()) << c.what;
    EXPECT_NE(d.error().message.find(c.needle), std::string::npos)
        << c.what << ": " << d.error().message;
  }
}

TEST(DecodeProgram, AcceptsProtectedFramesOfAMemProtectProgram) {
  RawProgram r = Minimal();
  r.hook = "mem.protect";
  r.regions.push_back({0x7f000, 8192, HU_REGION_GPA | HU_REGION_PROTECT, 0});
  r.regions.push_back({0x7f000, 8192, HU_REGION_GPA | HU_REGION_PROTECT | HU_REGION_READ, 0});
  auto d = DecodeProgram(r);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->regions.size(), 2u);
}

TEST(CheckPolicy, EachRuleHasItsCodeAndMessage) {
  std::vector<hu_insn> insns(10, hu_insn{0xb7, 0, 0, 0, 0});
  insns[3] = hu_insn{0x85, 0, 0, 0, HU_HELPER_WRITE_GVA};
  std::vector<hu_region> regions = {{0x1000, 4096, HU_REGION_READ, 0}};
  PolicyCandidate c{1, HU_HOOK_TLB_FLUSH, &insns, &regions, 64ull << 20, 0};

  Policy p = DefaultPolicy();
  EXPECT_TRUE(CheckPolicy(p, c).ok());

  Policy hooks = p;
  hooks.allowed_hooks = 1ull << HU_HOOK_MEM_RECLAIM;
  auto st = CheckPolicy(hooks, c);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(st.error().message.find("hook tlb.flush is not allowed"), std::string::npos);

  Policy helpers = p;
  helpers.allowed_helpers &= ~(1ull << HU_HELPER_WRITE_GVA);
  st = CheckPolicy(helpers, c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("insn 3 calls helper write_gva (6)"), std::string::npos);

  Policy size = p;
  size.max_insns = 9;
  st = CheckPolicy(size, c);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(st.error().message.find("program has 10 instructions"), std::string::npos);

  PolicyCandidate full = c;
  full.live_programs = p.max_programs;
  EXPECT_FALSE(CheckPolicy(p, full).ok());

  std::vector<hu_region> big = {{0x1000, (64ull << 20) / 50 + 1, HU_REGION_READ, 0}};
  PolicyCandidate wide = c;
  wide.regions = &big;
  st = CheckPolicy(p, wide);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("more than 2% of domain 1's RAM"), std::string::npos);
}

TEST(PolicyJson, RoundTripsAndRejectsUnknownNames) {
  Policy p = DefaultPolicy();
  p.allowed_hooks = 1ull << HU_HOOK_TRACE_EXIT;
  p.require_approval = true;
  p.run_budget = 5000;
  p.verifier_budget = 2'000'000;
  auto back = PolicyFromJson(PolicyToJson(p));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, p);
  auto j = PolicyToJson(p);
  // A policy stored before verifier_budget existed keeps the default.
  auto old = j;
  old.erase("verifier_budget");
  auto back_old = PolicyFromJson(old);
  ASSERT_TRUE(back_old.ok());
  EXPECT_EQ(back_old->verifier_budget, 0u);
  auto huge = j;
  huge["verifier_budget"] = kPolicyVerifierBudgetCap + 1;
  EXPECT_FALSE(PolicyFromJson(huge).ok());
  j["allowed_helpers"].push_back("format_disk");
  auto bad = PolicyFromJson(j);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("unknown helper 'format_disk'"), std::string::npos);
}

TEST(PolicyJson, JitModeRoundTripsDefaultsToAutoAndRejectsOthers) {
  for (JitMode m : {JitMode::kAuto, JitMode::kOn, JitMode::kOff}) {
    Policy p = DefaultPolicy();
    p.jit = m;
    auto back = PolicyFromJson(PolicyToJson(p));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->jit, m);
  }
  auto j = PolicyToJson(DefaultPolicy());
  j.erase("jit");  // stored before the field existed
  auto old = PolicyFromJson(j);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->jit, JitMode::kAuto);
  j["jit"] = "fast";
  auto bad = PolicyFromJson(j);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "jit 'fast' is not auto, on or off");
}

}  // namespace
}  // namespace hu::daemon
