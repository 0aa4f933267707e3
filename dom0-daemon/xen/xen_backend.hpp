// The xen backend of hyperupcalld: programs go to Xen through
// XEN_DOMCTL_hyperupcall (xen-patches/0002), domains are discovered and
// followed through xenstore (@introduceDomain / @releaseDomain watches).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "channel_relay.hpp"
#include "hyperupcall/daemon/backend.hpp"
#include "toolstack_server.hpp"
#include "xen_domctl.hpp"
#include "xen_limits.hpp"

struct xs_handle;

namespace hu::daemon {

class XenBackend : public Backend {
 public:
  // Fails when not in dom0 (no privcmd) or xenstore is unreachable.
  static Result<std::unique_ptr<XenBackend>> Open();
  ~XenBackend() override;

  std::string Name() const override { return "xen"; }
  uint64_t DefaultRunBudget() const override { return kXenDefaultRunBudget; }
  std::vector<DomainInfo> Domains() override;
  // What Xen installs (xen_limits.hpp).
  BackendLimits Limits() const override { return XenLimits(); }
  Status Install(const ProgramImage& image) override;
  Status Uninstall(uint32_t domid, uint64_t prog_id) override;
  Result<ProgramStats> Stats(uint32_t domid, uint64_t prog_id) override;
  Result<std::vector<MapEntry>> MapDump(uint32_t domid, uint64_t prog_id,
                                        uint32_t map_index) override;
  Status MapUpdate(uint32_t domid, uint64_t prog_id, uint32_t map_index,
                   const MapEntry& entry) override;
  std::vector<TraceRecord> DrainTrace() override;
  uint64_t TraceRecordsLost() override { return trace_lost_; }
  void SetDomainEventSink(std::function<void(const DomainEvent&)> sink) override;
  void SetArrivalPolicy(ArrivalPolicy* policy) override { arrivals_ = policy; }
  // Through the domain's installed mem.reclaim program, in chunks of at
  // most HU_XEN_RECLAIM_MAX frames (and fewer when Xen stops at its work cap).
  Result<ReclaimReport> Reclaim(uint32_t domid, uint64_t max_frames) override;
  Result<std::vector<uint64_t>> ReclaimScan(uint32_t domid, uint64_t first_gfn,
                                            uint64_t count) override;
  Status Start() override;
  void Stop() override;

  // Joins each domain's guest channel (the xl.cfg channel named
  // channel_name, connection=socket) to the daemon's socket for that domain,
  // guest_socket_dir/<domid>.sock, from when the domain appears until it
  // goes. Call before Start(); without it no channel is joined.
  void JoinGuestChannels(std::string guest_socket_dir,
                         std::string channel_name = "org.hyperupcall.guest");

  // Serves libxenguest's toolstack socket at `path` from Start() on (see
  // toolstack_server.hpp): programs that leave with a save or migration
  // stream, and those a restored domain brings, which go through the
  // ArrivalPolicy before Xen loads them. Call before Start().
  void ServeToolstack(std::string path) { toolstack_path_ = std::move(path); }

  // A restored domain's programs (the stream's state blob): adopted through
  // the ArrivalPolicy, renumbered with the daemon's ids, loaded into Xen.
  Result<uint32_t> Restore(uint32_t domid, const std::vector<uint8_t>& state);

 private:
  XenBackend(std::unique_ptr<xen::Domctl> dc, xs_handle* xs) : dc_(std::move(dc)), xs_(xs) {}
  std::atomic<uint64_t> trace_lost_{0};  // records Xen dropped, summed over drains
  // Map layout of an installed program, for sizing map buffers.
  Result<hu_map_def> MapDef(uint32_t domid, uint64_t prog_id, uint32_t map_index);
  void WatchLoop();
  std::vector<DomainInfo> ReadDomains();
  // The dom0 end of domid's guest channel, from dom0's console backend
  // nodes (written by the toolstack; the guest cannot change them); empty
  // if the domain has none (yet).
  std::string ChannelPath(uint32_t domid);
  // Starts a relay for every known domain with a channel and none yet,
  // stops the relays of domains that are gone.
  void SyncRelaysLocked();

  std::mutex mu_;  // dc_, xs_, programs_, known_
  std::unique_ptr<xen::Domctl> dc_;
  xs_handle* xs_;
  std::map<std::pair<uint32_t, uint64_t>, std::vector<MapSpec>> programs_;
  std::map<uint32_t, DomainInfo> known_;
  std::string relay_dir_;  // empty: channels are not joined
  std::string channel_name_;
  std::map<uint32_t, std::unique_ptr<xen::ChannelRelay>> relays_;
  std::function<void(const DomainEvent&)> sink_;
  ArrivalPolicy* arrivals_ = nullptr;
  std::string toolstack_path_;  // empty: no toolstack socket
  std::unique_ptr<xen::ToolstackServer> toolstack_;
  std::string host_;  // this host's name, for the notes programs carry
  std::atomic<bool> stop_{false};
  std::thread watcher_;
};

}  // namespace hu::daemon
