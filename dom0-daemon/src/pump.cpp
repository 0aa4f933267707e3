#include "pump.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace hu::daemon {

void Pump::OnDomainEvent(const DomainEvent& ev) {
  {
    std::lock_guard lk(mu_);
    pending_.push_back(ev);
  }
  cv_.notify_one();
}

void Pump::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Pump::Stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Pump::Run() {
  for (;;) {
    std::deque<DomainEvent> events;
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(50), [&] { return stop_ || !pending_.empty(); });
      if (stop_) return;
      events.swap(pending_);
    }
    for (const auto& ev : events) {
      const uint32_t domid = ev.domain.domid;
      if (ev.kind == DomainEvent::Kind::kStarted) {
        if (auto st = endpoints_.Open(domid); !st) {
          spdlog::error("dom{}: {}", domid, st.error().message);
        }
      } else {
        endpoints_.Close(domid);
      }
      core_.OnDomainEvent(ev);
    }
    core_.PublishTrace(backend_.DrainTrace());
  }
}

}  // namespace hu::daemon
