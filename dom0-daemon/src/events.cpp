#include "events.hpp"

#include <chrono>

#include "program.hpp"
#include "text.hpp"

namespace hu::daemon {

std::optional<OpEvent> Subscription::Next(int timeout_ms) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms),
               [&] { return closed_ || !queue_.empty(); });
  if (queue_.empty()) return std::nullopt;
  OpEvent e = std::move(queue_.front());
  queue_.pop_front();
  return e;
}

bool Subscription::closed() {
  std::lock_guard lk(mu_);
  return closed_;
}

uint64_t Subscription::dropped() {
  std::lock_guard lk(mu_);
  return dropped_;
}

void Subscription::Push(const OpEvent& e) {
  {
    std::lock_guard lk(mu_);
    if (closed_) return;
    if (queue_.size() >= kMaxQueued) {
      queue_.pop_front();
      ++dropped_;
    }
    queue_.push_back(e);
  }
  cv_.notify_one();
}

void Subscription::Close() {
  {
    std::lock_guard lk(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

std::shared_ptr<Subscription> EventBus::Subscribe() {
  auto s = std::make_shared<Subscription>();
  std::lock_guard lk(mu_);
  subs_.insert(s);
  return s;
}

void EventBus::Unsubscribe(const std::shared_ptr<Subscription>& s) {
  std::lock_guard lk(mu_);
  subs_.erase(s);
}

void EventBus::Publish(OpEvent e) {
  // Strings an event carries are proto3 `string`s: one invalid byte and the
  // event cannot be serialised, ending the stream of whoever watches. They
  // should be safe already (SafeText at the source); this is the last line.
  e.set_prog_name(SafeComposedText(e.prog_name(), 256));
  e.set_hook(SafeComposedText(e.hook(), 64));
  e.set_message(SafeComposedText(e.message(), 4096));
  std::lock_guard lk(mu_);
  e.set_seq(++seq_);
  if (e.time_unix_ns() == 0) e.set_time_unix_ns(NowUnixNs());
  for (const auto& s : subs_) s->Push(e);
}

void EventBus::CloseAll() {
  std::lock_guard lk(mu_);
  for (const auto& s : subs_) s->Close();
  subs_.clear();
}

}  // namespace hu::daemon
