// GroupCommit: writes submitted together share a transaction, each is
// answered only after the commit that holds it, and one failing write is
// undone alone.
#include "group_commit.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <mutex>

namespace hu::daemon {
namespace {

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hu-gc-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto s = Store::Open((dir_ / "state.db").string());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  size_t AuditRows() {
    auto rows = store_->AuditLog(1000000);
    return rows.ok() ? rows->size() : 0;
  }
  static AuditRow Row(const std::string& reason) { return AuditRow{1, 1, 0, "", "test", reason}; }
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(GroupCommitTest, ManyWritesShareFewCommitsAndEachIsAnsweredAfterIt) {
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::mutex mu;
  size_t answered = 0, seen_at_answer_min = SIZE_MAX;
  {
    GroupCommit gc(*store_, 1000);
    // The first write holds the commit thread, so the next 100 queue up
    // and go together.
    gc.Submit(
        [&]() -> Status {
          open.wait();
          return store_->Audit(Row("first"));
        },
        nullptr);
    for (int i = 0; i < 100; ++i) {
      gc.Submit([&, i] { return store_->Audit(Row("w" + std::to_string(i))); },
                [&](Status st) {
                  EXPECT_TRUE(st.ok());
                  // Committed: a fresh connection sees the row.
                  auto other = Store::Open((dir_ / "state.db").string());
                  ASSERT_TRUE(other.ok());
                  auto rows = (*other)->AuditLog(1000);
                  ASSERT_TRUE(rows.ok());
                  std::lock_guard lk(mu);
                  ++answered;
                  seen_at_answer_min = std::min(seen_at_answer_min, rows->size());
                });
    }
    gate.set_value();
  }
  EXPECT_EQ(answered, 100u);
  EXPECT_EQ(seen_at_answer_min, 101u);  // all of the batch was on disk before any answer
  EXPECT_EQ(AuditRows(), 101u);
}

TEST_F(GroupCommitTest, BatchesAreCountedAndCappedAtMaxBatch) {
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  uint64_t batches = 0, writes = 0;
  {
    GroupCommit gc(*store_, 10);
    gc.Submit(
        [&]() -> Status {
          open.wait();
          return Status::Ok();
        },
        nullptr);
    for (int i = 0; i < 95; ++i) gc.Submit([&] { return store_->Audit(Row("x")); }, nullptr);
    gate.set_value();
    EXPECT_TRUE(gc.Run([] { return Status::Ok(); }).ok());
    batches = gc.batches();
    writes = gc.writes();
  }
  EXPECT_EQ(writes, 97u);
  // 97 writes in batches of at most 10: at least 10 batches; and few more
  // (the first may have gone alone, the last may have come late).
  EXPECT_GE(batches, 10u);
  EXPECT_LE(batches, 12u);
}

TEST_F(GroupCommitTest, AFailingWriteIsUndoneAloneAndToldSo) {
  Status bad, good;
  {
    GroupCommit gc(*store_, 100);
    std::promise<void> gate;
    std::shared_future<void> open = gate.get_future().share();
    gc.Submit(
        [&]() -> Status {
          open.wait();
          return Status::Ok();
        },
        nullptr);
    gc.Submit(
        [&]() -> Status {
          (void)store_->Audit(Row("half"));
          return MakeError(ErrorCode::kInternal, "second step failed");
        },
        [&](Status st) { bad = st; });
    gc.Submit([&] { return store_->Audit(Row("whole")); }, [&](Status st) { good = st; });
    gate.set_value();
  }
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "second step failed");
  EXPECT_TRUE(good.ok());
  auto rows = store_->AuditLog(10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].reason, "whole");
}

}  // namespace
}  // namespace hu::daemon
