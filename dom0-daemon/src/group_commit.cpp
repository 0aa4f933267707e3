#include "group_commit.hpp"

#include <future>
#include <vector>

#include "actor.hpp"

namespace hu::daemon {

GroupCommit::GroupCommit(Store& store, size_t max_batch, std::function<void()> after_batch)
    : store_(store), max_batch_(max_batch ? max_batch : 1), after_batch_(std::move(after_batch)) {
  thread_ = std::thread([this] { Loop(); });
}

GroupCommit::~GroupCommit() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void GroupCommit::Submit(Write write, Done done) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(Job{std::move(write), std::move(done), CurrentActor()});
  }
  cv_.notify_one();
}

Status GroupCommit::Run(Write write) {
  if (std::this_thread::get_id() == thread_.get_id()) return store_.Atomically(write);
  std::promise<Status> p;
  auto f = p.get_future();
  int64_t seq = 0;
  Submit(std::move(write), [&p, &seq](Status st) {
    seq = TakeAuditSeq();
    p.set_value(std::move(st));
  });
  Status st = f.get();
  NoteAuditSeq(seq);  // as if the write had run here
  return st;
}

void GroupCommit::Loop() {
  std::vector<Job> jobs;
  std::vector<Status> results;
  for (;;) {
    jobs.clear();
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to commit
      while (!queue_.empty() && jobs.size() < max_batch_) {
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    results.assign(jobs.size(), Status::Ok());
    Status commit = store_.Batch([&] {
      for (size_t i = 0; i < jobs.size(); ++i) {
        ActorScope who(jobs[i].actor);
        TakeAuditSeq();
        results[i] = store_.Atomically(jobs[i].write);
        jobs[i].audit_seq = TakeAuditSeq();
      }
      if (after_batch_) after_batch_();
    });
    ++batches_;
    writes_ += jobs.size();
    // Only now, with the batch on disk, does anyone hear of it.
    for (size_t i = 0; i < jobs.size(); ++i) {
      if (!jobs[i].done) continue;
      ActorScope who(jobs[i].actor);
      NoteAuditSeq(jobs[i].audit_seq);
      jobs[i].done(commit ? results[i] : commit);
      TakeAuditSeq();
    }
  }
}

}  // namespace hu::daemon
