// A Backend decorator that makes the daemon see domains the way libvirt
// names them, and libvirt's lifecycle, without the daemon's core knowing
// libvirt exists: Domains() carries libvirt names and UUIDs, and libvirt's
// start/stop/crash events join the hypervisor backend's own in the one
// DomainEvent sink (each transition delivered once, whoever saw it first).
// Everything else goes straight to the wrapped backend.
#pragma once

#include <functional>
#include <mutex>
#include <set>

#include "hyperupcall/daemon/backend.hpp"
#include "hyperupcall/daemon/libvirt_hook.hpp"
#include "hyperupcall/daemon/libvirt_monitor.hpp"

namespace hu::daemon {

class LibvirtNamedBackend : public Backend {
 public:
  // Both must outlive this object.
  LibvirtNamedBackend(Backend& inner, LibvirtMonitor& monitor);
  ~LibvirtNamedBackend() override;

  // Every libvirt event, after its start/stop part went to the DomainEvent
  // sink: where the daemon re-applies XML policy (kStarted,
  // kMetadataChanged) and records renames. Set before Start().
  void SetLibvirtEventSink(std::function<void(const LibvirtEvent&)> sink);

  // A message from the libvirt hook script (LibvirtHookListener's handler):
  // "started" with an id is a start, "stopped"/"release" with an id a stop,
  // delivered like the others and only once. The hook runs before libvirt
  // sends its events, so the daemon acts first.
  Status OnHook(const LibvirtHookMessage& m);

  std::string Name() const override;
  std::vector<DomainInfo> Domains() override;
  // The hypervisor's own answer, without asking libvirt: registrations
  // need only whether it runs and its memory (and must not wait on libvirtd).
  std::optional<DomainInfo> Domain(uint32_t domid) override { return inner_.Domain(domid); }
  BackendLimits Limits() const override { return inner_.Limits(); }
  uint64_t DefaultRunBudget() const override { return inner_.DefaultRunBudget(); }
  Status Install(const ProgramImage& image) override;
  Status Uninstall(uint32_t domid, uint64_t prog_id) override;
  Result<ProgramStats> Stats(uint32_t domid, uint64_t prog_id) override;
  Result<std::vector<MapEntry>> MapDump(uint32_t domid, uint64_t prog_id,
                                        uint32_t map_index) override;
  Status MapUpdate(uint32_t domid, uint64_t prog_id, uint32_t map_index,
                   const MapEntry& entry) override;
  std::vector<TraceRecord> DrainTrace() override;
  uint64_t TraceRecordsLost() override { return inner_.TraceRecordsLost(); }
  void SetDomainEventSink(std::function<void(const DomainEvent&)> sink) override;
  void SetArrivalPolicy(ArrivalPolicy* policy) override { inner_.SetArrivalPolicy(policy); }
  Status Start() override;
  void Stop() override;
  Result<std::vector<uint64_t>> ReclaimScan(uint32_t domid, uint64_t first_gfn,
                                            uint64_t count) override {
    return inner_.ReclaimScan(domid, first_gfn, count);
  }

 private:
  void Forward(DomainEvent ev);
  void OnLibvirt(const LibvirtEvent& ev);

  Backend& inner_;
  LibvirtMonitor& monitor_;
  std::function<void(const DomainEvent&)> sink_;
  std::function<void(const LibvirtEvent&)> libvirt_sink_;
  std::mutex mu_;
  std::set<uint32_t> running_;  // domids last reported started
};

}  // namespace hu::daemon
