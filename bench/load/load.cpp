// hu-load: registrations per second and their latency, through
// hyperupcalld's guest API, with its own asynchronous gRPC client.
//
// Each simulated guest keeps --inflight registrations going on its own
// channel; each accepted program is unloaded again (so a run can last
// without reaching the policy's program count), and the next registration
// follows. Only RegisterProgram calls are counted and timed; the unloads
// are load on the daemon all the same. With --daemon it starts a private
// hyperupcalld (sim backend, --sim-guests N) and reports its CPU time and
// memory too.
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "daemon_process.hpp"
#include "hyperupcall/guest/kallsyms.hpp"
#include "hyperupcall/guest/v1/guest.grpc.pb.h"
#include "tool.hpp"

namespace gv1 = hyperupcall::guest::v1;
using Clock = std::chrono::steady_clock;

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// mov r0, 0; exit: the smallest program there is.
gv1::RegisterProgramRequest TrivialRequest() {
  gv1::RegisterProgramRequest r;
  r.set_hook("trace.exit");
  r.set_name("load");
  const uint8_t insns[16] = {0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0};
  r.set_insns(std::string(reinterpret_cast<const char*>(insns), sizeof insns));
  return r;
}

// One of the shipped policies, loaded as the guest tool would (ELF,
// manifest, the guest's kallsyms).
gv1::RegisterProgramRequest PolicyRequest(const std::string& dir, const std::string& name,
                                          const std::string& kallsyms) {
  hu::guest::tool::LoadOptions o;
  o.file = dir + "/" + name + ".bpf.o";
  o.manifest = dir + "/" + name + ".manifest.json";
  auto ks = hu::guest::Kallsyms::Load(kallsyms);
  if (!ks) throw std::runtime_error(ks.error().message);
  hu::guest::tool::Failure f;
  auto prep = hu::guest::tool::PrepareLoad(o, *ks, &f);
  if (prep.requests.empty()) throw std::runtime_error(f.message);
  return prep.requests.front();
}

struct Guest {
  uint32_t domid = 0;
  std::unique_ptr<gv1::GuestService::Stub> stub;
  gv1::RegisterProgramRequest request;
};

struct Slot {
  Guest* guest = nullptr;
  grpc::CompletionQueue* cq = nullptr;
  bool unloading = false;
  std::unique_ptr<grpc::ClientContext> ctx;
  gv1::RegisterProgramResponse reg;
  gv1::UnregisterProgramResponse unreg;
  std::unique_ptr<grpc::ClientAsyncResponseReader<gv1::RegisterProgramResponse>> reg_rpc;
  std::unique_ptr<grpc::ClientAsyncResponseReader<gv1::UnregisterProgramResponse>> unreg_rpc;
  grpc::Status status;
  int64_t start_ns = 0;
};

struct Tally {
  std::vector<int64_t> latency_ns;  // of registrations answered in the window
  // (answered at, latency) of the accepted ones: the rate and p99 per part
  // of the window show whether the daemon slows as its history grows.
  std::vector<std::pair<int64_t, int64_t>> accepted_at;
  uint64_t accepted = 0, rejected = 0, pending = 0, unloads = 0;
  std::map<int, uint64_t> errors;  // gRPC code -> count, in the window
  std::string first_error;
};

class Runner {
 public:
  Runner(std::vector<Guest>& guests, int inflight, int threads, bool unload)
      : guests_(guests), unload_(unload) {
    for (int i = 0; i < threads; ++i) cqs_.push_back(std::make_unique<grpc::CompletionQueue>());
    tallies_.resize(threads);
    size_t n = 0;
    for (auto& g : guests_) {
      for (int k = 0; k < inflight; ++k) {
        auto s = std::make_unique<Slot>();
        s->guest = &g;
        s->cq = cqs_[n++ % cqs_.size()].get();
        slots_.push_back(std::move(s));
      }
    }
  }

  void Run(double warmup_s, double duration_s) {
    window_start_ = NowNs() + static_cast<int64_t>(warmup_s * 1e9);
    window_end_ = window_start_ + static_cast<int64_t>(duration_s * 1e9);
    outstanding_ = slots_.size();
    for (auto& s : slots_) Register(*s);
    std::vector<std::thread> ts;
    for (size_t i = 0; i < cqs_.size(); ++i) ts.emplace_back([this, i] { Poll(i); });
    for (auto& t : ts) t.join();
  }

  Tally Total() const {
    Tally t;
    for (const auto& x : tallies_) {
      t.latency_ns.insert(t.latency_ns.end(), x.latency_ns.begin(), x.latency_ns.end());
      t.accepted_at.insert(t.accepted_at.end(), x.accepted_at.begin(), x.accepted_at.end());
      t.accepted += x.accepted;
      t.rejected += x.rejected;
      t.pending += x.pending;
      t.unloads += x.unloads;
      for (auto [c, n] : x.errors) t.errors[c] += n;
      if (t.first_error.empty()) t.first_error = x.first_error;
    }
    return t;
  }
  int64_t window_start() const { return window_start_; }
  int64_t window_end() const { return window_end_; }

 private:
  void Register(Slot& s) {
    s.unloading = false;
    s.ctx = std::make_unique<grpc::ClientContext>();
    s.ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    s.start_ns = NowNs();
    s.reg_rpc = s.guest->stub->AsyncRegisterProgram(s.ctx.get(), s.guest->request, s.cq);
    s.reg_rpc->Finish(&s.reg, &s.status, &s);
  }
  void Unregister(Slot& s, uint64_t id) {
    s.unloading = true;
    s.ctx = std::make_unique<grpc::ClientContext>();
    s.ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    gv1::UnregisterProgramRequest req;
    req.set_id(id);
    s.unreg_rpc = s.guest->stub->AsyncUnregisterProgram(s.ctx.get(), req, s.cq);
    s.unreg_rpc->Finish(&s.unreg, &s.status, &s);
  }

  void Poll(size_t i) {
    Tally& t = tallies_[i];
    void* tag;
    bool ok;
    while (cqs_[i]->Next(&tag, &ok)) {
      Slot& s = *static_cast<Slot*>(tag);
      const int64_t now = NowNs();
      const bool in_window = now >= window_start_ && now < window_end_;
      if (!s.unloading) {
        if (in_window) {
          if (s.status.ok()) {
            t.latency_ns.push_back(now - s.start_ns);
            switch (s.reg.verdict().kind()) {
              case hyperupcall::common::v1::VERDICT_ACCEPTED:
                ++t.accepted;
                t.accepted_at.emplace_back(now, now - s.start_ns);
                break;
              case hyperupcall::common::v1::VERDICT_PENDING_APPROVAL:
                ++t.pending;
                t.accepted_at.emplace_back(now, now - s.start_ns);
                break;
              default:
                ++t.rejected;
                if (t.first_error.empty()) t.first_error = "rejected: " + s.reg.verdict().message();
            }
          } else {
            ++t.errors[s.status.error_code()];
            if (t.first_error.empty()) {
              t.first_error = fmt::format("{}: {}", static_cast<int>(s.status.error_code()),
                                          s.status.error_message());
            }
          }
        }
        if (s.status.ok() && unload_ &&
            s.reg.verdict().kind() != hyperupcall::common::v1::VERDICT_REJECTED) {
          Unregister(s, s.reg.id());
          continue;
        }
      } else if (s.status.ok() && in_window) {
        ++t.unloads;
      }
      if (now < window_end_) {
        Register(s);
      } else if (--outstanding_ == 0) {
        for (auto& cq : cqs_) cq->Shutdown();
      }
    }
  }

  std::vector<Guest>& guests_;
  const bool unload_;
  std::vector<std::unique_ptr<grpc::CompletionQueue>> cqs_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Tally> tallies_;
  std::atomic<size_t> outstanding_{0};
  int64_t window_start_ = 0, window_end_ = 0;
};

double Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return static_cast<double>(v[k]) / 1e6;
}

// Registrations/s and p99 in each of `parts` equal parts of the window.
nlohmann::json Windows(const Tally& t, int64_t start_ns, double duration_s, int parts) {
  nlohmann::json out = nlohmann::json::array();
  const double part_s = duration_s / parts;
  std::vector<std::vector<int64_t>> lat(static_cast<size_t>(parts));
  for (auto [at, ns] : t.accepted_at) {
    const auto k = static_cast<size_t>(static_cast<double>(at - start_ns) / 1e9 / part_s);
    lat[std::min(k, lat.size() - 1)].push_back(ns);
  }
  for (auto& l : lat) {
    const double rate = static_cast<double>(l.size()) / part_s;
    const double p99 = Percentile(l, 0.99);
    out.push_back({{"registrations_per_s", rate}, {"p99_ms", p99}});
  }
  return out;
}

double SelfCpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hu-load: hyperupcalld's guest API under load (registrations/s, latency)"};
  std::string daemon, socket_dir, kallsyms_dir, program = "trivial", policies,
                                                state_parent = "/tmp";
  std::vector<std::string> daemon_args;
  uint32_t guests = 8;
  int inflight = 4, threads = 2;
  double duration = 5, warmup = 1;
  bool json_out = false, require_verdicts = false, no_unload = false;
  int windows = 1;
  std::string label;
  app.add_option("--daemon", daemon, "start this hyperupcalld (sim backend) for the run");
  app.add_option("--daemon-arg", daemon_args, "one more argument for the started daemon")
      ->allow_extra_args(false);
  app.add_option("--state-parent", state_parent,
                 "where the started daemon's temporary state goes (a real disk: fsync counts)")
      ->capture_default_str();
  app.add_option("--socket-dir", socket_dir, "or: an existing daemon's --guest-socket-dir");
  app.add_option("--kallsyms-dir", kallsyms_dir,
                 "with --socket-dir: its kallsyms directory (for --program other than trivial)");
  app.add_option("--guests", guests, "guests (domids 1..N), one channel each")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  app.add_option("--inflight", inflight, "registrations each guest keeps going at once")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--threads", threads, "client completion-queue threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--duration", duration, "seconds measured")->capture_default_str();
  app.add_option("--warmup", warmup, "seconds before measuring")->capture_default_str();
  app.add_option("--program", program,
                 "trivial (mov r0,0; exit), or a shipped policy: trace, reclaim, preempt")
      ->capture_default_str();
  app.add_option("--policies", policies, "where the policies' .bpf.o and manifests are");
  app.add_flag("--no-unload", no_unload, "do not unload accepted programs");
  app.add_flag("--require-verdicts", require_verdicts,
               "exit 1 unless every registration in the window got a verdict");
  app.add_option("--windows", windows,
                 "report the rate and p99 of each of N equal parts of the window too (does the "
                 "daemon slow down as registrations accumulate?)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--label", label, "a name for this run in the output");
  app.add_flag("--json", json_out, "one JSON object on stdout");
  CLI11_PARSE(app, argc, argv);
  if (daemon.empty() == socket_dir.empty()) {
    std::fprintf(stderr, "hu-load: give --daemon or --socket-dir\n");
    return 64;
  }
  if (policies.empty()) {
    // Next to the build's bench/load/hu-load: build/policies.
    policies = (std::filesystem::path(argv[0]).parent_path() / "../../policies").string();
  }

  std::unique_ptr<hu::bench::DaemonProcess> proc;
  try {
    if (!daemon.empty()) {
      proc = std::make_unique<hu::bench::DaemonProcess>(daemon, guests, daemon_args, state_parent);
    }
    std::vector<Guest> gs(guests);
    for (uint32_t i = 0; i < guests; ++i) {
      Guest& g = gs[i];
      g.domid = i + 1;
      const std::string sock =
          proc ? proc->GuestSocket(g.domid) : fmt::format("{}/{}.sock", socket_dir, g.domid);
      const std::string ks =
          proc ? proc->KallsymsPath(g.domid) : fmt::format("{}/{}/kallsyms", kallsyms_dir, g.domid);
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      g.stub = gv1::GuestService::NewStub(
          grpc::CreateCustomChannel("unix:" + sock, grpc::InsecureChannelCredentials(), args));
      g.request = program == "trivial" ? TrivialRequest() : PolicyRequest(policies, program, ks);
    }
    Runner runner(gs, inflight, threads, !no_unload);
    // CPU counters (daemon, this tool, the machine) as the window opens.
    double daemon_cpu0 = 0, self_cpu0 = 0;
    hu::bench::HostCpu host_start;
    const int64_t start_at = NowNs() + static_cast<int64_t>(warmup * 1e9);
    std::thread at_start([&] {
      std::this_thread::sleep_for(std::chrono::nanoseconds(start_at - NowNs()));
      daemon_cpu0 = proc ? proc->CpuSeconds() : 0;
      self_cpu0 = SelfCpuSeconds();
      host_start = hu::bench::HostCpu::Now();
    });
    runner.Run(warmup, duration);
    at_start.join();
    const double daemon_cpu = proc ? proc->CpuSeconds() - daemon_cpu0 : 0;
    const double self_cpu = SelfCpuSeconds() - self_cpu0;
    const auto host1 = hu::bench::HostCpu::Now();
    const double host_busy = host1.total > host_start.total
                                 ? static_cast<double>(host1.busy - host_start.busy) /
                                       static_cast<double>(host1.total - host_start.total)
                                 : 0;
    Tally t = runner.Total();
    const uint64_t answered = t.accepted + t.rejected + t.pending;
    uint64_t errors = 0;
    for (auto [c, n] : t.errors) errors += n;
    const double rate = static_cast<double>(t.accepted + t.pending) / duration;
    const double p50 = Percentile(t.latency_ns, 0.50);
    const double p99 = Percentile(t.latency_ns, 0.99);
    const double rss = proc ? proc->RssMiB() : 0, peak = proc ? proc->PeakRssMiB() : 0;
    const unsigned cpus = std::thread::hardware_concurrency();
    double loadavg = 0;
    std::ifstream("/proc/loadavg") >> loadavg;
    nlohmann::json j{{"label", label},
                     {"program", program},
                     {"guests", guests},
                     {"inflight", inflight},
                     {"duration_s", duration},
                     {"accepted", t.accepted},
                     {"rejected", t.rejected},
                     {"pending", t.pending},
                     {"errors", errors},
                     {"unloads", t.unloads},
                     {"registrations_per_s", rate},
                     {"p50_ms", p50},
                     {"p99_ms", p99},
                     {"daemon_cpu_s", daemon_cpu},
                     {"daemon_cpu_us_per_registration",
                      answered ? daemon_cpu * 1e6 / static_cast<double>(answered) : 0},
                     {"client_cpu_s", self_cpu},
                     {"daemon_rss_mib", rss},
                     {"daemon_peak_rss_mib", peak},
                     {"host_busy_percent", host_busy * 100},
                     {"host_cpus", cpus},
                     {"loadavg_1m", loadavg},
                     {"first_error", t.first_error}};
    if (windows > 1) j["windows"] = Windows(t, runner.window_start(), duration, windows);
    if (proc) {
      // The database and its WAL after the run: retention keeps it bounded.
      std::error_code ec;
      uintmax_t bytes = 0;
      for (const char* sfx : {"", "-wal"}) {
        const auto n = std::filesystem::file_size(proc->StateDb() + sfx, ec);
        if (!ec) bytes += n;
      }
      j["state_db_mib"] = static_cast<double>(bytes) / (1 << 20);
    }
    if (json_out) {
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf(
          "%s%s, %u guests x %d in flight, %.1f s: %.0f registrations/s (%lu accepted, %lu "
          "rejected, %lu errors, %lu unloads), p50 %.2f ms, p99 %.2f ms\n"
          "  daemon: %.2f s CPU (%.0f us per registration), RSS %.0f MiB (peak %.0f); client "
          "%.2f s CPU; host %.0f%% busy of %u CPUs (load %.2f)\n",
          label.empty() ? "" : (label + ": ").c_str(), program.c_str(), guests, inflight, duration,
          rate, static_cast<unsigned long>(t.accepted), static_cast<unsigned long>(t.rejected),
          static_cast<unsigned long>(errors), static_cast<unsigned long>(t.unloads), p50, p99,
          daemon_cpu, answered ? daemon_cpu * 1e6 / static_cast<double>(answered) : 0, rss, peak,
          self_cpu, host_busy * 100, cpus, loadavg);
      if (!t.first_error.empty()) std::printf("  first error: %s\n", t.first_error.c_str());
      if (windows > 1) {
        for (const auto& w : j["windows"]) {
          std::printf("  part: %.0f registrations/s, p99 %.2f ms\n",
                      w["registrations_per_s"].get<double>(), w["p99_ms"].get<double>());
        }
      }
    }
    if (require_verdicts && (errors || answered == 0)) {
      std::fprintf(stderr, "hu-load: %lu registrations got no verdict (%s)\n",
                   static_cast<unsigned long>(errors), t.first_error.c_str());
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hu-load: %s\n", e.what());
    return 1;
  }
  return 0;
}
