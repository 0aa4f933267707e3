#include "fleet_service.hpp"

#include "fleet_agent.hpp"
#include "hyperupcall/fleet/v1/fleet.grpc.pb.h"

namespace hu::fleet {

namespace {

class FleetServiceImpl final : public fleetv1::FleetService::Service {
 public:
  explicit FleetServiceImpl(const Agent& a) : agent_(a) {}
  grpc::Status GetStatus(grpc::ServerContext*, const fleetv1::GetStatusRequest*,
                         fleetv1::FleetStatus* out) override {
    *out = agent_.Report();
    return grpc::Status::OK;
  }

 private:
  const Agent& agent_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeFleetService(const Agent& agent) {
  return std::make_unique<FleetServiceImpl>(agent);
}

}  // namespace hu::fleet
