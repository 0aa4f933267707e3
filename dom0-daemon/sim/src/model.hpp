// The host model behind SimBackend: guests, a round-robin scheduler over a
// few pCPUs, the guests' own activity, a reclaim loop, and the hook points
// where installed programs run. Not thread-safe by itself: SimBackend holds
// `mu` around every call.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "guest.hpp"
#include "hyperupcall/daemon/sim_backend.hpp"
#include "program.hpp"
#include "trace_ring.hpp"

namespace hu::daemon::sim {

struct Pcpu {
  Guest* guest = nullptr;  // what runs here; nullptr: idle
  uint32_t vcpu = 0;
};

class Model {
 public:
  explicit Model(const SimOptions& options);

  // Lookup; nullptr when absent.
  Guest* FindGuest(uint32_t domid);
  Program* FindProgram(uint32_t domid, uint64_t prog_id);

  Status Install(const ProgramImage& image);
  Status Uninstall(uint32_t domid, uint64_t prog_id);

  // One tick of simulated time: scheduler, guest activity, reclaim.
  void Tick();

  // Hook points. Each returns nullopt when no program of the hook is
  // installed on the guest (the host then does what it does without one).
  std::optional<bool> FireReclaim(Guest& g, uint64_t gfn, uint32_t reason);
  std::optional<bool> FireTlbFlush(Guest& g, uint32_t src, uint32_t dst, uint64_t va,
                                   uint64_t nr_pages, uint32_t flags);
  std::optional<uint32_t> FirePreempt(Guest& g, uint32_t vcpu, uint32_t pcpu, uint32_t reason);
  void FireTraceExit(Guest& g, uint32_t vcpu, uint32_t kind, uint64_t code,
                     const uint64_t (&args)[6]);
  std::optional<bool> FireProtect(Guest& g, uint32_t vcpu, uint64_t gpa, uint64_t gva, uint64_t rip,
                                  uint64_t value, uint32_t size);

  // Model operations (the workload and the test API share them).
  uint32_t TlbShootdown(Guest& g, uint32_t src, uint64_t va, uint64_t nr_pages);
  bool GuestWrite(Guest& g, uint32_t vcpu, uint64_t gva, uint64_t rip, uint64_t value,
                  uint32_t size);
  uint32_t Preempt(uint32_t pcpu, uint32_t reason);  // returns grace granted (µs)
  void Schedule(Guest& g, uint32_t vcpu, uint32_t pcpu);
  void Deschedule(uint32_t pcpu);
  void Wake(Guest& g, uint32_t vcpu);
  void GoIdle(Guest& g, uint32_t vcpu, uint64_t for_ns);
  void ReclaimFrames(Guest& g, uint32_t count, uint32_t reason);
  void Touch(Guest& g, uint64_t gfn);  // the guest uses a frame: swap it in
  Result<std::vector<uint64_t>> ReclaimScan(Guest& g, uint64_t first, uint64_t count);
  Result<ReclaimReport> ReclaimFree(Guest& g, uint64_t max);
  Status AddGuest(const GuestConfig& cfg);  // boots it and queues its vCPUs
  void RemoveGuest(uint32_t domid);

  SimOptions opt;
  std::vector<std::unique_ptr<Guest>> guests;
  std::map<uint32_t, std::vector<std::unique_ptr<Program>>> programs;  // by domid, install order
  std::vector<Pcpu> pcpus;
  std::deque<std::pair<Guest*, uint32_t>> runq;
  std::mt19937_64 rng;
  SimCounters counters;
  uint64_t now_ns = 0;
  TraceRing ring;
  std::map<uint32_t, uint64_t> reclaim_hand;  // per domid: next gfn the reclaimer looks at
  size_t reclaim_guest = 0;                   // round robin over guests
  uint64_t nonresident = 0;                   // frames reclaimed, all guests
  uint64_t total_frames = 0;

  std::mutex mu;
  std::function<void(const DomainEvent&)> sink;
  std::thread thread;
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;

 private:
  void Step(Guest& g, Vcpu& v);  // the guest's own activity on a running vCPU
  void ReleaseLock(Guest& g, Vcpu& v);
  void Acquire(Guest& g, Vcpu& v);
  void AllocPage(Guest& g, Vcpu& v);
  void FreePage(Guest& g, Vcpu& v);
  void ReclaimUnderPressure();
  template <class Ctx, class Combine>
  bool RunAll(Guest& g, hu_hook_id hook, const Ctx& ctx, int32_t vcpu, uint64_t cr3,
              Combine&& combine);
  uint64_t Rand(uint64_t n) { return n ? rng() % n : 0; }
};

}  // namespace hu::daemon::sim
