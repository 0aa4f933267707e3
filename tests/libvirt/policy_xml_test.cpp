// The <policy> metadata schema: what it accepts, and the precise message
// for what it rejects.
#include <gtest/gtest.h>

#include "hyperupcall/daemon/libvirt_policy.hpp"

namespace hu::daemon {
namespace {

constexpr const char* kFull =
    R"(<hu:policy xmlns:hu="https://hyperupcall.org/xmlns/policy/1" version="1">
  <!-- reviewed by ops -->
  <hu:hooks>
    <hu:hook name="mem.reclaim"/>
    <hu:hook name="sched.preempt"/>
  </hu:hooks>
  <hu:helpers>
    <hu:helper name="read_gva"/>
    <hu:helper name="map_lookup_elem"/>
  </hu:helpers>
  <hu:max-instructions>2048</hu:max-instructions>
  <hu:run-budget>100000</hu:run-budget>
  <hu:max-programs>3</hu:max-programs>
  <hu:require-approval>yes</hu:require-approval>
  <hu:max-grace-us>50</hu:max-grace-us>
</hu:policy>)";

TEST(PolicyXml, ParsesEveryFieldInOurNamespace) {
  auto p = ParseLibvirtPolicy(kFull);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(*p->allowed_hooks, (1u << HU_HOOK_MEM_RECLAIM) | (1u << HU_HOOK_SCHED_PREEMPT));
  EXPECT_EQ(*p->allowed_helpers, (1ull << HU_HELPER_READ_GVA) | (1ull << HU_HELPER_MAP_LOOKUP));
  EXPECT_EQ(*p->max_instructions, 2048u);
  EXPECT_EQ(*p->run_budget, 100000u);
  EXPECT_EQ(*p->max_programs, 3u);
  EXPECT_TRUE(*p->require_approval);
  EXPECT_EQ(*p->max_grace_us, 50u);
}

// The fingerprint follows what the policy says, not how it is written:
// the prefixed form an operator writes and the unprefixed one libvirt
// returns (reordered, other whitespace, a comment) agree; one value differs.
TEST(PolicyXml, FingerprintIgnoresFormNotContent) {
  auto a = ParseLibvirtPolicy(kFull);
  auto b = ParseLibvirtPolicy(
      "<policy version='1'><max-grace-us>50</max-grace-us><require-approval>true"
      "</require-approval><max-programs>3</max-programs><run-budget>100000</run-budget>"
      "<max-instructions>2048</max-instructions><helpers><helper name='map_lookup_elem'/>"
      "<helper name='read_gva'/></helpers><hooks><hook name='sched.preempt'/>"
      "<hook name='mem.reclaim'/></hooks></policy>");
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string fa = LibvirtPolicyFingerprint(*a);
  EXPECT_EQ(fa.size(), 16u);
  EXPECT_EQ(fa.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(fa, LibvirtPolicyFingerprint(*b));
  EXPECT_EQ(fa, LibvirtPolicyFingerprint(*ParseLibvirtPolicy(FormatLibvirtPolicy(*a))));
  b->max_programs = 4;
  EXPECT_NE(fa, LibvirtPolicyFingerprint(*b));
  b->max_programs = 3;
  b->run_budget.reset();  // absent differs from any value
  EXPECT_NE(fa, LibvirtPolicyFingerprint(*b));
}

TEST(PolicyXml, ParsesTheUnprefixedFormLibvirtReturns) {
  auto p = ParseLibvirtPolicy("<policy><max-programs>0</max-programs><hooks/></policy>");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(*p->max_programs, 0u);
  EXPECT_EQ(*p->allowed_hooks, 0u);  // present and empty: no hook allowed
  EXPECT_FALSE(p->allowed_helpers.has_value());
  EXPECT_FALSE(p->run_budget.has_value());
}

TEST(PolicyXml, FormatRoundTripsBothForms) {
  auto p = ParseLibvirtPolicy(kFull);
  ASSERT_TRUE(p.ok());
  for (bool ns : {false, true}) {
    auto again = ParseLibvirtPolicy(FormatLibvirtPolicy(*p, ns));
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(*again, *p);
  }
  EXPECT_NE(
      FormatLibvirtPolicy(*p, true).find("xmlns:hu=\"https://hyperupcall.org/xmlns/policy/1\""),
      std::string::npos);
  LibvirtPolicy empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(*ParseLibvirtPolicy(FormatLibvirtPolicy(empty)), empty);
}

struct Bad {
  const char* xml;
  const char* message;  // the whole message: precision is the point
};

class PolicyXmlRejects : public ::testing::TestWithParam<Bad> {};

TEST_P(PolicyXmlRejects, WithAPreciseMessage) {
  auto p = ParseLibvirtPolicy(GetParam().xml);
  ASSERT_FALSE(p.ok()) << GetParam().xml;
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(p.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, PolicyXmlRejects,
    ::testing::Values(
        Bad{"<policy><max-programs>3</max-programs>",
            "policy metadata line 1: Premature end of data in tag policy line 1"},
        Bad{"<rules/>", "policy metadata: root element is <rules>, expected <policy>"},
        Bad{"<x:policy xmlns:x=\"urn:other\"/>",
            "policy metadata line 1: <policy> is in namespace 'urn:other', expected "
            "'https://hyperupcall.org/xmlns/policy/1'"},
        Bad{"<policy version=\"2\"/>",
            "policy metadata line 1: <policy>: unsupported version '2' (known: 1)"},
        Bad{"<policy strict=\"yes\"/>",
            "policy metadata line 1: <policy>: unknown attribute 'strict'"},
        Bad{"<policy>\n<max-programs>abc</max-programs></policy>",
            "policy metadata line 2: <max-programs>: 'abc' is not a decimal integer"},
        Bad{"<policy><max-programs>-1</max-programs></policy>",
            "policy metadata line 1: <max-programs>: '-1' is not a decimal integer"},
        Bad{"<policy><max-instructions>0</max-instructions></policy>",
            "policy metadata line 1: <max-instructions>: 0 is out of range [1, 1000000]"},
        Bad{"<policy><run-budget>99999999999999999999999</run-budget></policy>",
            "policy metadata line 1: <run-budget>: 99999999999999999999999 is out of range [1, "
            "1000000000]"},
        Bad{"<policy><max-grace-us>100001</max-grace-us></policy>",
            "policy metadata line 1: <max-grace-us>: 100001 is out of range [0, 100000]"},
        Bad{"<policy><require-approval>maybe</require-approval></policy>",
            "policy metadata line 1: <require-approval>: 'maybe' is not yes/no/true/false"},
        Bad{"<policy>\n\n<hooks><hook name=\"mem.reclaim\"/><hook name=\"tlb.shootdown\"/></hooks>"
            "</policy>",
            "policy metadata line 3: <hook>: unknown hook 'tlb.shootdown'"},
        Bad{"<policy><hooks><hook name=\"trace.exit\"/><hook "
            "name=\"trace.exit\"/></hooks></policy>",
            "policy metadata line 1: <hook>: hook 'trace.exit' listed twice"},
        Bad{"<policy><hooks><hook/></hooks></policy>",
            "policy metadata line 1: <hook>: missing attribute 'name'"},
        Bad{"<policy><helpers><helper name=\"bpf_probe_read\"/></helpers></policy>",
            "policy metadata line 1: <helper>: unknown helper 'bpf_probe_read'"},
        Bad{"<policy><helpers><hook name=\"read_gva\"/></helpers></policy>",
            "policy metadata line 1: <helpers>: unexpected element <hook>, expected <helper>"},
        Bad{"<policy><max-programs>1</max-programs>\n<max-programs>2</max-programs></policy>",
            "policy metadata line 2: <max-programs> appears more than once in <policy>"},
        Bad{"<policy><budget>5</budget></policy>",
            "policy metadata line 1: unknown element <budget> in <policy> (known: hooks, helpers, "
            "max-instructions, run-budget, max-programs, require-approval, max-grace-us)"},
        Bad{"<policy>allow everything</policy>",
            "policy metadata line 1: <policy>: unexpected text 'allow everything'"},
        Bad{"<policy><max-programs><max-programs/></max-programs></policy>",
            "policy metadata line 1: <max-programs> holds a value, not the element <max-programs>"},
        Bad{"<!DOCTYPE policy [<!ENTITY a \"1\">]><policy/>",
            "policy metadata: a DOCTYPE is not allowed in policy metadata"},
        Bad{"<policy xmlns:o=\"urn:o\"><o:max-programs>1</o:max-programs></policy>",
            "policy metadata line 1: <policy>: element <max-programs> is in namespace 'urn:o', "
            "expected 'https://hyperupcall.org/xmlns/policy/1'"}));

TEST(PolicyXml, NamesMatchTheAbi) {
  EXPECT_STREQ(PolicyHookName(HU_HOOK_TLB_FLUSH), "tlb.flush");
  EXPECT_EQ(PolicyHookFromName("mem.protect"), HU_HOOK_MEM_PROTECT);
  EXPECT_EQ(PolicyHookFromName("nope"), HU_HOOK_NONE);
  EXPECT_EQ(PolicyHookName(HU_HOOK_MAX), nullptr);
  EXPECT_STREQ(PolicyHelperName(HU_HELPER_VCPU_STATE), "vcpu_state");
  EXPECT_EQ(PolicyHelperFromName("trace_output"), HU_HELPER_TRACE_OUTPUT);
  EXPECT_EQ(PolicyHelperFromName(""), hu_helper_id(0));
}

}  // namespace
}  // namespace hu::daemon
