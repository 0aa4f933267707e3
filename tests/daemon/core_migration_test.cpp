// Programs that arrive with a restored or migrated domain (Core::Adopt) and
// leave with a saved one (Leaving, Stayed): the checks an arriving program
// passes, what is recorded, and how the source's records are closed.
#include <gtest/gtest.h>

#include "core_fixture.hpp"
#include "names.hpp"

namespace hu::daemon {
namespace {

using test::CoreTest;
using test::kCallTrace;
using test::kRet0;

ArrivingProgram Arriving(uint64_t source_id, const char* hook, const char* name, const char* text) {
  ArrivingProgram a;
  a.source_id = source_id;
  a.origin = "host-a";
  a.image.domid = 1;
  a.image.hook = HookFromName(hook);
  a.image.name = name;
  auto insns = Assemble(text);
  EXPECT_TRUE(insns.ok());
  a.image.insns = *insns;
  return a;
}

bool AuditHas(Store& store, const std::string& decision, const std::string& text) {
  auto rows = store.AuditLog(100);
  EXPECT_TRUE(rows.ok());
  for (const auto& r : *rows) {
    if (r.decision == decision && r.reason.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST_F(CoreTest, ArrivingProgramsAreVerifiedRecordedAndGetTheDaemonsIds) {
  auto sub = bus_.Subscribe();
  auto images = core_->Adopt(1, {Arriving(7, "trace.exit", "trace", kCallTrace),
                                 Arriving(9, "mem.reclaim", "reclaim", kRet0)});
  ASSERT_TRUE(images.ok()) << images.error().message;
  ASSERT_EQ(images->size(), 2u);
  for (const auto& img : *images) {
    auto rec = core_->Program(img.id);
    ASSERT_TRUE(rec.ok());
    EXPECT_EQ(rec->state, ProgState::kInstalled);
    EXPECT_EQ(rec->domid, 1u);
    EXPECT_NE(rec->verdict.message.find("from host-a"), std::string::npos) << rec->verdict.message;
  }
  EXPECT_EQ((*images)[0].name, "trace");
  EXPECT_EQ((*images)[1].hook, HU_HOOK_MEM_RECLAIM);
  EXPECT_TRUE(AuditHas(*store_, "adopted", "where it was program 7"));
  // The backend loads them itself: the core installs nothing.
  EXPECT_TRUE(backend_->installed.empty());
  auto ev = sub->Next(1000);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->kind(), hyperupcall::operator_api::v1::EVENT_KIND_REGISTERED);
  // A daemon restart keeps them (they are rows like any other).
  EXPECT_EQ(core_->Programs(1, false).size(), 2u);
}

TEST_F(CoreTest, ArrivingProgramsThisHostForbidsAreAllRefusedNamingTheRule) {
  Policy p = DefaultPolicy();
  p.allowed_helpers &= ~(1ull << HU_HELPER_TRACE_OUTPUT);
  ASSERT_TRUE(core_->SetPolicy(1, p).ok());
  auto images = core_->Adopt(1, {Arriving(9, "mem.reclaim", "reclaim", kRet0),
                                 Arriving(7, "trace.exit", "trace", kCallTrace)});
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.error().code, ErrorCode::kPermissionDenied);
  const auto& msg = images.error().message;
  EXPECT_NE(msg.find("program 'trace' (trace.exit)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("policy: insn 4 calls helper trace_output (7)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("host-a, where it was program 7"), std::string::npos) << msg;
  // None of them is recorded, not even the one policy allows.
  EXPECT_TRUE(core_->Programs(1, true).empty());
  EXPECT_TRUE(AuditHas(*store_, "refused", "trace_output"));
}

// A libvirt domain's stored policy is found by the UUID the toolstack
// recorded, before libvirt's started event says which domid it is (it comes
// after the restore): its budget, and its refusals, not the default's.
TEST_F(CoreTest, ArrivingProgramsOfALibvirtDomainAreHeldToItsStoredPolicy) {
  const std::string lenient = "5d1c2a7e-9b3f-4c61-8a2d-3e4f5a6b7c8d";
  const std::string strict = "0b9e1f5c-2a34-4d8e-9f01-23456789abcd";
  backend_->domains.push_back({3, "lv", lenient, 1, 64 * 1024, true});
  backend_->domains.push_back({4, "lv-strict", strict, 1, 64 * 1024, true});
  Policy p = DefaultPolicy();
  p.run_budget = 54321;
  ASSERT_TRUE(core_->SetLibvirtPolicy(lenient, p, "", {}).ok());
  p.allowed_helpers &= ~(1ull << HU_HELPER_TRACE_OUTPUT);
  ASSERT_TRUE(core_->SetLibvirtPolicy(strict, p, "", {}).ok());

  auto images = core_->Adopt(3, {Arriving(7, "trace.exit", "trace", kCallTrace)});
  ASSERT_TRUE(images.ok()) << images.error().message;
  EXPECT_EQ((*images)[0].run_budget, 54321u);
  // A checkpointed stream's replay gets the same.
  auto again = core_->Adopt(3, {Arriving(7, "trace.exit", "trace", kCallTrace)});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ((*again)[0].run_budget, 54321u);

  // The default policy allows trace_output; this domain's does not.
  auto refused = core_->Adopt(4, {Arriving(7, "trace.exit", "trace", kCallTrace)});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("policy: insn 4 calls helper trace_output"),
            std::string::npos)
      << refused.error().message;
  EXPECT_TRUE(core_->Programs(4, true).empty());
}

TEST_F(CoreTest, ArrivingProgramsPassThisHostsVerifierAndRequestChecks) {
  auto bad = core_->Adopt(1, {Arriving(3, "trace.exit", "oob", "ldxdw %r0, [%r1+4096]\nexit\n")});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("verifier: insn 0"), std::string::npos) << bad.error().message;
  auto a = Arriving(4, "trace.exit", "bad name", kRet0);
  auto named = core_->Adopt(1, {a});
  ASSERT_FALSE(named.ok());
  EXPECT_NE(named.error().message.find("request: program name has a non-printable"),
            std::string::npos)
      << named.error().message;
  EXPECT_TRUE(core_->Programs(1, true).empty());
}

// The verifier's budget is this host's policy for the domain, as for a
// guest's registration: too low refuses the arrival naming the budget.
TEST_F(CoreTest, ArrivingProgramsGetThisHostsVerifierBudget) {
  constexpr const char* kLoop =
      "mov %r0, 0\nmov %r6, 300\nloop:\nadd %r0, 1\nsub %r6, 1\njne %r6, 0, loop\nexit\n";
  Policy p = DefaultPolicy();
  p.verifier_budget = 500;
  ASSERT_TRUE(core_->SetPolicy(1, p).ok());
  auto low = core_->Adopt(1, {Arriving(1, "mem.reclaim", "loop", kLoop)});
  ASSERT_FALSE(low.ok());
  EXPECT_NE(low.error().message.find("verifier: "), std::string::npos) << low.error().message;
  EXPECT_NE(low.error().message.find("budget of 500 instructions"), std::string::npos)
      << low.error().message;
  p.verifier_budget = 5000;
  ASSERT_TRUE(core_->SetPolicy(1, p).ok());
  auto raised = core_->Adopt(1, {Arriving(1, "mem.reclaim", "loop", kLoop)});
  ASSERT_TRUE(raised.ok()) << raised.error().message;
}

TEST_F(CoreTest, ArrivingProgramsCountAgainstThisHostsLimits) {
  Policy p = DefaultPolicy();
  p.max_programs = 1;
  ASSERT_TRUE(core_->SetPolicy(1, p).ok());
  auto images = core_->Adopt(
      1, {Arriving(1, "trace.exit", "a", kRet0), Arriving(2, "trace.exit", "b", kRet0)});
  ASSERT_FALSE(images.ok());
  EXPECT_NE(images.error().message.find("program 'b'"), std::string::npos)
      << images.error().message;
}

TEST_F(CoreTest, ArrivingProgramsCannotWaitForApproval) {
  Policy p = DefaultPolicy();
  p.require_approval = true;
  ASSERT_TRUE(core_->SetPolicy(1, p).ok());
  auto images = core_->Adopt(1, {Arriving(1, "trace.exit", "a", kRet0)});
  ASSERT_FALSE(images.ok());
  EXPECT_NE(images.error().message.find("approval"), std::string::npos);
}

// A checkpointed stream hands the same programs over at every checkpoint.
TEST_F(CoreTest, TheSameArrivalTwiceGetsTheSameIds) {
  std::vector<ArrivingProgram> progs = {Arriving(7, "trace.exit", "trace", kRet0)};
  auto first = core_->Adopt(1, progs);
  auto again = core_->Adopt(1, progs);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ((*first)[0].id, (*again)[0].id);
  EXPECT_EQ(core_->Programs(1, true).size(), 1u);
}

TEST_F(CoreTest, ProgramsTheBackendCouldNotLoadAreMarkedFailed) {
  auto images = core_->Adopt(1, {Arriving(7, "trace.exit", "trace", kRet0)});
  ASSERT_TRUE(images.ok());
  core_->AdoptionFailed(1, {(*images)[0].id}, "Xen said no");
  auto rec = core_->Program((*images)[0].id);
  EXPECT_EQ(rec->state, ProgState::kFailed);
  EXPECT_NE(rec->verdict.message.find("Xen said no"), std::string::npos);
}

TEST_F(CoreTest, ProgramsThatLeftAreClosedNamingTheDestination) {
  auto out = core_->Register(1, test::Prog("trace.exit", "t", kRet0));
  ASSERT_TRUE(out.ok());
  core_->Leaving(1, "tcp 10.0.0.2:49152");
  auto sub = bus_.Subscribe();
  DomainEvent ev;
  ev.kind = DomainEvent::Kind::kStopped;
  ev.domain.domid = 1;
  core_->OnDomainEvent(ev);
  // The rows are closed by the group commit, announced once on disk.
  bool closed = false;
  while (auto e = sub->Next(5000)) {
    if (e->kind() == hyperupcall::operator_api::v1::EVENT_KIND_DETACHED &&
        e->prog_id() == out->id) {
      closed = true;
      break;
    }
  }
  ASSERT_TRUE(closed);
  auto rec = core_->Program(out->id);
  EXPECT_EQ(rec->state, ProgState::kDetached);
  EXPECT_EQ(rec->verdict.message, "left with the domain for tcp 10.0.0.2:49152");
  EXPECT_TRUE(AuditHas(*store_, "migrated", "tcp 10.0.0.2:49152"));
  EXPECT_TRUE(AuditHas(*store_, "leaving", "1 programs go with a stream to tcp 10.0.0.2:49152"));
}

// A migration that failed resumes the domain: a later stop is a plain stop.
TEST_F(CoreTest, ProgramsThatStayedAreNotSaidToHaveLeft) {
  auto out = core_->Register(1, test::Prog("trace.exit", "t", kRet0));
  ASSERT_TRUE(out.ok());
  core_->Leaving(1, "file /var/lib/xen/save/one");
  core_->Stayed(1);
  EXPECT_EQ(core_->Program(out->id)->state, ProgState::kInstalled);
  DomainEvent ev;
  ev.kind = DomainEvent::Kind::kStopped;
  ev.domain.domid = 1;
  core_->OnDomainEvent(ev);
  EXPECT_EQ(core_->Program(out->id)->verdict.message, "domain stopped");
  EXPECT_TRUE(AuditHas(*store_, "stayed", "did not go to file /var/lib/xen/save/one"));
}

}  // namespace
}  // namespace hu::daemon
