// hyperupcalld's Prometheus metrics (text exposition format 0.0.4). Names
// and meanings: dom0-daemon/README.md, "Metrics".
//
// Decisions are counted from the event bus as they happen (a subscriber of
// its own, so no decision path changes); what is a state (installed
// programs, run statistics, pending approvals, guest channels, trace
// records lost) is read from the core and the backend at each scrape.
//
// prometheus-cpp, which the issue named, is not packaged in Debian 12, so
// the registry is this file (counters, gauges, one histogram, the text
// format) and HTTP is civetweb (libcivetweb-dev, the server prometheus-cpp
// itself embeds).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core.hpp"
#include "events.hpp"
#include "hyperupcall/result.hpp"

struct mg_context;  // civetweb's server handle

namespace hu::daemon {

class Metrics {
 public:
  // guest_channels: how many guest channels are open now.
  Metrics(Core& core, EventBus& bus, Backend& backend, std::function<size_t()> guest_channels);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Starts counting decisions from the bus.
  void Start();
  void Stop();
  // The exposition, as served on GET /metrics.
  std::string Render();

  // Histogram bucket bounds of hyperupcall_verification_seconds.
  static const std::vector<double>& VerificationBuckets();

 private:
  void Count(const OpEvent& e);

  Core& core_;
  EventBus& bus_;
  Backend& backend_;
  std::function<size_t()> guest_channels_;
  std::shared_ptr<Subscription> sub_;
  std::atomic<bool> stop_{false};
  std::thread thread_;

  std::mutex mu_;
  // (verdict, stage) -> registrations.
  std::map<std::pair<std::string, std::string>, uint64_t> registrations_;
  std::vector<uint64_t> verify_buckets_;  // cumulative at render, per bound here
  uint64_t verify_count_ = 0;
  double verify_sum_s_ = 0;
  uint64_t events_lost_ = 0;
};

// GET /metrics over HTTP on ADDR:PORT (civetweb), until destroyed.
class MetricsServer {
 public:
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& address, Metrics& metrics);
  ~MetricsServer();

 private:
  MetricsServer() = default;
  ::mg_context* ctx_ = nullptr;
};

}  // namespace hu::daemon
