// The daemon's core without gRPC: decisions, persistence, identity.
#include "core.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core_fixture.hpp"

namespace hu::daemon {
namespace {

using test::Bytes;
using test::CoreTest;
using test::FakeBackend;
using test::kCallTrace;
using test::kRet0;
using test::Prog;

TEST_F(CoreTest, AcceptedProgramIsPersistedInstalledAndAnnounced) {
  auto sub = bus_.Subscribe();
  auto out = core_->Register(1, Prog("trace.exit", "ret0", kRet0));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->verdict.kind, VerdictKind::kAccepted);
  EXPECT_EQ(backend_->installed.count(out->id), 1u);
  EXPECT_EQ(backend_->installed[out->id].domid, 1u);
  auto ev = sub->Next(1000);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->kind(), hyperupcall::operator_api::v1::EVENT_KIND_REGISTERED);
  EXPECT_EQ(ev->prog_id(), out->id);
}

TEST_F(CoreTest, VerifierRejectionNamesTheInstructionAndInstallsNothing) {
  auto out = core_->Register(1, Prog("trace.exit", "oob", "ldxdw %r0, [%r10+8]\nexit\n"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->verdict.kind, VerdictKind::kRejected);
  EXPECT_EQ(out->verdict.stage, "verifier");
  EXPECT_EQ(out->verdict.error_pc, 0);
  EXPECT_NE(out->verdict.message.find("insn 0"), std::string::npos) << out->verdict.message;
  EXPECT_TRUE(backend_->installed.empty());
}

TEST_F(CoreTest, MalformedRequestIsAnErrorAndLeavesNoProgram) {
  RawProgram r = Prog("trace.exit", "x", kRet0);
  r.insn_bytes.pop_back();
  auto out = core_->Register(1, r);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(out.error().message.find("not a multiple of 8"), std::string::npos);
  EXPECT_TRUE(core_->Programs(std::nullopt, true).empty());
}

TEST_F(CoreTest, PolicyIsCheckedBeforeTheVerifier) {
  Policy p = DefaultPolicy();
  p.allowed_helpers &= ~(1ull << HU_HELPER_TRACE_OUTPUT);
  ASSERT_TRUE(core_->SetPolicy(1, p).ok());
  auto out = core_->Register(1, Prog("trace.exit", "t", kCallTrace));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->verdict.stage, "policy");
  EXPECT_EQ(out->verdict.code, static_cast<int32_t>(ErrorCode::kPermissionDenied));
  EXPECT_NE(out->verdict.message.find("insn 4 calls helper trace_output (7)"), std::string::npos)
      << out->verdict.message;
  // Domain 2 keeps the default and may call it.
  auto other = core_->Register(2, Prog("trace.exit", "t", kCallTrace));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->verdict.kind, VerdictKind::kAccepted) << other->verdict.message;
}

// The verifier's budget comes from the domain's policy: a default lowered
// below what a 300-iteration loop needs rejects it naming the budget, and a
// domain whose own policy raises the budget gets it accepted.
TEST_F(CoreTest, PolicyVerifierBudgetLimitsLoopsPerDomain) {
  constexpr const char* kLoop =
      "mov %r0, 0\nmov %r6, 300\nloop:\nadd %r0, 1\nsub %r6, 1\njne %r6, 0, loop\nexit\n";
  Policy low = DefaultPolicy();
  low.verifier_budget = 500;
  ASSERT_TRUE(core_->SetPolicy(std::nullopt, low).ok());
  Policy high = low;
  high.verifier_budget = 5000;
  ASSERT_TRUE(core_->SetPolicy(1, high).ok());
  auto out = core_->Register(2, Prog("mem.reclaim", "loop", kLoop));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->verdict.kind, VerdictKind::kRejected);
  EXPECT_NE(out->verdict.message.find("budget of 500 instructions"), std::string::npos)
      << out->verdict.message;
  auto raised = core_->Register(1, Prog("mem.reclaim", "loop", kLoop));
  ASSERT_TRUE(raised.ok());
  EXPECT_EQ(raised->verdict.kind, VerdictKind::kAccepted) << raised->verdict.message;
}

// A libvirt domain's policy is kept under its UUID: it follows the domain
// to its next domid, survives a restart, and the domid it left does not
// keep it; a domid row from before moves to the UUID once it is known.
TEST_F(CoreTest, LibvirtDomainPolicyFollowsItsUuid) {
  const std::string uuid = "4dea22b3-1d52-d8f3-2516-782e98ab3fa1";
  PolicyScopes scopes;
  core_->SetPolicyScopes(&scopes);
  Policy p = DefaultPolicy();
  p.max_insns = 123;
  Policy old = DefaultPolicy();
  old.max_insns = 77;
  ASSERT_TRUE(core_->SetPolicy(2, old).ok());  // dom2 before libvirt knew it
  scopes.Bind(2, uuid);
  EXPECT_TRUE(core_->GetPolicy(2).inherited);  // the domid row is not the UUID's
  ASSERT_TRUE(core_->AdoptDomidPolicy(2).ok());
  EXPECT_EQ(core_->GetPolicy(2).policy.max_insns, 77u);
  ASSERT_TRUE(core_->SetPolicy(2, p).ok());
  EXPECT_EQ(core_->PolicyScopeOf(2), "libvirt:" + uuid);
  scopes.Unbind(2, uuid);
  EXPECT_TRUE(core_->GetPolicy(2).inherited);  // another domain under id 2
  EXPECT_EQ(core_->PolicyScopeOf(2), "domain:2");
  scopes.Bind(3, uuid);  // started again
  EXPECT_FALSE(core_->GetPolicy(3).inherited);
  EXPECT_EQ(core_->GetPolicy(3).policy.max_insns, 123u);

  Reopen();
  core_->SetPolicyScopes(&scopes);
  EXPECT_EQ(core_->GetPolicy(3).policy.max_insns, 123u);
  EXPECT_TRUE(core_->GetPolicy(2).inherited);
  ASSERT_TRUE(core_->ClearPolicy(3).ok());
  EXPECT_TRUE(core_->GetPolicy(3).inherited);

  // Set while the domain is not running (no domid): it has it at its start.
  scopes.Unbind(3, uuid);
  ASSERT_TRUE(core_->SetLibvirtPolicy(uuid, old, "operator API", {}).ok());
  EXPECT_FALSE(core_->GetLibvirtPolicy(uuid).inherited);
  scopes.Bind(5, uuid);
  EXPECT_EQ(core_->GetPolicy(5).policy.max_insns, 77u);
  EXPECT_EQ(core_->GetPolicy(5).libvirt_uuid, uuid);
  ASSERT_TRUE(core_->ClearLibvirtPolicy(uuid).ok());
  EXPECT_TRUE(core_->GetPolicy(5).inherited);
  EXPECT_EQ(core_->ClearLibvirtPolicy(uuid).error().code, ErrorCode::kNotFound);
  core_->SetPolicyScopes(nullptr);
}

TEST_F(CoreTest, MaxProgramsCountsInstalledAndPending) {
  Policy p = DefaultPolicy();
  p.max_programs = 1;
  ASSERT_TRUE(core_->SetPolicy(1, p).ok());
  ASSERT_EQ(core_->Register(1, Prog("trace.exit", "a", kRet0))->verdict.kind,
            VerdictKind::kAccepted);
  auto second = core_->Register(1, Prog("trace.exit", "b", kRet0));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->verdict.kind, VerdictKind::kRejected);
  EXPECT_EQ(second->verdict.code, static_cast<int32_t>(ErrorCode::kResourceExhausted));
}

TEST_F(CoreTest, ApprovalHoldsThenInstalls) {
  Policy p = DefaultPolicy();
  p.require_approval = true;
  ASSERT_TRUE(core_->SetPolicy(std::nullopt, p).ok());
  auto out = core_->Register(2, Prog("trace.exit", "held", kRet0));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->verdict.kind, VerdictKind::kPending);
  EXPECT_TRUE(backend_->installed.empty());
  ASSERT_EQ(core_->Pending(std::nullopt).size(), 1u);
  auto ok = core_->Approve(out->id);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->state, ProgState::kInstalled);
  EXPECT_EQ(backend_->installed.count(out->id), 1u);
  auto again = core_->Approve(out->id);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(CoreTest, AGuestCannotTouchAnotherGuestsProgram) {
  auto out = core_->Register(1, Prog("trace.exit", "mine", kRet0));
  ASSERT_TRUE(out.ok());
  auto st = core_->Unregister(2, out->id);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(core_->ReadMap(2, out->id, "", 0).ok());
  EXPECT_TRUE(core_->GuestPrograms(2, true).empty());
  EXPECT_EQ(backend_->installed.count(out->id), 1u);
  EXPECT_TRUE(core_->Unregister(1, out->id).ok());
  EXPECT_TRUE(backend_->installed.empty());
}

TEST_F(CoreTest, RestartReinstallsFromTheStore) {
  auto out = core_->Register(1, Prog("trace.exit", "keep", kRet0));
  ASSERT_TRUE(out.ok());
  Policy p = DefaultPolicy();
  p.max_insns = 100;
  ASSERT_TRUE(core_->SetPolicy(2, p).ok());
  Reopen();  // a new core and an empty backend over the same database
  EXPECT_EQ(backend_->installed.count(out->id), 1u);
  auto rec = core_->Program(out->id);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->state, ProgState::kInstalled);
  EXPECT_EQ(core_->GetPolicy(2).policy.max_insns, 100u);
  EXPECT_FALSE(core_->GetPolicy(2).inherited);
  // Ids are never reused.
  auto next = core_->Register(1, Prog("trace.exit", "next", kRet0));
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->id, out->id);
}

// A restart with many programs is one transaction (one fsync), whether the
// reinstalls succeed or fail, and what it wrote is there after the next one.
TEST_F(CoreTest, RestartWritesEveryReinstallInOneCommit) {
  std::vector<uint64_t> ids;
  Policy many = DefaultPolicy();
  many.max_programs = 20;
  for (uint32_t domid = 1; domid <= 2; ++domid) {
    ASSERT_TRUE(core_->SetPolicy(domid, many).ok());
    for (int i = 0; i < 20; ++i) {
      auto out = core_->Register(domid, Prog("trace.exit", "p", kRet0));
      ASSERT_TRUE(out.ok()) << out.error().message;
      ASSERT_EQ(out->verdict.kind, VerdictKind::kAccepted) << out->verdict.message;
      ids.push_back(out->id);
    }
  }
  const size_t reinstalled_before = AuditRowsSaying("reinstalled");
  Reopen();
  EXPECT_EQ(restore_commits_, 1u);
  EXPECT_EQ(backend_->installed.size(), ids.size());
  EXPECT_EQ(AuditRowsSaying("reinstalled"), reinstalled_before + ids.size());

  Reopen({}, /*fail_install=*/true);
  EXPECT_EQ(restore_commits_, 1u);
  EXPECT_TRUE(backend_->installed.empty());
  Reopen();  // nothing left to reinstall: the failures were committed
  EXPECT_EQ(restore_commits_, 1u);
  EXPECT_TRUE(backend_->installed.empty());
  for (uint64_t id : ids) {
    auto rec = core_->Program(id);
    if (!rec.ok()) continue;  // retention may drop finished programs
    EXPECT_EQ(rec->state, ProgState::kFailed);
    EXPECT_NE(rec->verdict.message.find("at daemon start"), std::string::npos);
  }
}

// 2 instructions, 10 iterations of 2, the exit: the worst-case path is 23.
constexpr const char* kLoop23 = "mov %r0, 0\nmov %r2, 0\nadd %r2, 1\njlt %r2, 10, -2\nexit\n";

TEST_F(CoreTest, WorstCasePathOverTheRunBudgetIsRejectedWithBothNumbers) {
  Policy p = DefaultPolicy();
  p.run_budget = 22;
  ASSERT_TRUE(core_->SetPolicy(1, p).ok());
  auto out = core_->Register(1, Prog("trace.exit", "loop", kLoop23));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->verdict.kind, VerdictKind::kRejected);
  EXPECT_EQ(out->verdict.stage, "policy");
  EXPECT_EQ(out->verdict.code, static_cast<int32_t>(ErrorCode::kResourceExhausted));
  EXPECT_NE(out->verdict.message.find("worst-case path runs 23 instructions, more than the run "
                                      "budget of 22 instructions per run (operator policy for "
                                      "domain 1)"),
            std::string::npos)
      << out->verdict.message;
  EXPECT_TRUE(backend_->installed.empty());
  p.run_budget = 23;  // exactly enough
  ASSERT_TRUE(core_->SetPolicy(1, p).ok());
  auto fits = core_->Register(1, Prog("trace.exit", "loop", kLoop23));
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits->verdict.kind, VerdictKind::kAccepted) << fits->verdict.message;
  // A policy budget of 0 is the backend's, when the backend says what it is.
  backend_->default_run_budget = 10;
  auto small = core_->Register(2, Prog("trace.exit", "loop", kLoop23));
  ASSERT_TRUE(small.ok());
  EXPECT_NE(small->verdict.message.find("23 instructions, more than the run budget of 10 "
                                        "instructions per run (the backend's default)"),
            std::string::npos)
      << small->verdict.message;
}

// The policy tightened while the daemon was down: the restored program's
// worst-case path no longer fits, and it is not reinstalled.
TEST_F(CoreTest, RestartRechecksTheWorstCasePathAgainstTheBudget) {
  auto out = core_->Register(1, Prog("trace.exit", "loop", kLoop23));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->verdict.kind, VerdictKind::kAccepted) << out->verdict.message;
  Policy p = DefaultPolicy();
  p.run_budget = 20;
  ASSERT_TRUE(core_->SetPolicy(1, p).ok());
  Reopen();
  EXPECT_TRUE(backend_->installed.empty());
  auto rec = core_->Program(out->id);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->state, ProgState::kRejected);
  EXPECT_EQ(rec->verdict.stage, "policy");
  EXPECT_NE(rec->verdict.message.find("at daemon start: worst-case path runs 23 instructions"),
            std::string::npos)
      << rec->verdict.message;
}

TEST_F(CoreTest, BackendFailureIsReportedNotHidden) {
  backend_->fail_install = true;
  auto out = core_->Register(1, Prog("trace.exit", "x", kRet0));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->verdict.kind, VerdictKind::kRejected);
  EXPECT_EQ(out->verdict.stage, "backend");
  EXPECT_EQ(core_->Program(out->id)->state, ProgState::kFailed);
}

TEST_F(CoreTest, DetachUninstalls) {
  auto out = core_->Register(1, Prog("trace.exit", "x", kRet0));
  ASSERT_TRUE(out.ok());
  auto d = core_->Detach(out->id, "because");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state, ProgState::kDetached);
  EXPECT_EQ(d->verdict.message, "operator: because");
  EXPECT_TRUE(backend_->installed.empty());
  EXPECT_EQ(core_->Detach(out->id, "").error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(CoreTest, DomainStopDetachesItsProgramsOnly) {
  auto mine = core_->Register(1, Prog("trace.exit", "a", kRet0));
  auto other = core_->Register(2, Prog("trace.exit", "b", kRet0));
  ASSERT_TRUE(mine.ok() && other.ok());
  auto sub = bus_.Subscribe();
  DomainEvent ev;
  ev.kind = DomainEvent::Kind::kStopped;
  ev.domain.domid = 1;
  core_->OnDomainEvent(ev);
  EXPECT_EQ(core_->Program(mine->id)->state, ProgState::kDetached);
  EXPECT_EQ(core_->Program(mine->id)->verdict.message, "domain stopped");
  EXPECT_EQ(core_->Program(other->id)->state, ProgState::kInstalled);
  bool saw_stop = false;
  while (auto e = sub->Next(100)) {
    saw_stop |= e->kind() == hyperupcall::operator_api::v1::EVENT_KIND_DOMAIN_STOPPED;
  }
  EXPECT_TRUE(saw_stop);
}

TEST_F(CoreTest, RejectedProgramsAreCappedPerDomainAndIdsStayUnique) {
  uint64_t last = 0;
  for (int i = 0; i < 40; ++i) {
    auto out = core_->Register(1, Prog("trace.exit", "bad", "ldxdw %r0, [%r10+8]\nexit\n"));
    ASSERT_TRUE(out.ok());
    EXPECT_GT(out->id, last);
    last = out->id;
  }
  EXPECT_EQ(core_->Programs(1, true).size(), 32u);
  Reopen();
  EXPECT_EQ(core_->Programs(1, true).size(), 32u);
  auto next = core_->Register(1, Prog("trace.exit", "ok", kRet0));
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->id, last);
}

// What the backend cannot install is refused before the verifier runs:
// the verdict names the backend and its limit, and nothing was verified.
TEST_F(CoreTest, BackendLimitsAreCheckedBeforeTheVerifier) {
  BackendLimits l;
  l.max_insns = 4;
  l.hooks = 1ull << HU_HOOK_TRACE_EXIT;
  l.max_programs = 1;
  Reopen(l);
  auto big = core_->Register(1, Prog("trace.exit", "big",
                                     "mov %r0, 0\nmov %r0, 1\nmov %r0, 2\n"
                                     "mov %r0, 3\nexit\n"));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->verdict.stage, "backend");
  EXPECT_EQ(big->verdict.message, "program has 5 instructions, backend fake installs at most 4");
  EXPECT_EQ(big->verdict.code, static_cast<int32_t>(ErrorCode::kResourceExhausted));
  EXPECT_EQ(core_->Program(big->id)->verifier_states, 0u);  // never verified
  auto hook = core_->Register(1, Prog("mem.reclaim", "r", kRet0));
  ASSERT_TRUE(hook.ok());
  EXPECT_EQ(hook->verdict.code, static_cast<int32_t>(ErrorCode::kUnimplemented));
  EXPECT_NE(hook->verdict.message.find("backend fake cannot attach programs to hook mem.reclaim "
                                       "(it can to: trace.exit)"),
            std::string::npos)
      << hook->verdict.message;
  ASSERT_EQ(core_->Register(1, Prog("trace.exit", "a", kRet0))->verdict.kind,
            VerdictKind::kAccepted);
  auto second = core_->Register(1, Prog("trace.exit", "b", kRet0));
  EXPECT_NE(second->verdict.message.find("backend fake holds at most 1 per domain"),
            std::string::npos)
      << second->verdict.message;
}

// Loading and unloading forever does not grow memory or the database:
// finished programs beyond the last 32 per domain are dropped, and a
// finished one kept still shows its bytes and log (from the database).
TEST_F(CoreTest, FinishedProgramsAreRetainedBoundedly) {
  uint64_t first = 0, last = 0;
  for (int i = 0; i < 100; ++i) {
    auto out = core_->Register(1, Prog("trace.exit", "cycle", kRet0));
    ASSERT_TRUE(out.ok());
    ASSERT_TRUE(core_->Unregister(1, out->id).ok());
    if (!first) first = out->id;
    last = out->id;
  }
  EXPECT_EQ(core_->Programs(1, true).size(), 32u);
  EXPECT_FALSE(core_->Program(first).ok());
  auto kept = core_->Program(last);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->state, ProgState::kDetached);
  EXPECT_EQ(kept->insns.size(), 2u);
  EXPECT_EQ(kept->insn_count, 2u);
  EXPECT_FALSE(kept->verifier_log.empty());
  Reopen();
  EXPECT_EQ(core_->Programs(1, true).size(), 32u);
  EXPECT_TRUE(core_->Programs(1, false).empty());
}

size_t CountRows(const std::vector<AuditRow>& rows, const std::string& decision, uint64_t* count) {
  size_t n = 0;
  *count = 0;
  for (const auto& r : rows) {
    if (r.decision != decision) continue;
    ++n;
    *count += r.count;
  }
  return n;
}

// A guest sending the same refused program again and again adds to one
// audit row's count instead of a row each.
TEST_F(CoreTest, RepeatedRefusalsShareOneAuditRow) {
  for (int i = 0; i < 40; ++i) {
    auto out = core_->Register(1, Prog("trace.exit", "bad", "ldxdw %r0, [%r10+8]\nexit\n"));
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->verdict.stage, "verifier");
  }
  // Something else refused starts a row of its own.
  ASSERT_TRUE(core_->Register(1, Prog("trace.exit", "other", "exit\n")).ok());
  Reopen();  // committed, not just in memory
  auto rows = store_->AuditLog(1000);
  ASSERT_TRUE(rows.ok());
  uint64_t count = 0;
  EXPECT_EQ(CountRows(*rows, "rejected", &count), 2u);
  EXPECT_EQ(count, 41u);
}

// Requests that are not programs: a few audit rows, each counting how many
// it stands for; every one of them still answered INVALID_ARGUMENT.
TEST_F(CoreTest, MalformedRequestsAreAuditedAtABoundedRate) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    RawProgram r = Prog("trace.exit", "x", kRet0);
    r.insn_bytes.resize(8 + 1 + i % 7);  // a different length (and message) each
    auto out = core_->Register(1, r);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, ErrorCode::kInvalidArgument);
  }
  const auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start)
          .count();
  Reopen();
  auto rows = store_->AuditLog(1000);
  ASSERT_TRUE(rows.ok());
  uint64_t count = 0;
  const size_t n = CountRows(*rows, "rejected", &count);
  EXPECT_GE(n, 1u);
  EXPECT_LE(n, 5u + static_cast<size_t>(secs) + 1);  // the burst, then one a second
  EXPECT_EQ(count, 200u);
}

// Many registrations at once, from many threads: each gets a verdict, and
// the program count stays within the policy while they are in flight.
TEST_F(CoreTest, ConcurrentRegistrationsAllGetVerdictsWithinTheQuota) {
  Policy p = DefaultPolicy();
  p.max_programs = 4;
  ASSERT_TRUE(core_->SetPolicy(1, p).ok());
  std::atomic<int> accepted{0}, refused{0}, errors{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 16; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto out = core_->Register(1, Prog("trace.exit", "c", kRet0));
        if (!out.ok()) {
          ++errors;
        } else if (out->verdict.kind == VerdictKind::kAccepted) {
          ++accepted;
        } else {
          ++refused;
          EXPECT_NE(out->verdict.message.find("operator policy allows at most 4"),
                    std::string::npos)
              << out->verdict.message;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(accepted.load(), 4);
  EXPECT_EQ(refused.load(), 156);
  EXPECT_EQ(backend_->installed.size(), 4u);
}

}  // namespace
}  // namespace hu::daemon
