// Round-robin scheduling of every guest's vCPUs over the pCPUs, with the
// sched.preempt hook at the end of a slice, and the tick that drives the
// whole model.
#include "model.hpp"

namespace hu::daemon::sim {

void Model::Schedule(Guest& g, uint32_t vcpu, uint32_t pcpu) {
  Vcpu& v = g.vcpus()[vcpu];
  if (v.running) return;
  if (pcpus[pcpu].guest) Deschedule(pcpu);
  if (v.queued) {
    for (auto it = runq.begin(); it != runq.end(); ++it)
      if (it->first == &g && it->second == vcpu) {
        runq.erase(it);
        break;
      }
    v.queued = false;
  }
  pcpus[pcpu] = {&g, vcpu};
  v.running = true;
  v.runnable = true;
  v.pcpu = static_cast<int32_t>(pcpu);
  v.ran_ns = 0;
  v.slice_end_ns = now_ns + uint64_t{opt.slice_us} * 1000;
  v.grace_granted = false;
  // Deferred shootdowns are done now, before the vCPU sees a stale TLB.
  v.pending_flushes = 0;
  ++counters.context_switches;
}

void Model::Deschedule(uint32_t pcpu) {
  Pcpu& p = pcpus[pcpu];
  if (!p.guest) return;
  Vcpu& v = p.guest->vcpus()[p.vcpu];
  v.running = false;
  v.pcpu = -1;
  v.last_ran_ns = now_ns;
  if (v.runnable && !v.queued) {
    v.queued = true;
    runq.emplace_back(p.guest, p.vcpu);
  }
  p.guest = nullptr;
}

uint32_t Model::Preempt(uint32_t pcpu, uint32_t reason) {
  Pcpu& p = pcpus[pcpu];
  if (!p.guest) return 0;
  Guest& g = *p.guest;
  Vcpu& v = g.vcpus()[p.vcpu];
  if (!v.grace_granted) {
    const uint32_t grace = FirePreempt(g, v.id, pcpu, reason).value_or(0);
    if (grace > 0) {
      v.grace_granted = true;  // once per slice, whatever the program says next
      v.slice_end_ns = now_ns + uint64_t{grace} * 1000;
      ++counters.grace_granted;
      counters.grace_us_total += grace;
      return grace;
    }
  }
  ++counters.preemptions;
  if (g.SpinDepth(v.id) > 0) ++counters.lock_holder_preemptions;
  Deschedule(pcpu);
  return 0;
}

void Model::Wake(Guest& g, uint32_t vcpu) {
  Vcpu& v = g.vcpus()[vcpu];
  if (v.running || v.runnable) return;
  v.runnable = true;
  g.SetLazyTlb(vcpu, false);
  g.SetCurrentTask(vcpu, g.TaskAddress(v.process));
  v.cr3 = g.process_cr3()[v.process];
  v.rip = layout::kText + layout::kScheduleOff;
  if (!v.queued) {
    v.queued = true;
    runq.emplace_back(&g, vcpu);
  }
}

void Model::GoIdle(Guest& g, uint32_t vcpu, uint64_t for_ns) {
  Vcpu& v = g.vcpus()[vcpu];
  v.runnable = false;
  v.wake_at_ns = now_ns + for_ns;
  // Linux's idle loop: the idle task runs in lazy TLB mode, keeping the
  // previous mm (CR3) loaded.
  g.SetLazyTlb(vcpu, true);
  g.SetCurrentTask(vcpu, g.InitTask());
  v.rip = layout::kText + layout::kDefaultIdleOff;
  if (v.running) Deschedule(static_cast<uint32_t>(v.pcpu));
}

void Model::Tick() {
  now_ns += uint64_t{opt.tick_us} * 1000;
  ++counters.ticks;

  for (auto& g : guests)
    for (Vcpu& v : g->vcpus())
      if (!v.runnable && !v.running && v.wake_at_ns <= now_ns) Wake(*g, v.id);

  for (uint32_t p = 0; p < pcpus.size(); ++p) {
    if (!pcpus[p].guest) continue;
    Guest& g = *pcpus[p].guest;
    Vcpu& v = g.vcpus()[pcpus[p].vcpu];
    v.ran_ns += uint64_t{opt.tick_us} * 1000;
    Step(g, v);
  }

  for (uint32_t p = 0; p < pcpus.size(); ++p) {
    if (!pcpus[p].guest) continue;
    Vcpu& v = pcpus[p].guest->vcpus()[pcpus[p].vcpu];
    if (now_ns < v.slice_end_ns) continue;
    if (runq.empty()) {  // nobody waits: a new slice, no preemption
      v.slice_end_ns = now_ns + uint64_t{opt.slice_us} * 1000;
      v.ran_ns = 0;
      v.grace_granted = false;
      continue;
    }
    Preempt(p, HU_PREEMPT_SLICE_END);
  }

  for (uint32_t p = 0; p < pcpus.size() && !runq.empty(); ++p) {
    if (pcpus[p].guest) continue;
    auto [g, v] = runq.front();
    runq.pop_front();
    g->vcpus()[v].queued = false;
    Schedule(*g, v, p);
  }

  ReclaimUnderPressure();
}

}  // namespace hu::daemon::sim
