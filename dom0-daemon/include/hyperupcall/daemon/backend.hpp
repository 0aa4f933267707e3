// The backend interface: what hyperupcalld needs from a hypervisor. Two
// implementations: `sim` (in-process model, dom0-daemon/sim) and `xen`
// (domctls of our Xen patches, dom0-daemon/xen). The daemon owns policy,
// verification and persistence; a backend only installs, runs and reports.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hyperupcall/abi.h"
#include "hyperupcall/ebpf.h"
#include "hyperupcall/result.hpp"

namespace hu::daemon {

struct DomainInfo {
  uint32_t domid = 0;
  std::string name;  // the hypervisor's name for it (xenstore / sim config)
  std::string uuid;  // canonical text form, empty if unknown
  uint32_t vcpus = 0;
  uint64_t memory_kib = 0;
  bool running = false;
};

// Which engine runs a program (operator policy `jit`): auto lets the backend
// use its JIT where it has one, on asks for the JIT (the interpreter still
// runs the program if translation fails), off keeps the interpreter.
enum class JitMode { kAuto = 0, kOn = 1, kOff = 2 };

struct MapSpec {
  std::string name;  // from the ELF object, for people
  hu_map_def def{};
  // Key and value types in the program's BTF, for showing entries (the
  // guest's word: never trusted); 0: none.
  uint32_t btf_key_type_id = 0, btf_value_type_id = 0;
};

// A verified program, ready to install. Map references are still in the
// form the verifier checked: lddw with src = HU_PSEUDO_MAP_IDX and
// imm = index into `maps`; the backend relocates them to its own handles.
struct ProgramImage {
  uint64_t id = 0;  // daemon-wide, never reused
  uint32_t domid = 0;
  hu_hook_id hook = HU_HOOK_NONE;
  std::string name;
  std::vector<hu_insn> insns;
  std::vector<MapSpec> maps;
  std::vector<hu_region> regions;
  uint64_t run_budget = 0;    // instructions per run, 0 = backend default
  uint32_t max_grace_us = 0;  // sched.preempt cap from operator policy
  JitMode jit = JitMode::kAuto;
};

struct ProgramStats {
  uint64_t runs = 0;
  uint64_t insns = 0;          // instructions executed, all runs
  uint64_t run_ns = 0;         // time spent running, all runs
  uint64_t budget_aborts = 0;  // runs stopped by the instruction budget
  uint64_t errors = 0;         // runs stopped by any other runtime error
  uint64_t last_result = 0;    // r0 of the last completed run
  uint64_t cycles = 0;         // TSC cycles spent running, all runs
  uint64_t acted = 0;          // tlb.flush: flushes deferred; sched.preempt: grants
  uint64_t acted_us = 0;       // sched.preempt: microseconds granted
  uint64_t overridden = 0;     // verdicts the hypervisor did not follow (caps, faults)
  uint64_t jit_runs = 0;       // runs through the JIT (the rest: interpreter)
  // Helper calls that answered an error (a negative HU_E* value: a guest
  // address not mapped or outside the regions, a full map or trace ring);
  // the run goes on, so these are not runs stopped by an error.
  uint64_t helper_errors = 0;
};

struct MapEntry {
  std::vector<uint8_t> key;
  std::vector<uint8_t> value;
};

struct TraceRecord {
  uint32_t domid = 0;
  uint64_t prog_id = 0;
  uint64_t time_ns = 0;
  std::vector<uint8_t> data;
};

// What a backend can install, whatever the operator's policy allows. The
// daemon refuses a program past these before verifying it (a program the
// hypervisor would turn away must not cost a verification first). Zero
// means the backend sets no limit of its own.
struct BackendLimits {
  uint32_t max_insns = 0;       // per program
  uint32_t max_programs = 0;    // installed per domain
  uint64_t max_run_budget = 0;  // instructions per run
  uint64_t hooks = ~0ull;       // bit i: the backend can attach to hook id i
};

// What an operator's reclaim (Backend::Reclaim) took back from a domain.
struct ReclaimReport {
  uint64_t reclaimed = 0;  // frames the hypervisor has back
  uint64_t kept = 0;       // frames the guest's program said to keep
  uint64_t busy = 0;       // RAM the guest does not hold alone (skipped)
  uint64_t errors = 0;     // program runs that failed (frame kept)
  uint64_t walked = 0;     // guest frame numbers looked at
};

// Lifecycle changes the backend observes on its own (domain destroyed, ...).
struct DomainEvent {
  enum class Kind { kStarted, kStopped } kind = Kind::kStarted;
  DomainInfo domain;
};

// A program that arrived with its domain (restore, migration): the
// hypervisor's state carried it from where the domain was.
struct ArrivingProgram {
  uint64_t source_id = 0;  // its id where it came from
  std::string origin;      // where that was, as far as the state says
  ProgramImage image;      // id 0 until adopted; name and map names from the source
};

// The daemon's say over arriving and leaving programs. A backend that can
// save and restore domains asks it before an arriving domain first runs.
class ArrivalPolicy {
 public:
  virtual ~ArrivalPolicy() = default;
  // Checks all of domid's arriving programs against this host's policy
  // and verifier and records them: the images to load (the daemon's ids,
  // this host's budgets), in order; or why not, naming the program.
  virtual Result<std::vector<ProgramImage>> Adopt(uint32_t domid,
                                                  const std::vector<ArrivingProgram>& progs) = 0;
  // The backend could not load what Adopt accepted.
  virtual void AdoptionFailed(uint32_t domid, const std::vector<uint64_t>& ids,
                              const std::string& why) = 0;
  // domid's programs are leaving with a save or migration stream bound for
  // `destination`; or, after all, they stayed (the domain resumed).
  virtual void Leaving(uint32_t domid, const std::string& destination) = 0;
  virtual void Stayed(uint32_t domid) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string Name() const = 0;
  // Instructions per run when a program's run_budget is 0; 0: unknown (a
  // program's worst-case path is then not compared with it at load).
  virtual uint64_t DefaultRunBudget() const { return 0; }

  virtual std::vector<DomainInfo> Domains() = 0;
  virtual Status Install(const ProgramImage& image) = 0;
  virtual Status Uninstall(uint32_t domid, uint64_t prog_id) = 0;
  virtual Result<ProgramStats> Stats(uint32_t domid, uint64_t prog_id) = 0;
  virtual Result<std::vector<MapEntry>> MapDump(uint32_t domid, uint64_t prog_id,
                                                uint32_t map_index) = 0;
  virtual Status MapUpdate(uint32_t domid, uint64_t prog_id, uint32_t map_index,
                           const MapEntry& entry) = 0;
  // Removes a hash map's entry: NOT_FOUND when there is none. Backends
  // that cannot keep this default.
  virtual Status MapDelete(uint32_t domid, uint64_t prog_id, uint32_t map_index,
                           const std::vector<uint8_t>& key) {
    (void)domid;
    (void)prog_id;
    (void)map_index;
    (void)key;
    return MakeError(ErrorCode::kUnimplemented, "backend " + Name() + " cannot delete map entries");
  }
  // Records produced by trace_output since the last call, oldest first.
  virtual std::vector<TraceRecord> DrainTrace() = 0;
  // trace_output records the hypervisor dropped since the backend started
  // because its ring was full (for metrics).
  virtual uint64_t TraceRecordsLost() { return 0; }
  // Called from a backend thread; set once, before Start().
  virtual void SetDomainEventSink(std::function<void(const DomainEvent&)> sink) = 0;
  // For backends whose domains can be saved, restored and migrated with
  // their programs; set once, before Start(). Others ignore it.
  virtual void SetArrivalPolicy(ArrivalPolicy* policy) { (void)policy; }
  virtual Status Start() = 0;
  virtual void Stop() = 0;

  virtual BackendLimits Limits() const { return {}; }

  // One domain by id (its running state, vCPUs and memory as Domains()
  // lists them; a wrapper may leave names as the hypervisor's). Every
  // registration asks, so a backend with many domains should answer
  // without listing them all.
  virtual std::optional<DomainInfo> Domain(uint32_t domid) {
    for (auto& d : Domains()) {
      if (d.domid == domid) return d;
    }
    return std::nullopt;
  }

  // Asks the domain's installed mem.reclaim program about guest frames
  // [first_gfn, first_gfn + count) and returns those it reports free,
  // ascending; nothing is reclaimed. Backends that cannot answer keep this
  // default.
  virtual Result<std::vector<uint64_t>> ReclaimScan(uint32_t domid, uint64_t first_gfn,
                                                    uint64_t count) {
    (void)domid;
    (void)first_gfn;
    (void)count;
    return MakeError(ErrorCode::kUnimplemented,
                     "backend " + Name() + " has no reclaim scan for operators");
  }

  // Reclaims up to max_frames frames the domain's mem.reclaim program
  // reports free, with the guest unable to take one between the program's
  // answer and the reclaim; they go back to the hypervisor and the guest
  // gets zeroed frames when it touches them again. Frames not reported free
  // are kept. Backends that cannot keep this default.
  virtual Result<ReclaimReport> Reclaim(uint32_t domid, uint64_t max_frames) {
    (void)domid;
    (void)max_frames;
    return MakeError(ErrorCode::kUnimplemented, "backend " + Name() + " cannot reclaim frames");
  }
};

}  // namespace hu::daemon
