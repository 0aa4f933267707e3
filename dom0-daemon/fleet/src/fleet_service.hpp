// hyperupcall.fleet.v1.FleetService: an Agent's status on the operator endpoint.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

namespace hu::fleet {

class Agent;

std::unique_ptr<grpc::Service> MakeFleetService(const Agent& agent);

}  // namespace hu::fleet
