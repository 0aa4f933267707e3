#include "guest_service.hpp"

#include "convert.hpp"

namespace hu::daemon {

namespace gv1 = hyperupcall::guest::v1;

grpc::Status GuestService::RegisterProgram(grpc::ServerContext*,
                                           const gv1::RegisterProgramRequest* req,
                                           gv1::RegisterProgramResponse* resp) {
  RawProgram raw;
  raw.hook = req->hook();
  raw.name = req->name();
  raw.insn_bytes = req->insns();
  if (req->maps_size() > HU_MAX_MAPS || req->regions_size() > HU_MAX_REGIONS) {
    // Refused before copying: the counts alone are over the ABI's caps.
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "at most " + std::to_string(HU_MAX_MAPS) + " maps and " +
                            std::to_string(HU_MAX_REGIONS) + " regions per program, got " +
                            std::to_string(req->maps_size()) + " and " +
                            std::to_string(req->regions_size()));
  }
  for (const auto& m : req->maps()) raw.maps.push_back(FromProto(m));
  for (const auto& r : req->regions()) raw.regions.push_back(FromProto(r));
  auto out = core_.Register(domid_, raw);
  if (!out) return ToGrpc(out.error());
  resp->set_id(out->id);
  ToProto(out->verdict, out->log, resp->mutable_verdict());
  return grpc::Status::OK;
}

grpc::Status GuestService::UnregisterProgram(grpc::ServerContext*,
                                             const gv1::UnregisterProgramRequest* req,
                                             gv1::UnregisterProgramResponse*) {
  if (auto st = core_.Unregister(domid_, req->id()); !st) return ToGrpc(st.error());
  return grpc::Status::OK;
}

grpc::Status GuestService::ListPrograms(grpc::ServerContext*, const gv1::ListProgramsRequest* req,
                                        gv1::ListProgramsResponse* resp) {
  for (const auto& r : core_.GuestPrograms(domid_, req->all())) {
    ToProto(r, resp->add_programs());
  }
  return grpc::Status::OK;
}

grpc::Status GuestService::ReadMap(grpc::ServerContext*, const gv1::ReadMapRequest* req,
                                   gv1::ReadMapResponse* resp) {
  auto out = core_.ReadMap(domid_, req->prog_id(), req->map_name(), req->map_index());
  if (!out) return ToGrpc(out.error());
  auto* m = resp->mutable_map();
  m->set_name(out->map.name);
  m->set_type(out->map.def.type);
  m->set_key_size(out->map.def.key_size);
  m->set_value_size(out->map.def.value_size);
  m->set_max_entries(out->map.def.max_entries);
  for (const auto& e : out->entries) {
    auto* pe = resp->add_entries();
    pe->set_key(std::string(e.key.begin(), e.key.end()));
    pe->set_value(std::string(e.value.begin(), e.value.end()));
  }
  return grpc::Status::OK;
}

}  // namespace hu::daemon
