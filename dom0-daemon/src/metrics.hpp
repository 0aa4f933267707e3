// hyperupcalld's Prometheus metrics, through prometheus-cpp (Debian's
// prometheus-cpp-dev): a registry with the counters and the histogram of
// decisions, and a collectable that reads states at each scrape, served by
// prometheus-cpp's pull Exposer. Names and meanings: dom0-daemon/README.md,
// "Metrics".
//
// Decisions are counted from the event bus as they happen (a subscriber of
// its own, so no decision path changes); what is a state (installed
// programs, run statistics, pending approvals, guest channels, trace
// records lost, the fleet's state) is read from the core, the backend and
// the fleet at each scrape.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core.hpp"
#include "events.hpp"
#include "hyperupcall/result.hpp"

namespace hu::daemon {

// What the metrics read from the rest of the daemon at each scrape.
struct MetricsSources {
  std::function<size_t()> guest_channels;  // guest channels open now
  std::function<bool()> fleet_degraded;    // empty: no fleet
};

class Metrics {
 public:
  Metrics(Core& core, EventBus& bus, Backend& backend, MetricsSources sources);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Starts counting decisions from the bus.
  void Start();
  void Stop();
  // The exposition, as served on GET /metrics.
  std::string Render() const;
  // What an Exposer serves: the registry and the scrape-time states.
  std::vector<std::weak_ptr<prometheus::Collectable>> Collectables() const;

  // Histogram bucket bounds of hyperupcall_verification_seconds.
  static const std::vector<double>& VerificationBuckets();

 private:
  class States;
  void Count(const OpEvent& e);

  Core& core_;
  EventBus& bus_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& registrations_;
  prometheus::Histogram& verification_;
  prometheus::Counter& events_lost_;
  std::shared_ptr<States> states_;
  std::shared_ptr<Subscription> sub_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// GET /metrics over HTTP on ADDR:PORT (prometheus-cpp's Exposer), until
// destroyed.
class MetricsServer {
 public:
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                      const Metrics& metrics);

 private:
  MetricsServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace hu::daemon
