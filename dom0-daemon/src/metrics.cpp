#include "metrics.hpp"

#include <civetweb.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstring>

#include "hyperupcall/abi.h"
#include "names.hpp"

#ifndef HU_VERSION
#define HU_VERSION "unknown"
#endif

namespace hu::daemon {

namespace {

namespace op = hyperupcall::operator_api::v1;

// Label values are ours (hook names, verdicts, stages, numbers), but a
// domain name is not used as a label at all: guests choose nothing here.
std::string Labels(std::initializer_list<std::pair<const char*, std::string>> kv) {
  std::string out;
  for (const auto& [k, v] : kv) {
    std::string esc;
    for (char c : v) {
      if (c == '\\' || c == '"') esc += '\\';
      if (c == '\n') {
        esc += "\\n";
        continue;
      }
      esc += c;
    }
    out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", k, esc);
  }
  return out.empty() ? "" : "{" + out + "}";
}

void Family(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

std::string Num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

}  // namespace

const std::vector<double>& Metrics::VerificationBuckets() {
  static const std::vector<double> b = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
  return b;
}

Metrics::Metrics(Core& core, EventBus& bus, Backend& backend,
                 std::function<size_t()> guest_channels)
    : core_(core),
      bus_(bus),
      backend_(backend),
      guest_channels_(std::move(guest_channels)),
      verify_buckets_(VerificationBuckets().size(), 0) {}

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
  std::lock_guard lk(mu_);
  ++registrations_[{verdict, stage}];
  if (rec && rec->verifier_ms > 0) {
    const double s = rec->verifier_ms / 1000.0;
    const auto& b = VerificationBuckets();
    for (size_t i = 0; i < b.size(); ++i) {
      if (s <= b[i]) ++verify_buckets_[i];
    }
    ++verify_count_;
    verify_sum_s_ += s;
  }
  events_lost_ = sub_ ? sub_->dropped() : 0;
}

std::string Metrics::Render() {
  std::string out;
  Family(out, "hyperupcall_build_info", "gauge", "hyperupcalld's version (value 1).");
  out += fmt::format("hyperupcall_build_info{} 1\n", Labels({{"version", HU_VERSION}}));
  {
    std::lock_guard lk(mu_);
    Family(out, "hyperupcall_registrations_total", "counter",
           "Programs guests registered, by verdict (accepted, pending, rejected) and the stage "
           "that rejected them (policy, verifier, backend; empty when not rejected).");
    for (const auto& [k, n] : registrations_) {
      out += fmt::format("hyperupcall_registrations_total{} {}\n",
                         Labels({{"verdict", k.first}, {"stage", k.second}}), n);
    }
    Family(out, "hyperupcall_verification_seconds", "histogram",
           "Time the verifier took per registered program.");
    const auto& b = VerificationBuckets();
    for (size_t i = 0; i < b.size(); ++i) {
      out += fmt::format("hyperupcall_verification_seconds_bucket{} {}\n",
                         Labels({{"le", Num(b[i])}}), verify_buckets_[i]);
    }
    out += fmt::format("hyperupcall_verification_seconds_bucket{} {}\n", Labels({{"le", "+Inf"}}),
                       verify_count_);
    out += fmt::format("hyperupcall_verification_seconds_sum {}\n", Num(verify_sum_s_));
    out += fmt::format("hyperupcall_verification_seconds_count {}\n", verify_count_);
    Family(out, "hyperupcall_metrics_events_lost_total", "counter",
           "Daemon events the metrics counter missed (its queue was full): when not 0, "
           "hyperupcall_registrations_total undercounts by at most this much.");
    out += fmt::format("hyperupcall_metrics_events_lost_total {}\n", events_lost_);
  }

  // Per (domid, hook): installed programs and the backend's run statistics.
  struct Agg {
    uint64_t installed = 0, runs = 0, insns = 0, run_ns = 0, aborts = 0, errors = 0;
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
    }
  }
  auto each = [&](const char* name, const char* type, const char* help, auto field) {
    Family(out, name, type, help);
    for (const auto& [k, a] : per) {
      out +=
          fmt::format("{}{} {}\n", name,
                      Labels({{"domid", std::to_string(k.first)}, {"hook", k.second}}), field(a));
    }
  };
  each("hyperupcall_programs_installed", "gauge", "Programs installed in the hypervisor.",
       [](const Agg& a) { return std::to_string(a.installed); });
  each("hyperupcall_program_runs_total", "counter",
       "Runs of the installed programs (a detached program's runs leave the sum).",
       [](const Agg& a) { return std::to_string(a.runs); });
  each("hyperupcall_program_instructions_total", "counter",
       "Instructions the installed programs executed.",
       [](const Agg& a) { return std::to_string(a.insns); });
  each("hyperupcall_program_run_seconds_total", "counter",
       "Time the installed programs ran, as the backend measures it (sim: host clock; Xen: "
       "the hypervisor's clock).",
       [](const Agg& a) { return Num(a.run_ns / 1e9); });
  each("hyperupcall_program_budget_aborts_total", "counter",
       "Runs stopped by the instruction budget.",
       [](const Agg& a) { return std::to_string(a.aborts); });
  each("hyperupcall_program_errors_total", "counter",
       "Runs stopped by any other runtime error (a helper refusing its arguments, a bad "
       "guest address, ...).",
       [](const Agg& a) { return std::to_string(a.errors); });

  Family(out, "hyperupcall_pending_approvals", "gauge",
         "Verified programs waiting for an operator's approval.");
  out += fmt::format("hyperupcall_pending_approvals {}\n", core_.Pending(std::nullopt).size());
  Family(out, "hyperupcall_guest_channels", "gauge", "Guest channels the daemon serves.");
  out += fmt::format("hyperupcall_guest_channels {}\n", guest_channels_ ? guest_channels_() : 0);
  Family(out, "hyperupcall_trace_records_lost_total", "counter",
         "trace_output records the hypervisor dropped because its trace ring was full.");
  out += fmt::format("hyperupcall_trace_records_lost_total {}\n", backend_.TraceRecordsLost());
  return out;
}

namespace {

int ServeMetrics(mg_connection* conn, void* cbdata) {
  auto* m = static_cast<Metrics*>(cbdata);
  const mg_request_info* ri = mg_get_request_info(conn);
  if (!ri || std::strcmp(ri->request_method, "GET") != 0) {
    mg_printf(conn,
              "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\n"
              "Connection: close\r\n\r\n");
    return 405;
  }
  const std::string body = m->Render();
  mg_printf(conn,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
            body.size());
  mg_write(conn, body.data(), body.size());
  return 200;
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                            Metrics& metrics) {
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  mg_init_library(0);
  const char* opts[] = {"listening_ports",    address.c_str(), "num_threads", "2",
                        "request_timeout_ms", "5000",          nullptr};
  mg_callbacks cb{};
  s->ctx_ = mg_start(&cb, nullptr, opts);
  if (!s->ctx_) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("cannot serve metrics on {} (in use, or not ADDR:PORT)", address));
  }
  mg_set_request_handler(s->ctx_, "/metrics", ServeMetrics, &metrics);
  spdlog::info("Prometheus metrics on http://{}/metrics", address);
  return s;
}

MetricsServer::~MetricsServer() {
  if (ctx_) mg_stop(ctx_);
}

}  // namespace hu::daemon
