// The loader on objects compiled from bpf/*.c by this build.
#include "hyperupcall/guest/loader.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_util.hpp"

namespace hu::guest {
namespace {

using testing::Obj;
using testing::TableResolver;

constexpr uint8_t kLddw = HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW;
constexpr uint8_t kCall = HU_CLS_JMP | HU_JMP_CALL;

Program MustLink(const std::string& obj, const std::string& prog, SymbolResolver* ksyms = nullptr) {
  auto o = BpfObject::FromFile(Obj(obj));
  EXPECT_TRUE(o.ok()) << (o.ok() ? "" : o.error().message);
  if (!o.ok()) return {};
  auto p = o->Link(prog, ksyms);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? std::move(p).value() : Program{};
}

std::string OpenError(const std::string& obj) {
  auto o = BpfObject::FromFile(Obj(obj));
  return o.ok() ? "(opened)" : o.error().message;
}

std::string LinkError(const std::string& obj, const std::string& prog, SymbolResolver* ksyms) {
  auto o = BpfObject::FromFile(Obj(obj));
  if (!o.ok()) return "(open failed) " + o.error().message;
  auto p = o->Link(prog, ksyms);
  return p.ok() ? "(linked)" : p.error().message;
}

// Indices of lddw instructions with src = HU_PSEUDO_MAP_IDX.
std::vector<int32_t> MapRefs(const Program& p) {
  std::vector<int32_t> refs;
  for (size_t i = 0; i < p.insns.size(); ++i) {
    if (p.insns[i].code == kLddw) {
      if (p.insns[i].src == HU_PSEUDO_MAP_IDX) refs.push_back(p.insns[i].imm);
      ++i;
    }
  }
  return refs;
}

TEST(Loader, ListsProgramsWithTheirHooksAndLicense) {
  auto o = BpfObject::FromFile(Obj("maps"));
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->license(), "GPL");
  auto progs = o->programs();
  ASSERT_EQ(progs.size(), 2u);
  EXPECT_EQ(progs[0].name, "count_exits");
  EXPECT_EQ(progs[0].section, "hyperupcall/trace.exit");
  EXPECT_EQ(progs[0].hook, HU_HOOK_TRACE_EXIT);
  EXPECT_EQ(progs[1].name, "reclaim");
  EXPECT_EQ(progs[1].hook, HU_HOOK_MEM_RECLAIM);
}

TEST(Loader, MapReferencesBecomeMapIndices) {
  Program p = MustLink("maps", "count_exits");
  ASSERT_EQ(p.maps.size(), 2u);
  EXPECT_EQ(p.maps[0].name, "counts");
  EXPECT_EQ(p.maps[0].def.type, uint32_t{HU_MAP_ARRAY});
  EXPECT_EQ(p.maps[0].def.key_size, 4u);
  EXPECT_EQ(p.maps[0].def.value_size, 8u);
  EXPECT_EQ(p.maps[0].def.max_entries, 8u);
  EXPECT_EQ(p.maps[1].name, "seen");
  EXPECT_EQ(p.maps[1].def.type, uint32_t{HU_MAP_HASH});
  EXPECT_EQ(p.maps[1].def.key_size, 8u);
  EXPECT_EQ(p.maps[1].def.value_size, 24u);  // struct triple
  EXPECT_EQ(p.maps[1].def.max_entries, 1024u);
  EXPECT_EQ(MapRefs(p), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(p.license, "GPL");
  EXPECT_EQ(p.insns.size(), 28u);  // one function, nothing appended
}

TEST(Loader, EachProgramGetsOnlyTheMapsItUses) {
  Program p = MustLink("maps", "reclaim");
  ASSERT_EQ(p.maps.size(), 1u);
  EXPECT_EQ(p.maps[0].name, "seen");
  EXPECT_EQ(MapRefs(p), (std::vector<int32_t>{0}));
}

TEST(Loader, KsymsBecomePlainImmediates) {
  TableResolver ksyms({{"runqueues", 0xffffffff82a1c340ull}});
  Program p = MustLink("ksym", "grace", &ksyms);
  EXPECT_EQ(p.info.hook, HU_HOOK_SCHED_PREEMPT);
  EXPECT_EQ(p.license, "Dual MIT/GPL");
  std::vector<uint64_t> imms;
  for (size_t i = 0; i + 1 < p.insns.size(); ++i) {
    if (p.insns[i].code != kLddw) continue;
    EXPECT_EQ(p.insns[i].src, HU_PSEUDO_NONE);
    imms.push_back(static_cast<uint32_t>(p.insns[i].imm) |
                   static_cast<uint64_t>(static_cast<uint32_t>(p.insns[i + 1].imm)) << 32);
    ++i;
  }
  std::sort(imms.begin(), imms.end());
  // The weak extern that kallsyms lacks reads as 0, like libbpf.
  EXPECT_EQ(imms, (std::vector<uint64_t>{0, 0xffffffff82a1c340ull}));
  ASSERT_EQ(p.ksyms.size(), 2u);
  EXPECT_TRUE(p.maps.empty());
}

TEST(Loader, UnresolvedKsymNamesTheSymbolAndTheFile) {
  auto kallsyms = Kallsyms::Parse("ffffffff81000000 T _stext\n", "/proc/kallsyms");
  ASSERT_TRUE(kallsyms.ok());
  std::string err = LinkError("ksym", "grace", &*kallsyms);
  EXPECT_NE(err.find("ksym 'runqueues' not found in /proc/kallsyms"), std::string::npos) << err;
  EXPECT_NE(err.find("program 'grace'"), std::string::npos) << err;
}

TEST(Loader, KsymWithoutAKallsymsFileIsAnError) {
  std::string err = LinkError("ksym", "grace", nullptr);
  EXPECT_NE(err.find("ksym 'maybe_absent' needs a kallsyms file, and none was given"),
            std::string::npos)
      << err;
}

TEST(Loader, AMissingKallsymsFileIsAnErrorEvenForWeakExterns) {
  LazyKallsyms missing("/nonexistent/kallsyms");
  std::string err = LinkError("ksym", "grace", &missing);
  EXPECT_NE(err.find("ksym 'maybe_absent': cannot open kallsyms file /nonexistent/kallsyms"),
            std::string::npos)
      << err;
}

TEST(Loader, ProgramsWithoutKsymsNeverReadKallsyms) {
  TableResolver ksyms({});
  MustLink("maps", "count_exits", &ksyms);
  EXPECT_EQ(ksyms.asked, 0);
}

// The instructions from a call target up to its first exit.
std::vector<hu_insn> Body(const Program& p, size_t start) {
  std::vector<hu_insn> out;
  for (size_t i = start; i < p.insns.size(); ++i) {
    out.push_back(p.insns[i]);
    if (p.insns[i].code == (HU_CLS_JMP | HU_JMP_EXIT)) break;
  }
  return out;
}

bool HasImm(const std::vector<hu_insn>& body, int32_t imm) {
  return std::any_of(body.begin(), body.end(), [&](const hu_insn& in) { return in.imm == imm; });
}

// Follows every bpf-to-bpf call and returns the marker constant (0x111,
// 0x222, 0x333) of each callee reached, checking targets are in range.
std::vector<int32_t> CalleeMarkers(const Program& p) {
  std::vector<int32_t> markers;
  for (size_t i = 0; i < p.insns.size(); ++i) {
    const hu_insn& in = p.insns[i];
    if (in.code == kLddw) {
      ++i;
      continue;
    }
    if (in.code != kCall || in.src != HU_CALL_LOCAL) continue;
    int64_t target = static_cast<int64_t>(i) + in.imm + 1;
    EXPECT_GE(target, 0);
    EXPECT_LT(target, static_cast<int64_t>(p.insns.size()));
    if (target < 0 || target >= static_cast<int64_t>(p.insns.size())) continue;
    auto body = Body(p, static_cast<size_t>(target));
    for (int32_t m : {0x111, 0x222, 0x333}) {
      if (HasImm(body, m)) markers.push_back(m);
    }
  }
  return markers;
}

TEST(Loader, SubprogramsAreAppendedOnceAndCallsPointAtThem) {
  Program p = MustLink("subprog", "flush");
  EXPECT_EQ(p.info.hook, HU_HOOK_TLB_FLUSH);
  // flush -> times_0x333 -> times_0x222 -> times_0x111, each once.
  auto markers = CalleeMarkers(p);
  std::sort(markers.begin(), markers.end());
  EXPECT_EQ(markers, (std::vector<int32_t>{0x111, 0x222, 0x333}));
  int bodies = 0;
  for (const auto& in : p.insns) bodies += in.imm == 0x111 || in.imm == 0x222 || in.imm == 0x333;
  EXPECT_EQ(bodies, 3);
}

TEST(Loader, ASharedSubprogramIsLinkedIntoEachProgram) {
  Program p = MustLink("subprog", "protect");
  EXPECT_EQ(CalleeMarkers(p), (std::vector<int32_t>{0x111}));
  for (const auto& in : p.insns) {
    EXPECT_NE(in.imm, 0x222);  // not reached from protect: not appended
  }
}

TEST(Loader, PlainSectionHasNoHook) {
  Program p = MustLink("plain", "anyhook");
  EXPECT_EQ(p.info.section, "hyperupcall");
  EXPECT_EQ(p.info.hook, HU_HOOK_NONE);
}

TEST(Loader, UnknownProgramNameListsTheOnesThere) {
  std::string err = LinkError("maps", "nope", nullptr);
  EXPECT_NE(err.find("no program 'nope' (programs: count_exits, reclaim)"), std::string::npos)
      << err;
}

TEST(LoaderRejects, CodeInAnUnknownSection) {
  std::string err = OpenError("wrong_section");
  EXPECT_NE(err.find("unknown section 'kprobe/do_sys_open' holds code"), std::string::npos) << err;
  EXPECT_NE(err.find("mem.reclaim, tlb.flush, sched.preempt, trace.exit, mem.protect"),
            std::string::npos)
      << err;
}

TEST(LoaderRejects, AnUnknownHook) {
  std::string err = OpenError("unknown_hook");
  EXPECT_NE(err.find("unknown hook 'mem.recalim' in SEC(\"hyperupcall/mem.recalim\")"),
            std::string::npos)
      << err;
}

TEST(LoaderRejects, GlobalData) {
  std::string err = LinkError("global_data", "sum", nullptr);
  EXPECT_NE(err.find("program 'sum': insn "), std::string::npos) << err;
  EXPECT_NE(err.find("of section 'hyperupcall/trace.exit' (offset 0x"), std::string::npos) << err;
  EXPECT_NE(err.find("global data (.data/.rodata/.bss) is not supported"), std::string::npos)
      << err;
}

TEST(LoaderRejects, KernelFunctionCalls) {
  TableResolver ksyms({{"bpf_rcu_read_lock", 0xffffffff81100000ull}});
  std::string err = LinkError("kfunc", "locker", &ksyms);
  EXPECT_NE(err.find("call to kernel function 'bpf_rcu_read_lock' (kfunc) is not supported"),
            std::string::npos)
      << err;
}

TEST(LoaderRejects, MapsWithoutBtf) {
  std::string err = OpenError("maps_nobtf");
  EXPECT_NE(err.find("section '.maps' needs BTF to describe its maps: compile with clang -g"),
            std::string::npos)
      << err;
}

TEST(LoaderRejects, BadMapDefinitions) {
  struct Case {
    const char* obj;
    const char* want;
  };
  for (const Case& c : {
           Case{"bad_map_type", "map 'broken': type 27 is not supported"},
           Case{"bad_map_array_key", "map 'broken': array maps take a 4-byte key, not 8"},
           Case{"bad_map_pinning", "map 'broken': attribute 'pinning' is not supported"},
           Case{"bad_map_no_entries", "map 'broken' has no __uint(max_entries, ...)"},
       }) {
    std::string err = OpenError(c.obj);
    EXPECT_NE(err.find(c.want), std::string::npos) << c.obj << ": " << err;
    EXPECT_NE(err.find(Obj(c.obj) + ": "), std::string::npos) << err;
  }
}

TEST(LoaderRejects, AFileThatIsNotThere) {
  auto o = BpfObject::FromFile("/nonexistent/x.bpf.o");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().message, "cannot open /nonexistent/x.bpf.o");
}

}  // namespace
}  // namespace hu::guest
