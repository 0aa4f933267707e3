// A guest's window of its own trace records: numbered per domain, bounded,
// a reader told what it missed, whatever seq a guest sends.
#include "trace_window.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace hu::daemon {
namespace {

TraceRecord Rec(uint32_t domid, uint8_t byte) {
  TraceRecord r;
  r.domid = domid;
  r.data = {byte};
  return r;
}

TEST(TraceWindow, NumbersPerDomainAndReadsAfterASeq) {
  TraceWindow w;
  w.Add(Rec(1, 10));
  w.Add(Rec(2, 20));
  w.Add(Rec(1, 11));
  auto r = w.After(1, 0, 100);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].seq, 1u);
  EXPECT_EQ(r.entries[1].seq, 2u);
  EXPECT_EQ(r.entries[1].record.data[0], 11);
  EXPECT_EQ(r.missed, 0u);
  EXPECT_EQ(w.After(1, 1, 100).entries.size(), 1u);
  EXPECT_EQ(w.After(2, 0, 100).entries.size(), 1u);
  EXPECT_TRUE(w.After(3, 0, 100).entries.empty());
  EXPECT_EQ(w.After(1, 0, 1).entries.size(), 1u);  // max
}

TEST(TraceWindow, BoundedAndTellsWhatWasMissed) {
  TraceWindow w;
  for (size_t i = 0; i < TraceWindow::kPerDomain + 10; i++) w.Add(Rec(1, 0));
  auto r = w.After(1, 0, TraceWindow::kPerDomain * 2);
  EXPECT_EQ(r.entries.size(), TraceWindow::kPerDomain);
  EXPECT_EQ(r.entries.front().seq, 11u);
  EXPECT_EQ(r.missed, 10u);
  EXPECT_EQ(w.After(1, 5, 1).missed, 5u);
}

TEST(TraceWindow, ASeqPastEveryRecordMissesNothing) {
  TraceWindow w;
  for (int i = 0; i < 3; i++) w.Add(Rec(1, 0));
  for (uint64_t after : {uint64_t{3}, uint64_t{1000}, UINT64_MAX - 1, UINT64_MAX}) {
    auto r = w.After(1, after, 100);
    EXPECT_TRUE(r.entries.empty()) << after;
    EXPECT_EQ(r.missed, 0u) << after;
  }
}

TEST(TraceWindow, ForgetDropsADomain) {
  TraceWindow w;
  w.Add(Rec(1, 0));
  w.Forget(1);
  EXPECT_TRUE(w.After(1, 0, 10).entries.empty());
  w.Add(Rec(1, 0));
  EXPECT_EQ(w.After(1, 0, 10).entries.front().seq, 1u);  // numbering starts again
}

}  // namespace
}  // namespace hu::daemon
