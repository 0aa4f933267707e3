// The JSON form of the contract's messages, one function per message, used
// by every tool's --json (hyperupcallctl and the guest's hyperupcall), so
// the same object has the same shape wherever it is printed. The shapes are
// written down in docs/json-schema.json, which the tests validate against.
//
// Rules: numbers are JSON numbers; a guest or host address, or a register
// value such as a program's last r0 (64-bit values jq's doubles would
// round), is a "0x..." hex string; bytes are hex strings; enums are
// lower-case names; every key is always present.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "hyperupcall/common/v1/common.pb.h"

namespace hu::protojson {

namespace commonv1 = hyperupcall::common::v1;
using json = nlohmann::json;

// "0x1f": addresses and other 64-bit values jq must not round.
std::string HexAddr(uint64_t v);
// "0a1b2c": bytes.
std::string HexBytes(const std::string& bytes);

const char* StateName(commonv1::ProgramState s);   // installed, pending, ...
const char* VerdictName(commonv1::VerdictKind k);  // accepted, pending_approval, rejected
const char* MapTypeName(uint32_t type);            // hash, array, pervcpu_array

json ToJson(const commonv1::Verdict& v);
json ToJson(const commonv1::MapDef& m);
json ToJson(const commonv1::Region& r);
json ToJson(const commonv1::ProgramSummary& p);
json ToJson(const commonv1::ProgramStats& s);
// One map entry; key and value also as integers when they are 1, 2, 4 or
// 8 bytes (little endian, as bpftool shows them).
json ToJson(const commonv1::MapEntry& e);

}  // namespace hu::protojson
