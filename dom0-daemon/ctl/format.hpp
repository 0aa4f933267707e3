// What hyperupcallctl prints: JSON (stable keys, numbers as numbers) and
// bpftool-like text.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "hyperupcall/common/v1/common.pb.h"
#include "hyperupcall/operator_api/v1/operator.pb.h"
#include "proto_json.hpp"

namespace hu::ctl {

namespace commonv1 = hyperupcall::common::v1;
namespace opv1 = hyperupcall::operator_api::v1;
using json = nlohmann::json;

std::string StateName(commonv1::ProgramState s);
std::string VerdictName(commonv1::VerdictKind k);
std::string EventKindName(opv1::EventKind k);
std::string Hex(const std::string& bytes);
std::string TimeText(int64_t unix_ms);
// 2025-01-31T14:03:07.123456789Z
std::string TimeTextNs(int64_t unix_ns);

// Messages shared with the guest tool have one JSON form (proto_json.hpp).
using protojson::ToJson;
json ToJson(const opv1::Domain& d);
json ToJson(const opv1::IdentityChange& c);
json ToJson(const opv1::GetPolicyResponse& p);
json ToJson(const opv1::Event& e);
json ToJson(const opv1::AuditEntry& e);

// One line per program, bpftool style: "3: mem.reclaim  name lazy  dom 1 ...".
std::string ProgramLine(const commonv1::ProgramSummary& p);
std::string PolicyText(const opv1::GetPolicyResponse& p);
std::string EventLine(const opv1::Event& e);
// "#12 2025-01-31T14:03:07.123Z dom 1 prog 3 'x' accepted by uid:0(root) pid:9: reason"
std::string AuditLine(const opv1::AuditEntry& e);

}  // namespace hu::ctl
