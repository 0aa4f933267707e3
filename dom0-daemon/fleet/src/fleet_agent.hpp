// One host's member of the fleet: follows PREFIX/state/ in etcd, applies
// each change to the core within the watch's delay, keeps the host's
// registry entry alive on a lease, and answers the core (FleetLayer) from
// the last state it knows.
//
// Failure rules: etcd unreachable -> the last known state stays in force
// (it is never relaxed for want of etcd), the agent reports itself
// degraded (health service "hyperupcall.fleet" NOT_SERVING, FleetService
// status, log) and retries; back -> it watches from the revision after the
// last one it applied, so changes made meanwhile arrive in order; that
// revision compacted away -> it reads the whole state again.
#pragma once

#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core.hpp"
#include "etcd_client.hpp"
#include "etcd_watch.hpp"
#include "fleet_cache.hpp"
#include "fleet_options.hpp"
#include "fleet_state.hpp"
#include "hyperupcall/fleet/v1/fleet.pb.h"
#include "operator_endpoint.hpp"

namespace hu::fleet {

namespace fleetv1 = hyperupcall::fleet::v1;

class Agent : public daemon::FleetLayer {
 public:
  // Reads the state kept on disk (STATE/fleet.db); connects nothing yet.
  static Result<std::unique_ptr<Agent>> Create(const FleetOptions& o, const std::string& state_dir,
                                               const daemon::OperatorEndpointOptions& op,
                                               daemon::Backend& backend,
                                               const daemon::PolicyScopes* scopes);
  ~Agent() override;

  // Starts following etcd; changes go to `core`, health to `health` (may be null).
  void Start(daemon::Core& core, grpc::HealthCheckServiceInterface* health);
  // Stops, and revokes the registry lease so the host leaves the registry now.
  void Stop();
  fleetv1::FleetStatus Report() const;
  grpc::Service* service() { return service_.get(); }

  // daemon::FleetLayer
  Status Ready() const override;
  std::optional<Policy> DomainPolicy(uint32_t domid) const override;
  std::optional<Policy> DefaultPolicy() const override;
  bool Approved(const std::string& sha256) const override;

 private:
  Agent(const FleetOptions& o, std::string advertise, daemon::Backend& backend,
        const daemon::PolicyScopes* scopes, std::unique_ptr<FleetCache> cache);
  void WatchLoop();
  void RegistryLoop();
  // Reads everything under PREFIX/state/ and makes it the state.
  Status FullSync();
  void OnBatch(const etcd::WatchBatch& b);
  // Audit rows, events and fleet approvals for applied changes (core lock,
  // never ours).
  void Announce(const std::vector<Change>& changes);
  Status Register();
  void SetHealth(bool* flag, bool ok, const std::string& why);
  // Waits up to `d`; false when stopping.
  bool Sleep(std::chrono::milliseconds d);
  std::optional<std::string> UuidOf(uint32_t domid) const;

  FleetOptions opts_;
  Keys keys_;
  std::string advertise_;
  daemon::Backend& backend_;
  const daemon::PolicyScopes* scopes_;
  std::unique_ptr<FleetCache> cache_;
  etcd::Client client_;
  std::unique_ptr<grpc::Service> service_;
  daemon::Core* core_ = nullptr;
  grpc::HealthCheckServiceInterface* health_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  FleetState state_;
  bool known_ = false;
  bool need_full_sync_ = true;
  etcd::Watch* watch_ = nullptr;  // the open one, for Stop to cancel
  bool watch_ok_ = false, registry_ok_ = false;
  std::string watch_why_ = "not connected to etcd yet", registry_why_ = "not registered yet";
  int64_t since_ms_ = 0, last_sync_ms_ = 0;
  int64_t lease_ = 0, old_lease_ = 0;
  uint64_t changes_ = 0, resyncs_ = 0;
  std::thread watcher_, registrar_;
};

}  // namespace hu::fleet
