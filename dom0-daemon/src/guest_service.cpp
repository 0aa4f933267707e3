#include "guest_service.hpp"

#include <fmt/format.h>

#include "convert.hpp"
#include "guest_wire.hpp"
#include "hyperupcall/guest/v1/guest.pb.h"

namespace hu::daemon {

namespace gv1 = hyperupcall::guest::v1;

namespace {

constexpr std::string_view kPrefix = "/hyperupcall.guest.v1.GuestService/";

std::string Serialize(const google::protobuf::Message& m) { return m.SerializeAsString(); }

}  // namespace

bool GuestService::Known(std::string_view method) {
  if (!method.starts_with(kPrefix)) return false;
  const auto m = method.substr(kPrefix.size());
  return m == "RegisterProgram" || m == "UnregisterProgram" || m == "ListPrograms" ||
         m == "ReadMap";
}

bool GuestService::Cheap(std::string_view method) {
  const auto m = method.substr(std::min(method.size(), kPrefix.size()));
  return m == "UnregisterProgram" || m == "ListPrograms";
}

void GuestService::Handle(uint32_t domid, std::string_view method, std::string_view request,
                          Reply reply) {
  const auto m = method.substr(kPrefix.size());
  if (m == "RegisterProgram") return Register(domid, request, std::move(reply));
  if (m == "UnregisterProgram") return Unregister(domid, request, std::move(reply));
  if (m == "ListPrograms") return List(domid, request, std::move(reply));
  return ReadMap(domid, request, std::move(reply));
}

bool GuestService::ParseOrRefuse(uint32_t domid, std::string_view request,
                                 google::protobuf::Message* msg, const Reply& reply) {
  if (auto st = ParseGuestRequest(request, msg); !st) {
    core_.RefuseMalformed(domid, "", "", st.error());
    reply(ToGrpc(st.error()), "");
    return false;
  }
  return true;
}

void GuestService::Register(uint32_t domid, std::string_view request, Reply reply) {
  gv1::RegisterProgramRequest req;
  if (!ParseOrRefuse(domid, request, &req, reply)) return;
  if (req.maps_size() > HU_MAX_MAPS || req.regions_size() > HU_MAX_REGIONS) {
    // Refused before copying: the counts alone are over the ABI's caps.
    Error e =
        MakeError(ErrorCode::kInvalidArgument,
                  fmt::format("at most {} maps and {} regions per program, got {} and {}",
                              HU_MAX_MAPS, HU_MAX_REGIONS, req.maps_size(), req.regions_size()));
    core_.RefuseMalformed(domid, req.name(), req.hook(), e);
    return reply(ToGrpc(e), "");
  }
  RawProgram raw;
  raw.hook = std::move(*req.mutable_hook());
  raw.name = std::move(*req.mutable_name());
  raw.insn_bytes = std::move(*req.mutable_insns());
  for (const auto& m : req.maps()) raw.maps.push_back(FromProto(m));
  for (const auto& r : req.regions()) raw.regions.push_back(FromProto(r));
  core_.RegisterAsync(domid, std::move(raw), [reply = std::move(reply)](auto out) {
    if (!out) return reply(ToGrpc(out.error()), "");
    gv1::RegisterProgramResponse resp;
    resp.set_id(out->id);
    ToProto(out->verdict, out->log, resp.mutable_verdict());
    reply(grpc::Status::OK, Serialize(resp));
  });
}

void GuestService::Unregister(uint32_t domid, std::string_view request, Reply reply) {
  gv1::UnregisterProgramRequest req;
  if (!ParseOrRefuse(domid, request, &req, reply)) return;
  core_.UnregisterAsync(domid, req.id(), [reply = std::move(reply)](Status st) {
    if (!st) return reply(ToGrpc(st.error()), "");
    reply(grpc::Status::OK, Serialize(gv1::UnregisterProgramResponse()));
  });
}

void GuestService::List(uint32_t domid, std::string_view request, Reply reply) {
  gv1::ListProgramsRequest req;
  if (!ParseOrRefuse(domid, request, &req, reply)) return;
  gv1::ListProgramsResponse resp;
  for (const auto& r : core_.GuestPrograms(domid, req.all())) ToProto(r, resp.add_programs());
  reply(grpc::Status::OK, Serialize(resp));
}

void GuestService::ReadMap(uint32_t domid, std::string_view request, Reply reply) {
  gv1::ReadMapRequest req;
  if (!ParseOrRefuse(domid, request, &req, reply)) return;
  auto out = core_.ReadMap(domid, req.prog_id(), req.map_name(), req.map_index());
  if (!out) return reply(ToGrpc(out.error()), "");
  gv1::ReadMapResponse resp;
  auto* m = resp.mutable_map();
  m->set_name(out->map.name);
  m->set_type(out->map.def.type);
  m->set_key_size(out->map.def.key_size);
  m->set_value_size(out->map.def.value_size);
  m->set_max_entries(out->map.def.max_entries);
  for (const auto& e : out->entries) {
    auto* pe = resp.add_entries();
    pe->set_key(std::string(e.key.begin(), e.key.end()));
    pe->set_value(std::string(e.value.begin(), e.value.end()));
  }
  reply(grpc::Status::OK, Serialize(resp));
}

}  // namespace hu::daemon
