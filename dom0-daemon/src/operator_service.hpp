// OperatorService: the operator's view of every domain and program.
// Reached only through the operator endpoint (unix socket with file
// permissions, or TCP with mutual TLS).
#pragma once

#include <atomic>

#include "core.hpp"
#include "hyperupcall/daemon/libvirt_monitor.hpp"
#include "hyperupcall/operator_api/v1/operator.grpc.pb.h"
#include "operator_identity.hpp"

namespace hu::daemon {

namespace opv1 = hyperupcall::operator_api::v1;

class OperatorService final : public opv1::OperatorService::Service {
 public:
  // `libvirt` (may be null) resolves libvirt names and UUIDs and takes
  // policy written back to the domain XML.
  OperatorService(Core& core, EventBus& bus, LibvirtMonitor* libvirt = nullptr)
      : core_(core), bus_(bus), libvirt_(libvirt) {}
  // Makes open Events streams return (daemon shutdown).
  void Stop() { stopping_ = true; }
  // How unix-socket peers are named in the audit log (the daemon's Acceptor).
  void SetPeerLookup(OperatorPeerLookup peers) { peers_ = std::move(peers); }

  grpc::Status ListDomains(grpc::ServerContext*, const opv1::ListDomainsRequest*,
                           opv1::ListDomainsResponse*) override;
  grpc::Status ListPrograms(grpc::ServerContext*, const opv1::ListProgramsRequest*,
                            opv1::ListProgramsResponse*) override;
  grpc::Status GetProgram(grpc::ServerContext*, const opv1::GetProgramRequest*,
                          opv1::GetProgramResponse*) override;
  grpc::Status GetPolicy(grpc::ServerContext*, const opv1::GetPolicyRequest*,
                         opv1::GetPolicyResponse*) override;
  grpc::Status SetPolicy(grpc::ServerContext*, const opv1::SetPolicyRequest*,
                         opv1::GetPolicyResponse*) override;
  grpc::Status ListPending(grpc::ServerContext*, const opv1::ListPendingRequest*,
                           opv1::ListProgramsResponse*) override;
  grpc::Status Approve(grpc::ServerContext*, const opv1::ApproveRequest*,
                       opv1::DecisionResponse*) override;
  grpc::Status Reject(grpc::ServerContext*, const opv1::RejectRequest*,
                      opv1::DecisionResponse*) override;
  grpc::Status Detach(grpc::ServerContext*, const opv1::DetachRequest*,
                      opv1::DecisionResponse*) override;
  grpc::Status GetStats(grpc::ServerContext*, const opv1::GetStatsRequest*,
                        opv1::GetStatsResponse*) override;
  grpc::Status Events(grpc::ServerContext*, const opv1::EventsRequest*,
                      grpc::ServerWriter<opv1::Event>*) override;
  grpc::Status ReclaimScan(grpc::ServerContext*, const opv1::ReclaimScanRequest*,
                           opv1::ReclaimScanResponse*) override;
  grpc::Status Reclaim(grpc::ServerContext*, const opv1::ReclaimRequest*,
                       opv1::ReclaimResponse*) override;
  grpc::Status ListIdentityChanges(grpc::ServerContext*, const opv1::ListIdentityChangesRequest*,
                                   opv1::ListIdentityChangesResponse*) override;
  grpc::Status ListAudit(grpc::ServerContext*, const opv1::ListAuditRequest*,
                         opv1::ListAuditResponse*) override;
  grpc::Status MapDump(grpc::ServerContext*, const opv1::MapDumpRequest*,
                       opv1::MapDumpResponse*) override;
  grpc::Status MapLookup(grpc::ServerContext*, const opv1::MapKeyRequest*,
                         opv1::MapDumpResponse*) override;
  grpc::Status MapUpdate(grpc::ServerContext*, const opv1::MapUpdateRequest*,
                         opv1::MapDumpResponse*) override;
  grpc::Status MapDelete(grpc::ServerContext*, const opv1::MapKeyRequest*,
                         opv1::MapDeleteResponse*) override;

 private:
  // The domain a request names: `domain` (name, UUID or id) or the older
  // numeric `domid`; nullopt when it names none.
  Result<std::optional<uint32_t>> Select(bool has_domid, uint32_t domid, const std::string& domain);

  // The libvirt domain whose XML holds domid's policy.
  Result<LibvirtDomain> XmlTarget(uint32_t domid);
  // SetPolicy for a defined libvirt domain that is not running.
  grpc::Status SetStoppedLibvirtPolicy(const hyperupcall::operator_api::v1::SetPolicyRequest& req,
                                       const LibvirtDomain& d,
                                       hyperupcall::operator_api::v1::GetPolicyResponse* resp);
  // Policy (or its removal, nullopt) into the domain XML, with an audit row.
  Status WriteXml(uint32_t domid, const LibvirtDomain& lv, const std::optional<Policy>& policy);
  // After a policy change of domid (nullopt: the default, so every domain
  // that inherits it): the live programs it no longer allows go into
  // resp->noncompliant, and are detached when `enforce`.
  void ReportNonCompliant(std::optional<uint32_t> domid, bool enforce,
                          hyperupcall::operator_api::v1::GetPolicyResponse* resp);

  Core& core_;
  OperatorPeerLookup peers_;
  EventBus& bus_;
  LibvirtMonitor* libvirt_;
  std::atomic<bool> stopping_{false};
};

}  // namespace hu::daemon
