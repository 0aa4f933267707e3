// Between the core's types and the wire's.
#pragma once

#include <grpcpp/grpcpp.h>

#include "core.hpp"
#include "hyperupcall/common/v1/common.pb.h"
#include "hyperupcall/operator_api/v1/operator.pb.h"

namespace hu::daemon {

namespace commonv1 = hyperupcall::common::v1;

grpc::Status ToGrpc(const Error& e);
void ToProto(const Verdict& v, const std::string& log, commonv1::Verdict* out);
void ToProto(const ProgramRecord& r, commonv1::ProgramSummary* out);
void ToProto(const StatsRow& s, commonv1::ProgramStats* out);
void ToProto(const Policy& p, hyperupcall::operator_api::v1::Policy* out);
Result<Policy> FromProto(const hyperupcall::operator_api::v1::Policy& p);
MapSpec FromProto(const commonv1::MapDef& m);
hu_region FromProto(const commonv1::Region& r);

}  // namespace hu::daemon
