// Fan-out of daemon events (decisions, domain changes, trace records) to
// every operator that watches the Events stream. A slow watcher loses its
// oldest events (and is told how many) rather than slowing the daemon.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "hyperupcall/operator_api/v1/operator.pb.h"

namespace hu::daemon {

using OpEvent = hyperupcall::operator_api::v1::Event;

class EventBus;

class Subscription {
 public:
  // Next event, or nullopt after `timeout_ms` without one or once closed.
  std::optional<OpEvent> Next(int timeout_ms);
  bool closed();
  uint64_t dropped();

 private:
  friend class EventBus;
  static constexpr size_t kMaxQueued = 10000;
  void Push(const OpEvent& e);
  void Close();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<OpEvent> queue_;
  uint64_t dropped_ = 0;
  bool closed_ = false;
};

class EventBus {
 public:
  std::shared_ptr<Subscription> Subscribe();
  void Unsubscribe(const std::shared_ptr<Subscription>& s);
  // Stamps seq and time, then hands the event to every subscriber.
  void Publish(OpEvent e);
  // Ends every stream (daemon shutdown).
  void CloseAll();

 private:
  std::mutex mu_;
  std::set<std::shared_ptr<Subscription>> subs_;
  uint64_t seq_ = 0;
};

}  // namespace hu::daemon
