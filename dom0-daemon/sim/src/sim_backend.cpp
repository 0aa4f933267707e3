#include "hyperupcall/daemon/sim_backend.hpp"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "model.hpp"
#include "page_tables.hpp"

namespace hu::daemon::sim {

namespace {

Error NoDomain(uint32_t domid) {
  return MakeError(ErrorCode::kNotFound, fmt::format("no domain {} on the sim backend", domid));
}

void WriteKallsyms(const std::string& dir, const Guest& g) {
  namespace fs = std::filesystem;
  const fs::path d = fs::path(dir) / std::to_string(g.domid());
  std::error_code ec;
  fs::create_directories(d, ec);
  if (ec) throw std::runtime_error("sim: cannot create " + d.string() + ": " + ec.message());
  const fs::path tmp = d / "kallsyms.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << g.Kallsyms();
    if (!out) throw std::runtime_error("sim: cannot write " + tmp.string());
  }
  fs::rename(tmp, d / "kallsyms", ec);  // readers never see half a file
  if (ec)
    throw std::runtime_error("sim: cannot write " + (d / "kallsyms").string() + ": " +
                             ec.message());
}

DomainInfo Info(const Guest& g) {
  DomainInfo d;
  d.domid = g.domid();
  d.name = g.config().name;
  d.uuid = g.uuid();
  d.vcpus = g.config().vcpus;
  d.memory_kib = uint64_t{g.config().memory_mib} * 1024;
  d.running = true;
  return d;
}

}  // namespace

SimBackend::SimBackend(const SimOptions& options)
    : model_(std::make_unique<Model>(options)),
      options_default_run_budget_(options.default_run_budget) {
  if (!options.kallsyms_dir.empty())
    for (auto& g : model_->guests) WriteKallsyms(options.kallsyms_dir, *g);
}

SimBackend::~SimBackend() { Stop(); }

std::vector<DomainInfo> SimBackend::Domains() {
  std::lock_guard<std::mutex> lock(model_->mu);
  std::vector<DomainInfo> out;
  for (auto& g : model_->guests) out.push_back(Info(*g));
  return out;
}

std::optional<DomainInfo> SimBackend::Domain(uint32_t domid) {
  std::lock_guard<std::mutex> lock(model_->mu);
  const Guest* g = model_->FindGuest(domid);
  if (!g) return std::nullopt;
  return Info(*g);
}

BackendLimits SimBackend::Limits() const {
  BackendLimits l;
  l.max_insns = kMaxInsns;
  // The model has a hook point for each (model.cpp's RunAll calls); a hook
  // new to the ABI stays refused here until the model runs it.
  l.hooks = (1ull << HU_HOOK_MEM_RECLAIM) | (1ull << HU_HOOK_TLB_FLUSH) |
            (1ull << HU_HOOK_SCHED_PREEMPT) | (1ull << HU_HOOK_TRACE_EXIT) |
            (1ull << HU_HOOK_MEM_PROTECT);
  return l;
}

Status SimBackend::Install(const ProgramImage& image) {
  std::lock_guard<std::mutex> lock(model_->mu);
  return model_->Install(image);
}

Status SimBackend::Uninstall(uint32_t domid, uint64_t prog_id) {
  std::lock_guard<std::mutex> lock(model_->mu);
  return model_->Uninstall(domid, prog_id);
}

Result<ProgramStats> SimBackend::Stats(uint32_t domid, uint64_t prog_id) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Program* p = model_->FindProgram(domid, prog_id);
  if (!p)
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("no program {} installed on domain {}", prog_id, domid));
  return p->stats();
}

Result<std::vector<MapEntry>> SimBackend::MapDump(uint32_t domid, uint64_t prog_id,
                                                  uint32_t map_index) {
  std::lock_guard<std::mutex> lock(model_->mu);
  auto m = FindMap(domid, prog_id, map_index);
  if (!m) return m.error();
  return (*m)->Dump();
}

Status SimBackend::MapUpdate(uint32_t domid, uint64_t prog_id, uint32_t map_index,
                             const MapEntry& entry) {
  std::lock_guard<std::mutex> lock(model_->mu);
  auto m = FindMap(domid, prog_id, map_index);
  if (!m) return m.error();
  return (*m)->Set(entry);
}

Status SimBackend::MapDelete(uint32_t domid, uint64_t prog_id, uint32_t map_index,
                             const std::vector<uint8_t>& key) {
  std::lock_guard<std::mutex> lock(model_->mu);
  auto m = FindMap(domid, prog_id, map_index);
  if (!m) return m.error();
  return (*m)->Remove(key);
}

Result<Map*> SimBackend::FindMap(uint32_t domid, uint64_t prog_id, uint32_t map_index) {
  Program* p = model_->FindProgram(domid, prog_id);
  if (!p)
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("no program {} installed on domain {}", prog_id, domid));
  if (map_index >= p->maps().size())
    return MakeError(ErrorCode::kOutOfRange, fmt::format("program {} has {} maps; no map {}",
                                                         prog_id, p->maps().size(), map_index));
  return &p->maps()[map_index];
}

std::vector<TraceRecord> SimBackend::DrainTrace() { return model_->ring.Drain(); }

uint64_t SimBackend::TraceRecordsLost() { return model_->ring.dropped(); }

void SimBackend::SetDomainEventSink(std::function<void(const DomainEvent&)> sink) {
  std::lock_guard<std::mutex> lock(model_->mu);
  model_->sink = std::move(sink);
}

Status SimBackend::Start() {
  Model& m = *model_;
  if (m.thread.joinable())
    return MakeError(ErrorCode::kFailedPrecondition, "sim backend already started");
  {
    std::lock_guard<std::mutex> lock(m.stop_mu);
    m.stopping = false;
  }
  auto domains = Domains();
  m.thread = std::thread([this, domains] {
    Model& m = *model_;
    std::function<void(const DomainEvent&)> sink;
    {
      std::lock_guard<std::mutex> lock(m.mu);
      sink = m.sink;
    }
    if (sink)
      for (const DomainInfo& d : domains) sink(DomainEvent{DomainEvent::Kind::kStarted, d});
    const auto interval = std::chrono::microseconds(m.opt.tick_interval_us);
    auto next = std::chrono::steady_clock::now();
    for (;;) {
      next += interval;
      {
        std::unique_lock<std::mutex> lock(m.stop_mu);
        if (m.stop_cv.wait_until(lock, next, [&] { return m.stopping; })) break;
      }
      std::lock_guard<std::mutex> lock(m.mu);
      m.Tick();
      const auto now = std::chrono::steady_clock::now();
      if (next < now - 100 * interval) next = now;  // don't race to catch up after a stall
    }
  });
  return Status::Ok();
}

void SimBackend::Stop() {
  Model& m = *model_;
  {
    std::lock_guard<std::mutex> lock(m.stop_mu);
    m.stopping = true;
  }
  m.stop_cv.notify_all();
  if (m.thread.joinable()) m.thread.join();
}

Result<std::vector<uint64_t>> SimBackend::ReclaimScan(uint32_t domid, uint64_t first_gfn,
                                                      uint64_t count) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (!g) return NoDomain(domid);
  return model_->ReclaimScan(*g, first_gfn, count);
}

Result<ReclaimReport> SimBackend::Reclaim(uint32_t domid, uint64_t max_frames) {
  if (max_frames == 0) return MakeError(ErrorCode::kInvalidArgument, "reclaim of 0 frames");
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (!g) return NoDomain(domid);
  return model_->ReclaimFree(*g, max_frames);
}

void SimBackend::RunTicks(uint64_t n) {
  std::lock_guard<std::mutex> lock(model_->mu);
  for (uint64_t i = 0; i < n; ++i) model_->Tick();
}

namespace {
Status CheckVcpu(Guest* g, uint32_t domid, uint32_t vcpu) {
  if (!g) return NoDomain(domid);
  if (vcpu >= g->vcpus().size())
    return MakeError(ErrorCode::kOutOfRange, fmt::format("domain {} has {} vCPUs; no vCPU {}",
                                                         domid, g->vcpus().size(), vcpu));
  return Status::Ok();
}
}  // namespace

Result<uint32_t> SimBackend::TlbShootdown(uint32_t domid, uint32_t src_vcpu, uint64_t va,
                                          uint64_t nr_pages) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (auto s = CheckVcpu(g, domid, src_vcpu); !s.ok()) return s.error();
  return model_->TlbShootdown(*g, src_vcpu, va, nr_pages);
}

Status SimBackend::GuestExit(uint32_t domid, uint32_t vcpu, uint32_t kind, uint64_t code,
                             const uint64_t (&args)[6]) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (auto s = CheckVcpu(g, domid, vcpu); !s.ok()) return s;
  if (kind > HU_EXIT_VMEXIT)
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("exit kind {} unknown", kind));
  if (kind == HU_EXIT_HYPERCALL) ++model_->counters.hypercalls;
  if (kind == HU_EXIT_TRAP) ++model_->counters.traps;
  model_->FireTraceExit(*g, vcpu, kind, code, args);
  return Status::Ok();
}

Result<bool> SimBackend::GuestWrite(uint32_t domid, uint32_t vcpu, uint64_t gva, uint64_t rip,
                                    uint64_t value, uint32_t size) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (auto s = CheckVcpu(g, domid, vcpu); !s.ok()) return s.error();
  if (size != 1 && size != 2 && size != 4 && size != 8)
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("write size {} not 1, 2, 4 or 8", size));
  auto t = WalkPageTables(g->mem(), g->vcpus()[vcpu].cr3, gva);
  if (!t.ok()) return t.error();
  return model_->GuestWrite(*g, vcpu, gva, rip, value, size);
}

Result<uint32_t> SimBackend::PreemptNow(uint32_t domid, uint32_t vcpu) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (auto s = CheckVcpu(g, domid, vcpu); !s.ok()) return s.error();
  const Vcpu& v = g->vcpus()[vcpu];
  if (!v.running)
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("domain {} vCPU {} is not running", domid, vcpu));
  return model_->Preempt(static_cast<uint32_t>(v.pcpu), HU_PREEMPT_WAKEUP);
}

Status SimBackend::SetVcpuState(uint32_t domid, uint32_t vcpu, uint32_t spin_depth, bool idle) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (auto s = CheckVcpu(g, domid, vcpu); !s.ok()) return s;
  Vcpu& v = g->vcpus()[vcpu];
  g->SetSpinDepth(vcpu, spin_depth);
  g->SetPreemptCount(vcpu, spin_depth);
  // Hold the locks (or stay idle) far beyond any test.
  v.lock_release_ns = UINT64_MAX;
  if (idle) {
    model_->GoIdle(*g, vcpu, UINT64_MAX - model_->now_ns);
  } else if (!v.runnable) {
    model_->Wake(*g, vcpu);
  }
  return Status::Ok();
}

Status SimBackend::ScheduleVcpu(uint32_t domid, uint32_t vcpu) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (auto s = CheckVcpu(g, domid, vcpu); !s.ok()) return s;
  if (!g->vcpus()[vcpu].runnable)
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("domain {} vCPU {} is idle; wake it first", domid, vcpu));
  if (g->vcpus()[vcpu].running) return Status::Ok();
  // On pCPU 0, descheduling whoever ran there.
  model_->Schedule(*g, vcpu, 0);
  return Status::Ok();
}

Status SimBackend::ReclaimPressure(uint32_t domid, uint32_t count) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (!g) return NoDomain(domid);
  model_->ReclaimFrames(*g, count, HU_RECLAIM_PRESSURE);
  return Status::Ok();
}

Status SimBackend::CreateDomain(const GuestConfig& config) {
  std::function<void(const DomainEvent&)> sink;
  DomainInfo info;
  {
    std::lock_guard<std::mutex> lock(model_->mu);
    if (Status s = model_->AddGuest(config); !s.ok()) return s;
    Guest* g = model_->FindGuest(config.domid);
    if (!model_->opt.kallsyms_dir.empty()) {
      try {
        WriteKallsyms(model_->opt.kallsyms_dir, *g);
      } catch (const std::exception& e) {
        model_->RemoveGuest(config.domid);
        return MakeError(ErrorCode::kFailedPrecondition, e.what());
      }
    }
    info = Info(*g);
    sink = model_->sink;
  }
  if (sink) sink(DomainEvent{DomainEvent::Kind::kStarted, info});
  return Status::Ok();
}

Status SimBackend::DestroyDomain(uint32_t domid) {
  std::function<void(const DomainEvent&)> sink;
  DomainInfo info;
  {
    std::lock_guard<std::mutex> lock(model_->mu);
    Guest* g = model_->FindGuest(domid);
    if (!g) return NoDomain(domid);
    info = Info(*g);
    info.running = false;
    model_->RemoveGuest(domid);
    sink = model_->sink;
  }
  if (sink) sink(DomainEvent{DomainEvent::Kind::kStopped, info});
  return Status::Ok();
}

SimCounters SimBackend::Counters() {
  std::lock_guard<std::mutex> lock(model_->mu);
  SimCounters c = model_->counters;
  c.now_ns = model_->now_ns;
  c.trace_dropped = model_->ring.dropped();
  return c;
}

Result<std::vector<VcpuView>> SimBackend::Vcpus(uint32_t domid) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (!g) return NoDomain(domid);
  std::vector<VcpuView> out;
  for (const Vcpu& v : g->vcpus()) {
    VcpuView w;
    w.vcpu = v.id;
    w.running = v.running;
    w.idle = !v.runnable;
    w.pcpu = v.pcpu < 0 ? 0 : static_cast<uint32_t>(v.pcpu);
    w.rip = v.rip;
    w.rsp = v.rsp;
    w.cr3 = v.cr3;
    w.gs_base = v.gs_base;
    w.preempt_count = g->PreemptCount(v.id);
    w.spin_depth = g->SpinDepth(v.id);
    w.lazy_tlb = g->LazyTlb(v.id);
    w.pending_flushes = v.pending_flushes;
    out.push_back(w);
  }
  return out;
}

Result<std::vector<bool>> SimBackend::GuestFreeFrames(uint32_t domid) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (!g) return NoDomain(domid);
  std::vector<bool> out(g->frames());
  for (uint64_t gfn = 0; gfn < g->frames(); ++gfn) out[gfn] = g->IsFree(gfn);
  return out;
}

Result<uint64_t> SimBackend::Translate(uint32_t domid, uint64_t cr3, uint64_t gva) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (!g) return NoDomain(domid);
  auto t = WalkPageTables(g->mem(), cr3 ? cr3 : g->kernel_cr3(), gva);
  if (!t.ok()) return t.error();
  return t->gpa;
}

Result<std::vector<uint8_t>> SimBackend::ReadGuestVirtual(uint32_t domid, uint64_t cr3,
                                                          uint64_t gva, uint64_t len) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (!g) return NoDomain(domid);
  if (len > (16u << 20))
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("read of {} bytes; at most 16 MiB", len));
  std::vector<uint8_t> out(len);
  uint64_t done = 0;
  while (done < len) {
    auto t = WalkPageTables(g->mem(), cr3 ? cr3 : g->kernel_cr3(), gva + done);
    if (!t.ok()) return t.error();
    const uint64_t chunk =
        std::min<uint64_t>(t->page_size - (t->gpa & (t->page_size - 1)), len - done);
    g->mem().Read(t->gpa, out.data() + done, chunk);
    done += chunk;
  }
  return out;
}

Result<uint64_t> SimBackend::Symbol(uint32_t domid, const std::string& name) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  if (!g) return NoDomain(domid);
  auto it = g->symbols().find(name);
  if (it == g->symbols().end())
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("'{}' not in domain {}'s kallsyms", name, domid));
  return it->second;
}

std::string SimBackend::Kallsyms(uint32_t domid) {
  std::lock_guard<std::mutex> lock(model_->mu);
  Guest* g = model_->FindGuest(domid);
  return g ? g->Kallsyms() : std::string();
}

std::unique_ptr<Backend> MakeSimBackend(const SimOptions& options) {
  return std::make_unique<SimBackend>(options);
}

Result<std::unique_ptr<SimBackend>> TryMakeSimBackend(const SimOptions& options) {
  if (Status s = CheckSimOptions(options); !s.ok()) return s.error();
  try {
    return std::make_unique<SimBackend>(options);
  } catch (const std::exception& e) {  // the kallsyms directory, mostly
    return MakeError(ErrorCode::kFailedPrecondition, e.what());
  }
}

}  // namespace hu::daemon::sim
