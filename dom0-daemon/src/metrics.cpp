#include "metrics.hpp"

#include <fmt/format.h>
#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <map>
#include <sstream>

#include "hyperupcall/abi.h"
#include "names.hpp"

#ifndef HU_VERSION
#define HU_VERSION "unknown"
#endif

namespace hu::daemon {

namespace {

namespace op = hyperupcall::operator_api::v1;
namespace pm = prometheus;

pm::MetricFamily Family(const char* name, const char* help, pm::MetricType type) {
  pm::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

// One sample; counters and gauges keep their value in different fields.
void Sample(pm::MetricFamily& f, std::vector<pm::ClientMetric::Label> labels, double v) {
  pm::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == pm::MetricType::Counter)
    m.counter.value = v;
  else
    m.gauge.value = v;
  f.metric.push_back(std::move(m));
}

}  // namespace

// The states, read at each scrape. Labels are `domid` and `hook` (never a
// name a guest or libvirt chose).
class Metrics::States : public pm::Collectable {
 public:
  States(Core& core, Backend& backend, MetricsSources sources)
      : core_(core), backend_(backend), sources_(std::move(sources)) {}

  std::vector<pm::MetricFamily> Collect() const override {
    struct Agg {
      uint64_t installed = 0, runs = 0, insns = 0, run_ns = 0, aborts = 0, errors = 0,
               helper_errors = 0, cycles = 0;
    };
    std::map<std::pair<uint32_t, std::string>, Agg> per;
    for (const auto& r : core_.Programs(std::nullopt, false)) {
      if (r.state == ProgState::kInstalled) ++per[{r.domid, HookName(r.hook)}].installed;
    }
    if (auto rows = core_.Stats(std::nullopt, 0)) {
      for (const auto& s : *rows) {
        auto& a = per[{s.domid, HookName(s.hook)}];
        a.runs += s.stats.runs;
        a.insns += s.stats.insns;
        a.run_ns += s.stats.run_ns;
        a.aborts += s.stats.budget_aborts;
        a.errors += s.stats.errors;
        a.helper_errors += s.stats.helper_errors;
        a.cycles += s.stats.cycles;
      }
    }
    std::vector<pm::MetricFamily> out;
    auto each = [&](const char* name, pm::MetricType type, const char* help, auto field) {
      auto f = Family(name, help, type);
      for (const auto& [k, a] : per) {
        Sample(f, {{"domid", std::to_string(k.first)}, {"hook", k.second}}, field(a));
      }
      out.push_back(std::move(f));
    };
    each("hyperupcall_programs_installed", pm::MetricType::Gauge,
         "Programs installed in the hypervisor.", [](const Agg& a) { return a.installed; });
    each("hyperupcall_program_runs_total", pm::MetricType::Counter,
         "Runs of the installed programs (a detached program's runs leave the sum).",
         [](const Agg& a) { return a.runs; });
    each("hyperupcall_program_instructions_total", pm::MetricType::Counter,
         "Instructions the installed programs executed.", [](const Agg& a) { return a.insns; });
    each("hyperupcall_program_run_seconds_total", pm::MetricType::Counter,
         "Time the installed programs ran, as the backend measures it (sim: host clock; Xen: "
         "the hypervisor's clock).",
         [](const Agg& a) { return a.run_ns / 1e9; });
    each("hyperupcall_program_budget_aborts_total", pm::MetricType::Counter,
         "Runs stopped by the instruction budget.", [](const Agg& a) { return a.aborts; });
    each("hyperupcall_program_errors_total", pm::MetricType::Counter,
         "Runs stopped by any other runtime error (a bad guest address, ...).",
         [](const Agg& a) { return a.errors; });
    each("hyperupcall_program_helper_errors_total", pm::MetricType::Counter,
         "Helper calls that answered an error (the run went on): a guest address outside the "
         "regions or not mapped, a full map or trace ring.",
         [](const Agg& a) { return a.helper_errors; });
    each("hyperupcall_program_cycles_total", pm::MetricType::Counter,
         "TSC cycles the installed programs ran: Xen counts them in the hypervisor around each "
         "run, the sim around its engine (the same counter as hyperupcallctl stats AVG_CYC).",
         [](const Agg& a) { return a.cycles; });

    auto single = [&](const char* name, pm::MetricType type, const char* help, double v) {
      auto f = Family(name, help, type);
      Sample(f, {}, v);
      out.push_back(std::move(f));
    };
    single("hyperupcall_pending_approvals", pm::MetricType::Gauge,
           "Verified programs waiting for an operator's approval.",
           static_cast<double>(core_.Pending(std::nullopt).size()));
    single("hyperupcall_guest_channels", pm::MetricType::Gauge, "Guest channels the daemon serves.",
           static_cast<double>(sources_.guest_channels ? sources_.guest_channels() : 0));
    single("hyperupcall_trace_records_lost_total", pm::MetricType::Counter,
           "trace_output records the hypervisor dropped because its trace ring was full.",
           static_cast<double>(backend_.TraceRecordsLost()));
    single("hyperupcall_fleet_degraded", pm::MetricType::Gauge,
           "1 while this host cannot reach the fleet's etcd and enforces its last known state "
           "(FleetStatus.degraded); 0 otherwise, and without --fleet-etcd.",
           sources_.fleet_degraded && sources_.fleet_degraded() ? 1 : 0);
    return out;
  }

 private:
  Core& core_;
  Backend& backend_;
  MetricsSources sources_;
};

const std::vector<double>& Metrics::VerificationBuckets() {
  static const std::vector<double> b = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
  return b;
}

Metrics::Metrics(Core& core, EventBus& bus, Backend& backend, MetricsSources sources)
    : core_(core),
      bus_(bus),
      registry_(std::make_shared<pm::Registry>()),
      registrations_(pm::BuildCounter()
                         .Name("hyperupcall_registrations_total")
                         .Help("Programs guests registered, by verdict (accepted, pending, "
                               "rejected) and the stage that rejected them (policy, verifier, "
                               "backend; empty when not rejected).")
                         .Register(*registry_)),
      verification_(pm::BuildHistogram()
                        .Name("hyperupcall_verification_seconds")
                        .Help("Time the verifier took per registered program.")
                        .Register(*registry_)
                        .Add({}, pm::Histogram::BucketBoundaries(VerificationBuckets()))),
      events_lost_(pm::BuildCounter()
                       .Name("hyperupcall_metrics_events_lost_total")
                       .Help("Daemon events the metrics counter missed (its queue was full): "
                             "when not 0, hyperupcall_registrations_total undercounts by at "
                             "most this much.")
                       .Register(*registry_)
                       .Add({})),
      states_(std::make_shared<States>(core, backend, std::move(sources))) {
  pm::BuildGauge()
      .Name("hyperupcall_build_info")
      .Help("hyperupcalld's version (value 1).")
      .Register(*registry_)
      .Add({{"version", HU_VERSION}})
      .Set(1);
}

Metrics::~Metrics() { Stop(); }

void Metrics::Start() {
  sub_ = bus_.Subscribe();
  thread_ = std::thread([this] {
    while (!stop_ && !sub_->closed()) {
      auto e = sub_->Next(200);
      if (e) Count(*e);
    }
  });
}

void Metrics::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (sub_) bus_.Unsubscribe(sub_);
  sub_.reset();
}

void Metrics::Count(const OpEvent& e) {
  const char* verdict = nullptr;
  switch (e.kind()) {
    case op::EVENT_KIND_REGISTERED:
      verdict = "accepted";
      break;
    case op::EVENT_KIND_PENDING:
      verdict = "pending";
      break;
    case op::EVENT_KIND_REJECTED:
      verdict = "rejected";
      break;
    default:
      return;  // trace records and lifecycle: not decisions on a registration
  }
  auto rec = core_.Program(e.prog_id());
  std::string stage = rec ? rec->verdict.stage : "";
  // An operator's reject of a pending program is a decision, not a
  // registration: it was counted as pending when it came.
  if (stage == "operator") return;
  registrations_.Add({{"verdict", verdict}, {"stage", stage}}).Increment();
  if (rec && rec->verifier_ms > 0) verification_.Observe(rec->verifier_ms / 1000.0);
  // The subscription counts what it dropped; the counter follows it.
  const double lost = sub_ ? static_cast<double>(sub_->dropped()) : 0;
  if (lost > events_lost_.Value()) events_lost_.Increment(lost - events_lost_.Value());
}

std::vector<std::weak_ptr<pm::Collectable>> Metrics::Collectables() const {
  return {registry_, states_};
}

std::string Metrics::Render() const {
  auto families = registry_->Collect();
  auto states = states_->Collect();
  families.insert(families.end(), states.begin(), states.end());
  std::ostringstream out;
  pm::TextSerializer().Serialize(out, families);
  return out.str();
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                            const Metrics& metrics) {
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  try {
    s->exposer_ = std::make_unique<pm::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("cannot serve metrics on {} (in use, or not ADDR:PORT): {}",
                                 address, e.what()));
  }
  for (const auto& c : metrics.Collectables()) s->exposer_->RegisterCollectable(c);
  spdlog::info("Prometheus metrics on http://{}/metrics", address);
  return s;
}

}  // namespace hu::daemon
