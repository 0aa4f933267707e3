// The helpers of abi.h on the sim backend, with small programs in the
// assembler's syntax fired from trace.exit (a hypercall) and mem.protect (a
// guest write): region bounds, page walks, maps, trace ring, budgets, and
// the checks Install makes on what a guest sent.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/daemon/sim_backend.hpp"

namespace hu::daemon::sim {
namespace {

constexpr uint64_t kDirectMap = 0xffff888000000000ull;
constexpr int64_t kEfault = -HU_EFAULT;

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

class SimHelpers : public ::testing::Test {
 protected:
  SimHelpers() : sim_(Options()) {}
  static SimOptions Options() {
    SimOptions o;
    o.guests = {{1, "alpha", "", 2, 64}, {2, "beta", "", 2, 64}};
    return o;
  }

  uint64_t Sym(const std::string& name) { return *sim_.Symbol(1, name); }

  Status Install(uint64_t id, hu_hook_id hook, const std::string& text,
                 std::vector<hu_region> regions = {}, std::vector<MapSpec> maps = {},
                 uint64_t budget = 0, uint32_t domid = 1) {
    auto prog = Assemble(text);
    EXPECT_TRUE(prog.ok()) << (prog.ok() ? "" : prog.error().message);
    if (!prog.ok()) return prog.error();
    ProgramImage img;
    img.id = id;
    img.domid = domid;
    img.hook = hook;
    img.name = "t" + std::to_string(id);
    img.insns = *prog;
    img.regions = std::move(regions);
    img.maps = std::move(maps);
    img.run_budget = budget;
    return sim_.Install(img);
  }

  // Fires trace.exit on vCPU 0 (a hypercall with args a0, a1) and returns
  // the program's r0 as a signed value.
  int64_t Hypercall(uint64_t id, uint64_t a0 = 0, uint64_t a1 = 0, uint32_t vcpu = 0) {
    const uint64_t args[6] = {a0, a1, 0, 0, 0, 0};
    EXPECT_TRUE(sim_.GuestExit(1, vcpu, HU_EXIT_HYPERCALL, 12, args).ok());
    return static_cast<int64_t>(sim_.Stats(1, id)->last_result);
  }

  SimBackend sim_;
};

// read_gva(r10-8, 8, gva = args[0]); r0 = error or the value read.
const char* kReadGva = R"(
  ldxdw %r3, [%r1+16]
  mov %r1, %r10
  add %r1, -8
  mov %r2, 8
  call 4
  jne %r0, 0, out
  ldxdw %r0, [%r10-8]
out:
  exit
)";

TEST_F(SimHelpers, ReadGvaInsideARegionWalksThePageTables) {
  const uint64_t bitmap = Sym("page_free_bitmap");
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, kReadGva, {{bitmap, 2048, HU_REGION_READ, 0}}).ok());
  auto want = sim_.ReadGuestVirtual(1, 0, bitmap + 1024, 8);
  uint64_t v;
  std::memcpy(&v, want->data(), 8);
  ASSERT_NE(v, 0u);
  EXPECT_EQ(Hypercall(1, bitmap + 1024), static_cast<int64_t>(v));
  // Through the direct map alias of the same bytes: not registered.
  const uint64_t gpa = *sim_.Translate(1, 0, bitmap + 1024);
  EXPECT_EQ(Hypercall(1, kDirectMap + gpa), kEfault);
}

TEST_F(SimHelpers, ReadGvaOutsideOrAcrossARegionEdgeIsEfault) {
  const uint64_t bitmap = Sym("page_free_bitmap");
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, kReadGva, {{bitmap, 64, HU_REGION_READ, 0}}).ok());
  EXPECT_NE(Hypercall(1, bitmap + 56), kEfault);  // the last 8 bytes are inside
  EXPECT_EQ(Hypercall(1, bitmap + 60), kEfault);  // straddles the end
  EXPECT_EQ(Hypercall(1, bitmap - 8), kEfault);
  EXPECT_EQ(Hypercall(1, ~0ull - 3), kEfault);  // wraps
  EXPECT_EQ(sim_.Stats(1, 1)->errors, 0u);      // an EFAULT is an answer, not a crash
}

// A helper's error answer is counted apart from runs stopped by an error:
// the run went on. Each run's TSC cycles are counted.
TEST_F(SimHelpers, HelperErrorsAndCyclesAreCountedPerProgram) {
  const uint64_t bitmap = Sym("page_free_bitmap");
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, kReadGva, {{bitmap, 64, HU_REGION_READ, 0}}).ok());
  EXPECT_NE(Hypercall(1, bitmap), kEfault);
  EXPECT_EQ(sim_.Stats(1, 1)->helper_errors, 0u);
  EXPECT_EQ(Hypercall(1, bitmap + 64), kEfault);
  EXPECT_EQ(Hypercall(1, bitmap - 8), kEfault);
  auto st = sim_.Stats(1, 1);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->helper_errors, 2u);
  EXPECT_EQ(st->errors, 0u);
  EXPECT_EQ(st->runs, 3u);
  EXPECT_GT(st->cycles, 0u);
}

TEST_F(SimHelpers, ReadGvaOfAnUnmappedAddressInARegionIsEfault) {
  // Just past guest RAM in the direct map: inside the region, not mapped.
  const uint64_t end = kDirectMap + (64ull << 20);
  ASSERT_TRUE(
      Install(1, HU_HOOK_TRACE_EXIT, kReadGva, {{end - 4096, 8192, HU_REGION_READ, 0}}).ok());
  EXPECT_GE(Hypercall(1, end - 8), 0);
  EXPECT_EQ(Hypercall(1, end), kEfault);
}

TEST_F(SimHelpers, ReadGvaUsesTheFiringVcpusPageTables) {
  // User page 0x400000 differs per process; vCPU n runs process n.
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, kReadGva, {{0x400000, 8, HU_REGION_READ, 0}}).ok());
  EXPECT_EQ(Hypercall(1, 0x400000, 0, 0), static_cast<int64_t>(0x5553455200000000ull));
  EXPECT_EQ(Hypercall(1, 0x400000, 0, 1), static_cast<int64_t>(0x5553455200000100ull));
}

TEST_F(SimHelpers, ReadGpaNeedsAPhysicalRegion) {
  const char* read_gpa = R"(
    ldxdw %r3, [%r1+16]
    mov %r1, %r10
    add %r1, -8
    mov %r2, 8
    call 5
    jne %r0, 0, out
    ldxdw %r0, [%r10-8]
  out:
    exit
  )";
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, read_gpa,
                      {{0x1000000, 4096, HU_REGION_READ | HU_REGION_GPA, 0},
                       {0x2000000, 4096, HU_REGION_READ, 0}})
                  .ok());
  EXPECT_EQ(static_cast<uint64_t>(Hypercall(1, 0x1000000)), 0xccccccccccccccccull);  // kernel text
  EXPECT_EQ(Hypercall(1, 0x2000000), kEfault);  // that region is virtual
  EXPECT_EQ(Hypercall(1, 0x1001000), kEfault);  // past the region
}

TEST_F(SimHelpers, WriteGvaOnlyFromHooksAllowingItAndOnlyToWritableRegions) {
  // trace.exit may not write at all.
  const char* write_from_trace = R"(
    stdw [%r10-8], 7
    ldxdw %r1, [%r1+16]
    mov %r2, %r10
    add %r2, -8
    mov %r3, 8
    call 6
    exit
  )";
  const uint64_t task = Sym("init_task");
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, write_from_trace,
                      {{task, 64, HU_REGION_READ | HU_REGION_WRITE, 0}})
                  .ok());
  EXPECT_EQ(Hypercall(1, task), -HU_EPERM);

  // mem.protect may: this one writes the value being written at gva + 0x1000
  // and answers DENY (1) if write_gva failed.
  const char* protect = R"(
    mov %r6, %r1
    ldxdw %r2, [%r6+24]
    stxdw [%r10-8], %r2
    ldxdw %r1, [%r6+8]
    lddw %r3, 0x1000
    add %r1, %r3
    mov %r2, %r10
    add %r2, -8
    mov %r3, 8
    call 6
    jeq %r0, 0, ok
    mov %r0, 1
    exit
  ok:
    mov %r0, 0
    exit
  )";
  // Regions: ro_after_init + 0x1000 registered writable but mapped
  // read-only, and + 0x2000 registered read-only.
  const uint64_t ro = Sym("__start_ro_after_init");
  ASSERT_TRUE(Install(2, HU_HOOK_MEM_PROTECT, protect,
                      {{ro + 0x1000, 8, HU_REGION_READ | HU_REGION_WRITE, 0},
                       {ro + 0x2000, 8, HU_REGION_READ, 0}})
                  .ok());
  // Write lands on a read-only mapping: EFAULT -> DENY, nothing changes.
  auto before = sim_.ReadGuestVirtual(1, 0, ro + 0x1000, 8);
  auto guest_before = sim_.ReadGuestVirtual(1, 0, ro, 8);
  auto w = sim_.GuestWrite(1, 0, ro, 0x1234, 0x42, 8);
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(*w);
  EXPECT_EQ(*sim_.ReadGuestVirtual(1, 0, ro + 0x1000, 8), *before);
  EXPECT_EQ(*sim_.ReadGuestVirtual(1, 0, ro, 8), *guest_before);  // denied: not written
  // Target registered read-only: EFAULT too.
  EXPECT_FALSE(*sim_.GuestWrite(1, 0, ro + 0x1000, 0x1234, 0x42, 8));
  EXPECT_EQ(sim_.Counters().protect_denied, 2u);
}

TEST_F(SimHelpers, WriteGvaToAWritableMappingChangesGuestMemory) {
  const uint64_t task = Sym("init_task");
  const uint64_t ro = Sym("__start_ro_after_init");
  // mem.protect: copy the value being written into init_task+0, then allow.
  const std::string prog = R"(
    ldxdw %r2, [%r1+24]
    stxdw [%r10-8], %r2
    lddw %r1, )" + Hex(task) +
                           R"(
    mov %r2, %r10
    add %r2, -8
    mov %r3, 8
    call 6
    exit
  )";
  ASSERT_TRUE(
      Install(1, HU_HOOK_MEM_PROTECT, prog, {{task, 8, HU_REGION_READ | HU_REGION_WRITE, 0}}).ok());
  auto w = sim_.GuestWrite(1, 0, ro + 64, 0x1234, 0xfeedface, 8);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(*w);  // write_gva returned 0 = ALLOW
  auto bytes = sim_.ReadGuestVirtual(1, 0, task, 8);
  uint64_t v;
  std::memcpy(&v, bytes->data(), 8);
  EXPECT_EQ(v, 0xfeedfaceu);
  std::memcpy(&v, sim_.ReadGuestVirtual(1, 0, ro + 64, 8)->data(), 8);
  EXPECT_EQ(v, 0xfeedfaceu);  // and the guest's own write went through
}

// abi.h's contract for write_gva, case by case, from a mem.protect program
// fired by a guest write: write_gva(TARGET, r10 + SRC, SIZE)'s answer is the
// run's r0. Each error leaves guest memory as it was (all or nothing).
TEST_F(SimHelpers, WriteGvaAnswersAbiContractAndWritesAllOrNothing) {
  const uint64_t ro = Sym("__start_ro_after_init");
  const uint64_t edata = Sym("_edata");  // the last mapped page of data ends here
  const uint64_t task = Sym("init_task");
  const uint32_t rw = HU_REGION_READ | HU_REGION_WRITE;
  struct Case {
    const char* what;
    uint64_t target;
    int src;  // from r10
    uint64_t size;
    std::vector<hu_region> regions;
    int64_t want;
  };
  const std::vector<Case> cases = {
      {"written", task, -16, 16, {{task, 16, rw, 0}}, 0},
      {"size 0: nothing", task, -16, 0, {{task, 16, rw, 0}}, 0},
      {"size past the stack",
       task,
       -16,
       HU_STACK_FRAME * HU_MAX_CALL_DEPTH + 1,
       {{task, 8192, rw, 0}},
       -HU_EFAULT},
      {"buffer above the stack", task, 8, 8, {{task, 16, rw, 0}}, -HU_EFAULT},
      {"no region", task, -16, 16, {}, -HU_EFAULT},
      {"region read-only", task, -16, 16, {{task, 16, HU_REGION_READ, 0}}, -HU_EFAULT},
      {"across the region's end", task + 8, -16, 16, {{task, 16, rw, 0}}, -HU_EFAULT},
      {"mapped read-only", ro + 0x1000, -16, 16, {{ro + 0x1000, 16, rw, 0}}, -HU_EFAULT},
      {"second page not mapped", edata - 8, -16, 16, {{edata - 8, 16, rw, 0}}, -HU_EFAULT},
  };
  uint64_t id = 100;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string prog =
        "stdw [%r10-16], 0x11111111\n stdw [%r10-8], 0x22222222\n"
        " lddw %r1, " +
        Hex(c.target) + "\n mov %r2, %r10\n add %r2, " + std::to_string(c.src) + "\n mov %r3, " +
        std::to_string(c.size) + "\n call 6\n exit\n";
    ASSERT_TRUE(Install(++id, HU_HOOK_MEM_PROTECT, prog, c.regions).ok());
    const uint64_t first = c.target & ~0xfffull;
    auto before = sim_.ReadGuestVirtual(1, 0, c.target, 8);  // the first 8 bytes are mapped
    ASSERT_TRUE(before.ok());
    ASSERT_TRUE(sim_.GuestWrite(1, 0, ro, 0x1234, 0x42, 8).ok());
    EXPECT_EQ(static_cast<int64_t>(sim_.Stats(1, id)->last_result), c.want);
    auto after = sim_.ReadGuestVirtual(1, 0, c.target, 8);
    if (c.want == 0 && c.size) {
      uint64_t v;
      std::memcpy(&v, after->data(), 8);
      EXPECT_EQ(v, 0x11111111u);
    } else {
      EXPECT_EQ(*after, *before) << "guest memory at " << Hex(first) << " changed";
    }
    ASSERT_TRUE(sim_.Uninstall(1, id).ok());
  }
}

TEST_F(SimHelpers, BudgetAbortsAreCountedAndTheRunHasNoAnswer) {
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, "loop:\n ja loop\n", {}, {}, 1000).ok());
  const uint64_t args[6] = {};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sim_.GuestExit(1, 0, HU_EXIT_TRAP, 14, args).ok());
  auto s = sim_.Stats(1, 1);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->runs, 3u);
  EXPECT_EQ(s->budget_aborts, 3u);
  EXPECT_EQ(s->errors, 0u);
  EXPECT_GE(s->insns, 3000u);
  EXPECT_LE(s->insns, 3006u);
}

TEST_F(SimHelpers, RuntimeFaultsAreCountedAsErrors) {
  // A map handle is a token, not an address: dereferencing it faults.
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, "lddw %r1, map[0]\n ldxdw %r0, [%r1+0]\n exit\n", {},
                      {{"m", {HU_MAP_ARRAY, 4, 8, 1}}})
                  .ok());
  const uint64_t args[6] = {};
  ASSERT_TRUE(sim_.GuestExit(1, 0, HU_EXIT_HYPERCALL, 1, args).ok());
  EXPECT_EQ(sim_.Stats(1, 1)->errors, 1u);
  EXPECT_EQ(sim_.Stats(1, 1)->runs, 1u);
}

TEST_F(SimHelpers, HashMapUpdateLookupAndOperatorDump) {
  // key = args[0], value = args[1]; returns *lookup(key).
  const char* prog = R"(
    mov %r6, %r1
    ldxdw %r2, [%r6+16]
    stxdw [%r10-8], %r2
    ldxdw %r2, [%r6+24]
    stxdw [%r10-16], %r2
    lddw %r1, map[0]
    mov %r2, %r10
    add %r2, -8
    mov %r3, %r10
    add %r3, -16
    mov %r4, 0
    call 2
    jne %r0, 0, out
    lddw %r1, map[0]
    mov %r2, %r10
    add %r2, -8
    call 1
    jeq %r0, 0, none
    ldxdw %r0, [%r0+0]
    exit
  none:
    mov %r0, -1
  out:
    exit
  )";
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, prog, {}, {{"h", {HU_MAP_HASH, 8, 8, 2}}}).ok());
  EXPECT_EQ(Hypercall(1, 10, 100), 100);
  EXPECT_EQ(Hypercall(1, 11, 111), 111);
  EXPECT_EQ(Hypercall(1, 10, 101), 101);        // update in place
  EXPECT_EQ(Hypercall(1, 12, 120), -HU_E2BIG);  // full
  auto dump = sim_.MapDump(1, 1, 0);
  ASSERT_TRUE(dump.ok());
  ASSERT_EQ(dump->size(), 2u);
  uint64_t total = 0;
  for (const MapEntry& e : *dump) {
    uint64_t v;
    std::memcpy(&v, e.value.data(), 8);
    total += v;
  }
  EXPECT_EQ(total, 101u + 111u);
  EXPECT_EQ(sim_.MapDump(1, 1, 1).error().code, ErrorCode::kOutOfRange);
}

TEST_F(SimHelpers, PerVcpuArrayGivesEachVcpuItsOwnCopy) {
  // value[0] += 1 on the firing vCPU's copy.
  const char* prog = R"(
    stw [%r10-4], 0
    lddw %r1, map[0]
    mov %r2, %r10
    add %r2, -4
    call 1
    jeq %r0, 0, out
    ldxdw %r1, [%r0+0]
    add %r1, 1
    stxdw [%r0+0], %r1
  out:
    mov %r0, 0
    exit
  )";
  ASSERT_TRUE(
      Install(1, HU_HOOK_TRACE_EXIT, prog, {}, {{"pv", {HU_MAP_PERVCPU_ARRAY, 4, 8, 1}}}).ok());
  Hypercall(1, 0, 0, 0);
  Hypercall(1, 0, 0, 1);
  Hypercall(1, 0, 0, 1);
  auto dump = sim_.MapDump(1, 1, 0);
  ASSERT_TRUE(dump.ok());
  ASSERT_EQ(dump->size(), 2u);  // one entry per vCPU
  uint64_t v0, v1;
  std::memcpy(&v0, (*dump)[0].value.data(), 8);
  std::memcpy(&v1, (*dump)[1].value.data(), 8);
  EXPECT_EQ(v0, 1u);
  EXPECT_EQ(v1, 2u);
  // The operator sets vCPU 1's copy; the program sees it.
  MapEntry e;
  e.key = {0, 0, 0, 0, 1, 0, 0, 0};
  e.value = {50, 0, 0, 0, 0, 0, 0, 0};
  ASSERT_TRUE(sim_.MapUpdate(1, 1, 0, e).ok());
  Hypercall(1, 0, 0, 1);
  std::memcpy(&v1, (*sim_.MapDump(1, 1, 0))[1].value.data(), 8);
  EXPECT_EQ(v1, 51u);
  e.key = {0, 0, 0, 0};
  EXPECT_EQ(sim_.MapUpdate(1, 1, 0, e).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SimHelpers, TraceOutputReachesTheRingWithItsOrigin) {
  // trace_output(&ctx->code, 16): code and args[0].
  const char* prog = R"(
    add %r1, 8
    mov %r2, 16
    call 7
    exit
  )";
  ASSERT_TRUE(Install(7, HU_HOOK_TRACE_EXIT, prog).ok());
  EXPECT_EQ(Hypercall(7, 0xabcd), 0);
  auto recs = sim_.DrainTrace();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].domid, 1u);
  EXPECT_EQ(recs[0].prog_id, 7u);
  ASSERT_EQ(recs[0].data.size(), 16u);
  uint64_t code, a0;
  std::memcpy(&code, recs[0].data.data(), 8);
  std::memcpy(&a0, recs[0].data.data() + 8, 8);
  EXPECT_EQ(code, 12u);
  EXPECT_EQ(a0, 0xabcdu);
  EXPECT_TRUE(sim_.DrainTrace().empty());
}

TEST_F(SimHelpers, TraceOutputRefusesOversizeRecords) {
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, "mov %r2, 257\n call 7\n exit\n").ok());
  EXPECT_EQ(Hypercall(1), -HU_E2BIG);
  EXPECT_TRUE(sim_.DrainTrace().empty());
}

TEST_F(SimHelpers, HelpersRefuseBadPointersAndHandles) {
  const uint64_t bitmap = Sym("page_free_bitmap");
  // read_gva into the (read-only) context: EFAULT, context unchanged.
  std::string prog = "mov %r2, 8\n lddw %r3, " + Hex(bitmap) + "\n call 4\n exit\n";
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, prog, {{bitmap, 64, HU_REGION_READ, 0}}).ok());
  EXPECT_EQ(Hypercall(1), kEfault);
  // A made-up map handle: lookup gives NULL, update -EINVAL.
  ASSERT_TRUE(Install(2, HU_HOOK_TRACE_EXIT,
                      "lddw %r1, 0x48554d4150000003\n mov %r2, %r10\n add %r2, -8\n"
                      " stdw [%r10-8], 0\n call 1\n exit\n",
                      {}, {{"m", {HU_MAP_ARRAY, 4, 8, 1}}})
                  .ok());
  const uint64_t args[6] = {};
  ASSERT_TRUE(sim_.GuestExit(1, 0, HU_EXIT_HYPERCALL, 1, args).ok());
  EXPECT_EQ(sim_.Stats(1, 2)->last_result, 0u);
  EXPECT_EQ(sim_.Stats(1, 2)->errors, 0u);
  // A key pointer outside the stack and every region: lookup gives NULL.
  ASSERT_TRUE(Install(3, HU_HOOK_TRACE_EXIT, "lddw %r1, map[0]\n mov %r2, 64\n call 1\n exit\n", {},
                      {{"m", {HU_MAP_ARRAY, 4, 8, 1}}})
                  .ok());
  ASSERT_TRUE(sim_.GuestExit(1, 0, HU_EXIT_HYPERCALL, 1, args).ok());
  EXPECT_EQ(sim_.Stats(1, 3)->last_result, 0u);
}

TEST(SimTraceRing, AFullRingDropsAndCounts) {
  SimOptions o;
  o.trace_ring_records = 2;
  SimBackend sim(o);
  auto prog =
      Assemble("stdw [%r10-8], 1\n mov %r1, %r10\n add %r1, -8\n mov %r2, 8\n call 7\n exit\n");
  ASSERT_TRUE(prog.ok());
  ProgramImage img;
  img.id = 1;
  img.domid = 1;
  img.hook = HU_HOOK_TRACE_EXIT;
  img.insns = *prog;
  ASSERT_TRUE(sim.Install(img).ok());
  const uint64_t args[6] = {};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sim.GuestExit(1, 0, HU_EXIT_TRAP, 3, args).ok());
  EXPECT_EQ(static_cast<int64_t>(sim.Stats(1, 1)->last_result), -HU_ENOSPC);
  EXPECT_EQ(sim.Counters().trace_dropped, 1u);
  EXPECT_EQ(sim.DrainTrace().size(), 2u);
  ASSERT_TRUE(sim.GuestExit(1, 0, HU_EXIT_TRAP, 3, args).ok());
  EXPECT_EQ(sim.Stats(1, 1)->last_result, 0u);  // room again after the drain
}

TEST_F(SimHelpers, KtimeIsSimulatedHostTime) {
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, "call 8\n exit\n").ok());
  sim_.RunTicks(10);
  EXPECT_EQ(static_cast<uint64_t>(Hypercall(1)), sim_.Counters().now_ns);
}

TEST_F(SimHelpers, VcpuStateReportsTheHostsView) {
  // vcpu_state(args[0], r10-64, 64); r0 = gs_base or the error.
  const char* prog = R"(
    ldxdw %r1, [%r1+16]
    mov %r2, %r10
    add %r2, -64
    mov %r3, 64
    call 9
    jne %r0, 0, out
    ldxdw %r0, [%r10-32]
  out:
    exit
  )";
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, prog).ok());
  auto vcpus = sim_.Vcpus(1);
  EXPECT_EQ(static_cast<uint64_t>(Hypercall(1, 1)), (*vcpus)[1].gs_base);
  EXPECT_EQ(Hypercall(1, 2), -HU_ENOENT);
}

// A helper that fails writes zeros over the whole buffer it was given:
// the verifier counts that buffer as written, so no byte of an earlier run
// (0xaa here) may survive. r0 = the OR of the buffer's 8 words, or a
// marker if the helper did not fail.
std::string ZeroOnFailure(const std::string& call) {
  std::string p = "lddw %r6, 0xaaaaaaaaaaaaaaaa\n";
  for (int off = 8; off <= 64; off += 8) p += "stxdw [%r10-" + std::to_string(off) + "], %r6\n";
  p += call + "\njsge %r0, 0, ok\nmov %r0, 0\n";
  for (int off = 8; off <= 64; off += 8)
    p += "ldxdw %r1, [%r10-" + std::to_string(off) + "]\nor %r0, %r1\n";
  return p + "exit\nok:\nmov %r0, 7777\nexit\n";
}

TEST_F(SimHelpers, FailingHelpersZeroTheWholeBuffer) {
  const uint64_t bitmap = Sym("page_free_bitmap");
  const uint64_t end = kDirectMap + (64ull << 20);
  const std::string dst = "mov %r1, %r10\nadd %r1, -64\nmov %r2, 64\n";
  struct {
    const char* what;
    std::string call;
    std::vector<hu_region> regions;
  } cases[] = {
      {"read_gva outside every region",
       dst + "lddw %r3, " + Hex(bitmap - 4096) + "\ncall 4",
       {{bitmap, 64, HU_REGION_READ, 0}}},
      // The first page is mapped and copied, the second is not.
      {"read_gva that faults half way",
       dst + "lddw %r3, " + Hex(end - 32) + "\ncall 4",
       {{end - 4096, 8192, HU_REGION_READ, 0}}},
      {"read_gpa outside every region",
       dst + "mov %r3, 0x3000\ncall 5",
       {{0x1000000, 4096, HU_REGION_READ | HU_REGION_GPA, 0}}},
      {"vcpu_state of a vCPU the guest does not have",
       "mov %r1, 99\nmov %r2, %r10\nadd %r2, -64\nmov %r3, 64\ncall 9",
       {}},
      {"vcpu_state asked for more than its struct",
       "mov %r1, 0\nmov %r2, %r10\nadd %r2, -64\nmov %r3, 64\nadd %r3, 1\nsub %r2, 1\ncall 9",
       {}},
  };
  uint64_t id = 1;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    ASSERT_TRUE(Install(id, HU_HOOK_TRACE_EXIT, ZeroOnFailure(c.call), c.regions).ok());
    EXPECT_EQ(Hypercall(id), 0);
    ++id;
  }
}

TEST_F(SimHelpers, InstallRefusesWhatTheGuestGotWrong) {
  auto msg = [](const Status& s) { return s.ok() ? std::string("ok") : s.error().message; };
  Status s = Install(1, HU_HOOK_TRACE_EXIT, "lddw %r1, map[2]\n mov %r0, 0\n exit\n", {},
                     {{"m", {HU_MAP_ARRAY, 4, 8, 1}}});
  EXPECT_NE(msg(s).find("insn 0: map index 2 out of range (program has 1 maps)"), std::string::npos)
      << msg(s);
  s = Install(1, HU_HOOK_TRACE_EXIT, "mov %r0, 0\n exit\n",
              {{0x1000, 2u << 20, HU_REGION_READ, 0}});
  EXPECT_NE(msg(s).find("more than 2% of guest RAM"), std::string::npos) << msg(s);
  s = Install(1, HU_HOOK_TRACE_EXIT, "mov %r0, 0\n exit\n", {},
              {{"big", {HU_MAP_HASH, 8, 4096, 65536}}});
  EXPECT_NE(msg(s).find("map 'big'"), std::string::npos) << msg(s);
  s = Install(1, HU_HOOK_TRACE_EXIT, "mov %r0, 0\n exit\n", {}, {{"k", {HU_MAP_ARRAY, 8, 8, 1}}});
  EXPECT_NE(msg(s).find("arrays take a u32 key"), std::string::npos) << msg(s);
  s = Install(1, static_cast<hu_hook_id>(9), "mov %r0, 0\n exit\n");
  EXPECT_NE(msg(s).find("hook id 9"), std::string::npos) << msg(s);
  s = Install(1, HU_HOOK_TRACE_EXIT, "mov %r0, 0\n exit\n", {}, {}, 0, 5);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, "mov %r0, 0\n exit\n").ok());
  s = Install(1, HU_HOOK_TRACE_EXIT, "mov %r0, 0\n exit\n", {}, {}, 0, 2);
  EXPECT_EQ(s.error().code, ErrorCode::kAlreadyExists);
  // Nothing half-installed: only program 1 exists, and it runs.
  EXPECT_EQ(Hypercall(1), 0);
  EXPECT_EQ(sim_.Uninstall(1, 1).ok(), true);
  EXPECT_EQ(sim_.Uninstall(1, 1).error().code, ErrorCode::kNotFound);
}

TEST_F(SimHelpers, AGuestsProgramsRunOnlyForThatGuest) {
  ASSERT_TRUE(Install(1, HU_HOOK_TRACE_EXIT, "mov %r0, 1\n exit\n", {}, {}, 0, 2).ok());
  const uint64_t args[6] = {};
  ASSERT_TRUE(sim_.GuestExit(1, 0, HU_EXIT_HYPERCALL, 1, args).ok());
  EXPECT_EQ(sim_.Stats(2, 1)->runs, 0u);
  EXPECT_EQ(sim_.Stats(1, 1).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace hu::daemon::sim
