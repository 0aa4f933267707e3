// GuestService for one domain: every instance is bound to the domid of the
// endpoint it serves, and that binding is the guest's whole identity.
#pragma once

#include "core.hpp"
#include "hyperupcall/guest/v1/guest.grpc.pb.h"

namespace hu::daemon {

class GuestService final : public hyperupcall::guest::v1::GuestService::Service {
 public:
  GuestService(Core& core, uint32_t domid) : core_(core), domid_(domid) {}

  grpc::Status RegisterProgram(grpc::ServerContext* ctx,
                               const hyperupcall::guest::v1::RegisterProgramRequest* req,
                               hyperupcall::guest::v1::RegisterProgramResponse* resp) override;
  grpc::Status UnregisterProgram(grpc::ServerContext* ctx,
                                 const hyperupcall::guest::v1::UnregisterProgramRequest* req,
                                 hyperupcall::guest::v1::UnregisterProgramResponse* resp) override;
  grpc::Status ListPrograms(grpc::ServerContext* ctx,
                            const hyperupcall::guest::v1::ListProgramsRequest* req,
                            hyperupcall::guest::v1::ListProgramsResponse* resp) override;
  grpc::Status ReadMap(grpc::ServerContext* ctx, const hyperupcall::guest::v1::ReadMapRequest* req,
                       hyperupcall::guest::v1::ReadMapResponse* resp) override;

 private:
  Core& core_;
  const uint32_t domid_;
};

}  // namespace hu::daemon
