// The save/load blob of xen-patches/0030 on the dom0 side: what Xen writes
// round-trips, and every kind of damage a save file or a migration stream
// can carry is refused with a message that says what and where, never read
// past its end.
#include "state_blob.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace hu::xen {
namespace {

std::vector<uint8_t> Bytes(std::initializer_list<uint8_t> b) { return b; }

SavedState Sample() {
  SavedState s;
  SavedProgram trace;
  trace.id = 7;
  trace.hook = HU_HOOK_TRACE_EXIT;
  trace.budget = 100000;
  trace.jit = HU_XEN_JIT | HU_XEN_JIT_PLAIN;
  trace.insns = {hu_insn{0xb7, 0, 0, 0, 0}, hu_insn{0x95, 0, 0, 0, 0}};
  SavedMap counts;
  counts.def = hu_map_def{HU_MAP_HASH, 16, 8, 256};
  counts.value_size = 8;
  counts.entries.push_back(MapSlot{std::vector<uint8_t>(16, 1), Bytes({1, 2, 3, 4, 5, 6, 7, 8})});
  counts.entries.push_back(MapSlot{std::vector<uint8_t>(16, 2), Bytes({9, 0, 0, 0, 0, 0, 0, 0})});
  trace.maps.push_back(counts);
  SavedMap percpu;  // a per-vCPU array of 2 vCPUs: two copies per entry
  percpu.def = hu_map_def{HU_MAP_PERVCPU_ARRAY, 4, 8, 4};
  percpu.value_size = 16;
  percpu.entries.push_back(MapSlot{Bytes({3, 0, 0, 0}), std::vector<uint8_t>(16, 5)});
  trace.maps.push_back(percpu);
  trace.annotation = {'t', 'r', 'a', 'c', 'e'};
  trace.stats.runs = 4242;
  trace.stats.errors = 1;
  s.programs.push_back(trace);

  SavedProgram reclaim;
  reclaim.id = 9;
  reclaim.hook = HU_HOOK_MEM_RECLAIM;
  reclaim.jit = HU_XEN_JIT;
  reclaim.insns = {hu_insn{0x95, 0, 0, 0, 0}};
  reclaim.regions.push_back(hu_region{0x1234000, 4096, HU_REGION_READ | HU_REGION_GPA, 0});
  s.programs.push_back(reclaim);

  SavedProgram preempt;  // interpreted, with the operator's grace cap
  preempt.id = 11;
  preempt.hook = HU_HOOK_SCHED_PREEMPT;
  preempt.max_grace_us = 120;
  preempt.insns = {hu_insn{0x95, 0, 0, 0, 0}};
  s.programs.push_back(preempt);
  return s;
}

TEST(StateBlob, RoundTrips) {
  auto blob = SerializeState(Sample());
  ASSERT_EQ(blob.size() % 8, 0u);
  auto s = ParseState(blob);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->programs.size(), 3u);
  const auto& t = s->programs[0];
  EXPECT_EQ(t.id, 7u);
  EXPECT_EQ(t.hook, HU_HOOK_TRACE_EXIT);
  EXPECT_EQ(t.budget, 100000u);
  EXPECT_EQ(t.insns.size(), 2u);
  ASSERT_EQ(t.maps.size(), 2u);
  EXPECT_EQ(t.maps[0].entries.size(), 2u);
  EXPECT_EQ(t.maps[0].entries[1].value[0], 9);
  EXPECT_EQ(t.maps[1].value_size, 16u);
  EXPECT_EQ(std::string(t.annotation.begin(), t.annotation.end()), "trace");
  EXPECT_EQ(t.stats.runs, 4242u);
  EXPECT_EQ(s->programs[1].regions.at(0).start, 0x1234000u);
  // The engine travels, not the code; sched.preempt keeps its cap.
  EXPECT_EQ(t.jit, HU_XEN_JIT | HU_XEN_JIT_PLAIN);
  EXPECT_EQ(s->programs[1].jit, HU_XEN_JIT);
  EXPECT_EQ(s->programs[2].jit, 0u);
  EXPECT_EQ(t.max_grace_us, 0u);
  EXPECT_EQ(s->programs[2].max_grace_us, 120u);
  EXPECT_EQ(SerializeState(*s), blob);
}

TEST(StateBlob, EmptyStateIsAHeader) {
  auto blob = SerializeState(SavedState{});
  EXPECT_EQ(blob.size(), sizeof(hu_xen_state));
  auto s = ParseState(blob);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->programs.empty());
}

// Every truncation is refused; none reads past the end (ASan builds check).
TEST(StateBlob, EveryTruncationIsRefused) {
  auto blob = SerializeState(Sample());
  for (size_t n = 0; n < blob.size(); n++) {
    std::vector<uint8_t> cut(blob.begin(), blob.begin() + n);
    EXPECT_FALSE(ParseState(cut)) << "accepted " << n << " of " << blob.size() << " bytes";
  }
}

// Flipping any byte either still parses or is refused; it never crashes.
TEST(StateBlob, EveryByteFlipIsHandled) {
  auto blob = SerializeState(Sample());
  for (size_t i = 0; i < blob.size(); i++) {
    auto bad = blob;
    bad[i] ^= 0xff;
    auto s = ParseState(bad);
    if (!s) {
      EXPECT_FALSE(s.error().message.empty());
    }
  }
}

struct Damage {
  const char* name;
  void (*apply)(std::vector<uint8_t>&);
  const char* message;
};

hu_xen_state_prog& Prog0(std::vector<uint8_t>& b) {
  return *reinterpret_cast<hu_xen_state_prog*>(b.data() + sizeof(hu_xen_state));
}
hu_xen_state& Header(std::vector<uint8_t>& b) { return *reinterpret_cast<hu_xen_state*>(b.data()); }

TEST(StateBlob, DamageIsNamed) {
  const Damage cases[] = {
      {"magic", [](auto& b) { Header(b).magic = 0; }, "bad magic"},
      {"version", [](auto& b) { Header(b).version = 2; }, "version 2"},
      {"size", [](auto& b) { Header(b).size += 8; }, "header says"},
      {"flags", [](auto& b) { Header(b).flags = 1; }, "reserved header"},
      {"count", [](auto& b) { Header(b).nprogs = 1u << 30; }, "cannot fit"},
      {"id 0", [](auto& b) { Prog0(b).id = 0; }, "program 0: id 0"},
      {"hook", [](auto& b) { Prog0(b).hook = HU_HOOK_MAX; }, "unknown hook"},
      {"insns", [](auto& b) { Prog0(b).ninsns = 0; }, "0 instructions"},
      {"maps", [](auto& b) { Prog0(b).nmaps = HU_MAX_MAPS + 1; }, "maps"},
      {"annotation", [](auto& b) { Prog0(b).annotation_len = 4096; }, "annotation"},
      {"engine", [](auto& b) { Prog0(b).jit = 4; }, "program 0: unknown engine flags 0x4"},
      {"grace", [](auto& b) { Prog0(b).max_grace_us = 50; }, "grace cap (50 us) on a hook other"},
      {"prog size", [](auto& b) { Prog0(b).size += 8; }, "program 0: says"},
      {"odd size", [](auto& b) { Prog0(b).size += 1; }, "multiple of 8"},
      {"duplicate id",
       [](auto& b) {
         auto* p1 =
             reinterpret_cast<hu_xen_state_prog*>(b.data() + sizeof(hu_xen_state) + Prog0(b).size);
         p1->id = Prog0(b).id;
       },
       "share id 7"},
      {"trailing",
       [](auto& b) {
         b.resize(b.size() + 8, 0);
         Header(b).size += 8;
       },
       "after the last program"},
  };
  auto good = SerializeState(Sample());
  for (const auto& c : cases) {
    auto b = good;
    c.apply(b);
    auto s = ParseState(b);
    ASSERT_FALSE(s) << c.name;
    EXPECT_NE(s.error().message.find(c.message), std::string::npos)
        << c.name << ": " << s.error().message;
  }
}

// A map's entries must agree with its definition: key and value sizes,
// no more entries than slots.
TEST(StateBlob, MapEntriesMustFitTheirDefinition) {
  auto s = Sample();
  s.programs[0].maps[0].entries.resize(300, s.programs[0].maps[0].entries[0]);
  auto r = ParseState(SerializeState(s));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("program 0 map 0: 300 entries"), std::string::npos)
      << r.error().message;

  s = Sample();
  s.programs[0].maps[1].value_size = 12;  // not a multiple of 8
  for (auto& e : s.programs[0].maps[1].entries) e.value.resize(12);
  r = ParseState(SerializeState(s));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a multiple"), std::string::npos) << r.error().message;

  s = Sample();
  s.programs[0].maps[0].def.key_size = 8;
  r = ParseState(SerializeState(s));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("key size"), std::string::npos) << r.error().message;
}

TEST(StateBlob, NonZeroPaddingIsRefused) {
  auto s = Sample();
  s.programs[0].annotation = {'a', 'b', 'c'};  // 5 bytes of padding follow
  auto b = SerializeState(s);
  size_t pad_at = sizeof(hu_xen_state) + sizeof(hu_xen_state_prog) + 2 * sizeof(hu_insn) +
                  2 * sizeof(hu_xen_map_def) + 3;
  b[pad_at] = 1;
  auto r = ParseState(b);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("padding"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace hu::xen
