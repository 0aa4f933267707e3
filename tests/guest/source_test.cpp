// Rejections that point at the C source: the loader keeps each
// instruction's function and BTF line, and `VerifyObject` (hyperupcall
// verify, hu-verify) names them under the verifier's message.
#include "hyperupcall/guest/source.hpp"

#include <gtest/gtest.h>

#include "hyperupcall/guest/verify.hpp"
#include "test_util.hpp"

namespace hu::guest {
namespace {

using testing::Obj;

std::vector<VerifiedProgram> VerifyProbe(const std::string& prog, int log = 0) {
  auto o = BpfObject::FromFile(Obj("probe"));
  EXPECT_TRUE(o.ok()) << (o.ok() ? "" : o.error().message);
  if (!o.ok()) return {};
  auto v = VerifyObject(*o, {"", prog, log, 0}, nullptr);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
  return v.ok() ? std::move(v).value() : std::vector<VerifiedProgram>{};
}

TEST(Source, EveryInstructionKnowsItsFunctionAndLine) {
  auto v = VerifyProbe("deep");
  ASSERT_EQ(v.size(), 1u);
  const Program& p = v[0].program;
  ASSERT_EQ(p.origins.size(), p.insns.size());
  EXPECT_EQ(p.functions, (std::vector<std::string>{"deep", "twice"}));
  // The subprogram is appended after the main function.
  EXPECT_EQ(p.functions[p.origins.back().function], "twice");
  EXPECT_EQ(WhereNote(p, static_cast<int64_t>(p.insns.size()) - 1), "in twice() at probe.bpf.c:16");
  EXPECT_EQ(WhereNote(p, 0), "in deep() at probe.bpf.c:28");
  EXPECT_EQ(SourceLineNote(p, 0), "; buf[0] = ctx[1]; @ probe.bpf.c:28");
  EXPECT_EQ(WhereNote(p, -1), "");
  EXPECT_EQ(SourceLineNote(p, static_cast<int64_t>(p.insns.size())), "");
}

TEST(Source, ARejectionNamesTheFunctionFileLineAndText) {
  auto v = VerifyProbe("probe");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].report.accepted);
  std::string text = VerdictText(v[0]);
  EXPECT_NE(text.find("probe (trace.exit, 12 insns): rejected: insn 7 `ldxdw %r1, [%r0]`: "
                      "possible NULL dereference"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n  in probe() at probe.bpf.c:22\n  ; *v += 1; @ probe.bpf.c:22\n"),
            std::string::npos)
      << text;
}

TEST(Source, ARejectionInASubprogramNamesTheSubprogram) {
  auto v = VerifyProbe("deep");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].report.accepted);
  std::string text = VerdictText(v[0]);
  EXPECT_NE(text.find("stack access out of bounds"), std::string::npos) << text;
  EXPECT_NE(text.find("  in twice() at probe.bpf.c:15\n  ; sum += p[n + 64]; @ probe.bpf.c:15\n"),
            std::string::npos)
      << text;
}

TEST(Source, TheLevelTwoLogShowsEachSourceLineOnce) {
  auto v = VerifyProbe("probe", 2);
  ASSERT_EQ(v.size(), 1u);
  const std::string& log = v[0].log;
  EXPECT_NE(log.find("; u32 key = 0; @ probe.bpf.c:20\n1: "), std::string::npos) << log;
  EXPECT_NE(log.find("; *v += 1; @ probe.bpf.c:22\n7: "), std::string::npos) << log;
  EXPECT_EQ(log.find("; *v += 1;"), log.rfind("; *v += 1;")) << log;
}

TEST(Source, WithoutLineInfoOnlyTheFunctionIsNamed) {
  auto o = BpfObject::FromFile(Obj("plain_nodebug"));
  ASSERT_TRUE(o.ok()) << o.error().message;
  auto p = o->Link("anyhook", nullptr);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(WhereNote(*p, 0), "in anyhook()");
  EXPECT_EQ(SourceLineNote(*p, 0), "");
  EXPECT_TRUE(p->lines.empty());
}

TEST(Source, VerifyRefusesWhatItCannotVerify) {
  auto o = BpfObject::FromFile(Obj("probe"));
  ASSERT_TRUE(o.ok());
  auto bad_hook = VerifyObject(*o, {"mem.nothing", "", 0, 0}, nullptr);
  ASSERT_FALSE(bad_hook.ok());
  EXPECT_NE(bad_hook.error().message.find("is not a hook"), std::string::npos);
  auto missing = VerifyObject(*o, {"", "nope", 0, 0}, nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no program 'nope'"), std::string::npos);
}

}  // namespace
}  // namespace hu::guest
