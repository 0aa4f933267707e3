#include "model.hpp"

#include <fmt/format.h>

#include <set>
#include <stdexcept>

namespace hu::daemon::sim {

namespace {
const SimOptions& Checked(const SimOptions& o) {
  if (Status s = CheckSimOptions(o); !s.ok()) throw std::invalid_argument(s.error().message);
  return o;
}
}  // namespace

Status CheckSimOptions(const SimOptions& o) {
  auto bad = [](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, "sim options: " + why);
  };
  if (o.guests.empty()) return bad("no guests");
  if (o.pcpus == 0 || o.pcpus > 64) return bad(fmt::format("pcpus {} not in 1..64", o.pcpus));
  if (o.tick_us == 0 || o.slice_us < o.tick_us)
    return bad(fmt::format("tick_us {} must be > 0 and <= slice_us {}", o.tick_us, o.slice_us));
  if (o.tick_interval_us == 0) return bad("tick_interval_us is 0");
  if (o.pressure_percent == 0 || o.pressure_percent > 100)
    return bad(fmt::format("pressure_percent {} not in 1..100", o.pressure_percent));
  if (o.trace_ring_records == 0 || o.trace_ring_records > (1u << 20))
    return bad(fmt::format("trace_ring_records {} not in 1..{}", o.trace_ring_records, 1u << 20));
  std::set<uint32_t> ids;
  for (const GuestConfig& g : o.guests) {
    if (g.domid == 0) return bad("guest domid 0 is dom0's");
    if (g.domid >= 0x7ff0) return bad(fmt::format("guest domid {} is reserved", g.domid));
    if (!ids.insert(g.domid).second) return bad(fmt::format("guest domid {} used twice", g.domid));
    if (g.vcpus == 0 || g.vcpus > layout::kNrCpus)
      return bad(fmt::format("guest {}: vcpus {} not in 1..{}", g.domid, g.vcpus, layout::kNrCpus));
    if (g.memory_mib < 32 || g.memory_mib > 1024)
      return bad(fmt::format("guest {}: memory_mib {} not in 32..1024", g.domid, g.memory_mib));
  }
  return Status::Ok();
}

Model::Model(const SimOptions& options)
    : opt(Checked(options)), rng(options.seed), ring(options.trace_ring_records) {
  pcpus.resize(opt.pcpus);
  for (const GuestConfig& cfg : opt.guests) (void)AddGuest(cfg);
}

Status Model::AddGuest(const GuestConfig& cfg) {
  SimOptions one = opt;
  one.guests = {cfg};
  for (auto& g : guests) one.guests.push_back(g->config());
  if (Status s = CheckSimOptions(one); !s.ok()) return s;
  auto g = std::make_unique<Guest>(cfg);
  // The guest has booted and is using about 40% of its free memory. What
  // is in those frames has not been written yet (it reads as zeros): the
  // frames become resident in the host when the workload writes them.
  for (uint64_t gfn = 0; gfn < g->frames(); ++gfn)
    if (g->IsFree(gfn) && Rand(100) < 40) g->SetFree(gfn, false);
  for (Vcpu& v : g->vcpus()) {
    v.queued = true;
    runq.emplace_back(g.get(), v.id);
  }
  total_frames += g->frames();
  guests.push_back(std::move(g));
  for (uint32_t p = 0; p < pcpus.size() && !runq.empty(); ++p) {
    if (pcpus[p].guest) continue;
    auto [rg, v] = runq.front();
    runq.pop_front();
    rg->vcpus()[v].queued = false;
    Schedule(*rg, v, p);
  }
  return Status::Ok();
}

void Model::RemoveGuest(uint32_t domid) {
  Guest* g = FindGuest(domid);
  if (!g) return;
  for (Pcpu& p : pcpus)
    if (p.guest == g) p.guest = nullptr;
  std::erase_if(runq, [g](const auto& e) { return e.first == g; });
  for (uint64_t gfn = 0; gfn < g->frames(); ++gfn)
    if (g->frame_state()[gfn] != FrameState::kResident) --nonresident;
  total_frames -= g->frames();
  programs.erase(domid);
  reclaim_hand.erase(domid);
  std::erase_if(guests, [g](const auto& p) { return p.get() == g; });
}

Guest* Model::FindGuest(uint32_t domid) {
  for (auto& g : guests)
    if (g->domid() == domid) return g.get();
  return nullptr;
}

Program* Model::FindProgram(uint32_t domid, uint64_t prog_id) {
  auto it = programs.find(domid);
  if (it == programs.end()) return nullptr;
  for (auto& p : it->second)
    if (p->id() == prog_id) return p.get();
  return nullptr;
}

Status Model::Install(const ProgramImage& image) {
  Guest* g = FindGuest(image.domid);
  if (!g)
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("no domain {} on the sim backend", image.domid));
  for (auto& [domid, list] : programs)
    for (auto& p : list)
      if (p->id() == image.id)
        return MakeError(
            ErrorCode::kAlreadyExists,
            fmt::format("program id {} is already installed (domain {})", image.id, domid));
  auto p = Program::Create(image, *g, opt.default_run_budget);
  if (!p.ok()) return p.error();
  programs[image.domid].push_back(std::move(*p));
  return Status::Ok();
}

Status Model::Uninstall(uint32_t domid, uint64_t prog_id) {
  auto it = programs.find(domid);
  if (it != programs.end())
    for (auto p = it->second.begin(); p != it->second.end(); ++p)
      if ((*p)->id() == prog_id) {
        it->second.erase(p);
        return Status::Ok();
      }
  return MakeError(ErrorCode::kNotFound,
                   fmt::format("no program {} installed on domain {}", prog_id, domid));
}

// Runs every program of `hook` on the guest, in install order; `combine`
// gets each completed run's r0. Failed runs (budget, fault) count in the
// program's stats and give no answer, so the host keeps its default.
template <class Ctx, class Combine>
bool Model::RunAll(Guest& g, hu_hook_id hook, const Ctx& ctx, int32_t vcpu, uint64_t cr3,
                   Combine&& combine) {
  auto it = programs.find(g.domid());
  if (it == programs.end()) return false;
  bool any = false;
  RunSite site{&g, vcpu, cr3 ? cr3 : g.kernel_cr3(), now_ns, &ring};
  for (auto& p : it->second) {
    if (p->hook() != hook) continue;
    any = true;
    Ctx copy = ctx;  // the program's view; it cannot change ours
    RunOutcome r = p->Run(site, &copy, sizeof copy);
    combine(*p, r);
  }
  counters.trace_dropped = ring.dropped();
  return any;
}

std::optional<bool> Model::FireReclaim(Guest& g, uint64_t gfn, uint32_t reason) {
  hu_ctx_mem_reclaim ctx{};
  ctx.gfn = gfn;
  ctx.gpa = gfn << kPageShift;
  ctx.guest_frames = g.frames();
  ctx.domid = g.domid();
  ctx.reason = reason;
  // FREE only if every program says so: discarding a used frame loses data.
  bool free = true;
  const bool any = RunAll(g, HU_HOOK_MEM_RECLAIM, ctx, -1, 0, [&](Program&, const RunOutcome& r) {
    free = free && r.ok && r.r0 == HU_RECLAIM_FREE;
  });
  if (!any) return std::nullopt;
  return free;
}

std::optional<bool> Model::FireTlbFlush(Guest& g, uint32_t src, uint32_t dst, uint64_t va,
                                        uint64_t nr_pages, uint32_t flags) {
  const Vcpu& t = g.vcpus()[dst];
  hu_ctx_tlb_flush ctx{};
  ctx.src_vcpu = src;
  ctx.dst_vcpu = dst;
  ctx.va = va;
  ctx.nr_pages = nr_pages;
  ctx.dst_cr3 = t.cr3;
  ctx.flags = flags;
  ctx.dst_descheduled_us = static_cast<uint32_t>(
      std::min<uint64_t>((now_ns - std::min(now_ns, t.last_ran_ns)) / 1000, UINT32_MAX));
  ctx.dst_state = t.running ? HU_RUNSTATE_RUNNING : HU_RUNSTATE_RUNNABLE;
  bool defer = true;
  const bool any =
      RunAll(g, HU_HOOK_TLB_FLUSH, ctx, static_cast<int32_t>(src), g.vcpus()[src].cr3,
             [&](Program&, const RunOutcome& r) { defer = defer && r.ok && r.r0 == HU_TLB_DEFER; });
  if (!any) return std::nullopt;
  return defer;
}

std::optional<uint32_t> Model::FirePreempt(Guest& g, uint32_t vcpu, uint32_t pcpu,
                                           uint32_t reason) {
  const Vcpu& v = g.vcpus()[vcpu];
  hu_ctx_sched_preempt ctx{};
  ctx.vcpu = vcpu;
  ctx.pcpu = pcpu;
  ctx.ran_ns = v.ran_ns;
  ctx.rip = v.rip;
  ctx.rsp = v.rsp;
  ctx.gs_base = v.gs_base;
  ctx.cr3 = v.cr3;
  ctx.cpl = v.cpl;
  ctx.reason = reason;
  ctx.kernel_gs_base = v.kernel_gs_base;
  ctx.rflags = v.rflags;
  ctx.competitor_domid = UINT32_MAX;  // the sim's round robin has no other domain
  // The shortest grace any program asks for, each capped by its operator limit.
  std::optional<uint64_t> grace;
  const bool any = RunAll(g, HU_HOOK_SCHED_PREEMPT, ctx, static_cast<int32_t>(vcpu), v.cr3,
                          [&](Program& p, const RunOutcome& r) {
                            const uint64_t cap =
                                p.max_grace_us() ? p.max_grace_us() : opt.default_max_grace_us;
                            const uint64_t want = r.ok ? std::min<uint64_t>(r.r0, cap) : 0;
                            grace = grace ? std::min(*grace, want) : want;
                          });
  if (!any) return std::nullopt;
  return static_cast<uint32_t>(grace.value_or(0));
}

void Model::FireTraceExit(Guest& g, uint32_t vcpu, uint32_t kind, uint64_t code,
                          const uint64_t (&args)[6]) {
  const Vcpu& v = g.vcpus()[vcpu];
  hu_ctx_trace_exit ctx{};
  ctx.vcpu = vcpu;
  ctx.kind = kind;
  ctx.code = code;
  for (int i = 0; i < 6; ++i) ctx.args[i] = args[i];
  ctx.rip = v.rip;
  ctx.time_ns = now_ns;
  RunAll(g, HU_HOOK_TRACE_EXIT, ctx, static_cast<int32_t>(vcpu), v.cr3,
         [](Program&, const RunOutcome&) {});
}

std::optional<bool> Model::FireProtect(Guest& g, uint32_t vcpu, uint64_t gpa, uint64_t gva,
                                       uint64_t rip, uint64_t value, uint32_t size) {
  hu_ctx_mem_protect ctx{};
  ctx.gpa = gpa;
  ctx.gva = gva;
  ctx.rip = rip;
  ctx.value = value;
  ctx.vcpu = vcpu;
  ctx.size = size;
  // Allowed only if every program allows it; a failed run denies (the
  // guest asked for protection, so fail closed).
  bool deny = false;
  const bool any = RunAll(
      g, HU_HOOK_MEM_PROTECT, ctx, static_cast<int32_t>(vcpu), g.vcpus()[vcpu].cr3,
      [&](Program&, const RunOutcome& r) { deny = deny || !r.ok || r.r0 != HU_PROTECT_ALLOW; });
  if (!any) return std::nullopt;
  return deny;
}

}  // namespace hu::daemon::sim
