// Every hook of the ABI on every backend's table (Backend::Limits().hooks):
// the daemon refuses a program on a hook its backend's table lacks, so a
// hook the hypervisor runs but the table omits is refused for nothing (as
// tlb.flush and sched.preempt were on Xen). The sim's table must hold every
// hook its model runs; the xen backend's must be exactly the hooks, program
// count and budget patched Xen accepts, read from xen-patches/ as the series
// leaves them.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "hyperupcall/daemon/sim_backend.hpp"
#include "names.hpp"
#include "policy.hpp"
#include "xen_limits.hpp"

namespace hu::daemon {
namespace {

// The ABI's hooks by their C names, as Xen's source spells them.
const std::map<std::string, hu_hook_id> kAbiHooks = {
    {"HU_HOOK_MEM_RECLAIM", HU_HOOK_MEM_RECLAIM},     {"HU_HOOK_TLB_FLUSH", HU_HOOK_TLB_FLUSH},
    {"HU_HOOK_SCHED_PREEMPT", HU_HOOK_SCHED_PREEMPT}, {"HU_HOOK_TRACE_EXIT", HU_HOOK_TRACE_EXIT},
    {"HU_HOOK_MEM_PROTECT", HU_HOOK_MEM_PROTECT},
};

std::vector<hu_hook_id> AbiHooks() {
  std::vector<hu_hook_id> out;
  for (int h = HU_HOOK_NONE + 1; h < HU_HOOK_MAX; ++h) out.push_back(static_cast<hu_hook_id>(h));
  return out;
}

// `#define name ...` (continuation lines joined) on the new side of the
// last patch of the series that shows it: what Xen is built with.
std::string SeriesDefine(const std::string& name) {
  std::vector<std::filesystem::path> patches;
  for (auto& e : std::filesystem::directory_iterator(HU_XEN_PATCHES))
    if (e.path().extension() == ".patch") patches.push_back(e.path());
  std::sort(patches.begin(), patches.end());
  const std::regex start("^#define " + name + "\\b.*");
  std::string found;
  for (auto& p : patches) {
    std::ifstream in(p);
    std::string line, cur;
    bool open = false;
    while (std::getline(in, line)) {
      if (line.empty() || (line[0] != '+' && line[0] != ' ')) {
        if (!line.empty() && line[0] == '-') continue;  // the old side
        open = false;
        continue;
      }
      const std::string body = line.substr(1);
      if (!open) {
        if (!std::regex_match(body, start)) continue;
        open = true;
        cur.clear();
      }
      cur += body;
      if (body.empty() || body.back() != '\\') {
        open = false;
        found = cur;
      }
    }
  }
  return found;
}

uint64_t SeriesHookMask() {
  const std::string def = SeriesDefine("HU_HOOKS_SUPPORTED");
  uint64_t mask = 0;
  const std::regex tok("HU_HOOK_[A-Z_]+");
  for (std::sregex_iterator it(def.begin(), def.end(), tok), end; it != end; ++it) {
    auto h = kAbiHooks.find(it->str());
    EXPECT_NE(h, kAbiHooks.end()) << "Xen names a hook the ABI lacks: " << it->str();
    if (h != kAbiHooks.end()) mask |= 1ull << h->second;
  }
  return mask;
}

// The number in `#define NAME N` or `#define NAME (1u << N)`.
uint64_t SeriesNumber(const std::string& name) {
  const std::string def = SeriesDefine(name);
  std::smatch m;
  if (std::regex_search(def, m, std::regex("\\(1u << (\\d+)\\)"))) return 1ull << std::stoi(m[1]);
  if (std::regex_search(def, m, std::regex(name + "\\s+(\\d+)"))) return std::stoull(m[1]);
  ADD_FAILURE() << "no number in the series' " << name << ": '" << def << "'";
  return 0;
}

Status Check(const BackendLimits& l, const std::string& backend, hu_hook_id hook) {
  const std::vector<hu_insn> insns(2);
  const std::vector<hu_region> regions;
  PolicyCandidate c;
  c.domid = 1;
  c.hook = hook;
  c.insns = &insns;
  c.regions = &regions;
  return CheckBackendLimits(l, backend, Policy{}, c);
}

TEST(BackendHooks, TheTestKnowsEveryAbiHook) {
  EXPECT_EQ(kAbiHooks.size(), AbiHooks().size())
      << "a hook was added to abi.h: name it in kAbiHooks, then give each backend's table a "
         "decision";
}

TEST(BackendHooks, TheSeriesDefinesWhatXenAccepts) {
  EXPECT_NE(SeriesDefine("HU_HOOKS_SUPPORTED"), "");
  EXPECT_NE(SeriesHookMask(), 0u);
}

TEST(BackendHooks, XenTableIsWhatPatchedXenInstalls) {
  const BackendLimits l = XenLimits();
  EXPECT_EQ(HookMaskNames(l.hooks), HookMaskNames(SeriesHookMask()))
      << "xen_limits.hpp and xen-patches' HU_HOOKS_SUPPORTED disagree";
  EXPECT_EQ(l.hooks, SeriesHookMask());
  EXPECT_EQ(l.max_programs, SeriesNumber("HU_MAX_PROGS"));
  EXPECT_EQ(l.max_run_budget, SeriesNumber("HU_BUDGET_MAX"));
  EXPECT_EQ(kXenDefaultRunBudget, SeriesNumber("HU_BUDGET_DEFAULT"));
  // The hooks this issue put in Xen: refusing them was the defect.
  EXPECT_TRUE(l.hooks & (1ull << HU_HOOK_TLB_FLUSH));
  EXPECT_TRUE(l.hooks & (1ull << HU_HOOK_SCHED_PREEMPT));
}

sim::SimOptions OneGuest() {
  sim::SimOptions o;
  o.guests = {{1, "alpha", "", 2, 64}};
  return o;
}

TEST(BackendHooks, TheSimRunsEveryAbiHookAndItsTableSaysSo) {
  sim::SimBackend sim(OneGuest());
  const BackendLimits l = sim.Limits();
  uint64_t id = 0;
  for (hu_hook_id hook : AbiHooks()) {
    SCOPED_TRACE(HookName(hook));
    EXPECT_TRUE(l.hooks & (1ull << hook));
    ProgramImage img;
    img.id = ++id;
    img.domid = 1;
    img.hook = hook;
    img.name = "h";
    img.insns = {hu_insn{0xb7, 0, 0, 0, 0}, hu_insn{0x95, 0, 0, 0, 0}};  // r0 = 0; exit
    EXPECT_TRUE(sim.Install(img).ok());
  }
}

// The daemon's check (CheckBackendLimits) against each table, hook by hook:
// in the table, accepted; not, refused as Unimplemented with the backend,
// the hook and what it can attach to named.
TEST(BackendHooks, EveryHookOnEveryBackendIsAcceptedExactlyWhenInItsTable) {
  sim::SimBackend sim(OneGuest());
  const std::vector<std::pair<std::string, BackendLimits>> backends = {{"sim", sim.Limits()},
                                                                       {"xen", XenLimits()}};
  for (auto& [name, limits] : backends) {
    for (hu_hook_id hook : AbiHooks()) {
      SCOPED_TRACE(name + " " + HookName(hook));
      const Status st = Check(limits, name, hook);
      if (limits.hooks & (1ull << hook)) {
        EXPECT_TRUE(st.ok()) << st.error().message;
      } else {
        ASSERT_FALSE(st.ok());
        EXPECT_EQ(st.error().code, ErrorCode::kUnimplemented);
        EXPECT_NE(st.error().message.find("backend " + name), std::string::npos);
        EXPECT_NE(st.error().message.find(HookName(hook)), std::string::npos);
      }
    }
  }
}

}  // namespace
}  // namespace hu::daemon
