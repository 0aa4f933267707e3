// Group commit: the decisions of many guests share one transaction and so
// one fsync, without weakening "committed before acknowledged". A write is
// queued with the callback that answers it; one thread takes everything
// queued, runs each write in a savepoint of one transaction, commits
// (fsync), and only then runs the callbacks, each told whether its own
// write and the commit succeeded. While one batch is being fsync'd the next
// one gathers, so the more guests register at once, the more each fsync
// carries.
//
// A write and its callback see the thread they were submitted from as that
// thread saw itself (actor.hpp): its actor, and in the callback the audit
// row its write added (TakeAuditSeq), so the decision's event names both.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "store.hpp"

namespace hu::daemon {

class GroupCommit {
 public:
  // Runs inside the batch's transaction, on the commit thread.
  using Write = std::function<Status()>;
  // Runs after the commit, on the commit thread: the write's status, or the
  // commit's when that failed. It may Submit again (never Run).
  using Done = std::function<void(Status)>;

  // max_batch 1 is one transaction per write (the baseline the load
  // benchmark compares with). `after_batch` runs inside each batch's
  // transaction after its writes (retention).
  GroupCommit(Store& store, size_t max_batch, std::function<void()> after_batch = {});
  // Commits everything already submitted, then stops.
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  void Submit(Write write, Done done);
  // Submits and waits for the commit. On the commit thread itself (from a
  // Done) it commits on the spot instead of waiting for itself.
  Status Run(Write write);

  uint64_t batches() const { return batches_; }
  uint64_t writes() const { return writes_; }

 private:
  struct Job {
    Write write;
    Done done;
    std::string actor;      // CurrentActor() of the submitting thread
    int64_t audit_seq = 0;  // the audit row the write added, if any
  };
  void Loop();

  Store& store_;
  const size_t max_batch_;
  std::function<void()> after_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stop_ = false;
  std::atomic<uint64_t> batches_{0}, writes_{0};
  std::thread thread_;
};

}  // namespace hu::daemon
