// The daemon's one background thread: moves trace records from the backend
// to the event bus, and handles domains that start or stop (their guest
// channel opens or closes with them).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core.hpp"
#include "guest_endpoints.hpp"

namespace hu::daemon {

class Pump {
 public:
  Pump(Backend& backend, Core& core, GuestEndpoints& endpoints)
      : backend_(backend), core_(core), endpoints_(endpoints) {}
  ~Pump() { Stop(); }

  // Backend threads call this (through SetDomainEventSink).
  void OnDomainEvent(const DomainEvent& ev);
  void Start();
  void Stop();

 private:
  void Run();

  Backend& backend_;
  Core& core_;
  GuestEndpoints& endpoints_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<DomainEvent> pending_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace hu::daemon
