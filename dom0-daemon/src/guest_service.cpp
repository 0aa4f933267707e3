#include "guest_service.hpp"

#include <fmt/format.h>

#include "actor.hpp"
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
         m == "ReadMap" || m == "GetStats" || m == "ReadTrace";
}

bool GuestService::Cheap(std::string_view method) {
  const auto m = method.substr(std::min(method.size(), kPrefix.size()));
  return m == "UnregisterProgram" || m == "ListPrograms";
}

void GuestService::Handle(uint32_t domid, std::string_view method, std::string_view request,
                          Reply reply) {
  const auto m = method.substr(kPrefix.size());
  // Every decision taken for this call, and its audit row, names the guest.
  ActorScope who(fmt::format("guest:dom{}", domid));
  if (m == "RegisterProgram") return Register(domid, request, std::move(reply));
  if (m == "UnregisterProgram") return Unregister(domid, request, std::move(reply));
  if (m == "ListPrograms") return List(domid, request, std::move(reply));
  if (m == "GetStats") return Stats(domid, request, std::move(reply));
  if (m == "ReadTrace") return Trace(domid, request, std::move(reply));
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
  // Refused before copying anything: audited, and the guest hears why.
  auto refuse = [&](std::string why) {
    Error e = MakeError(ErrorCode::kInvalidArgument, std::move(why));
    core_.RefuseMalformed(domid, req.name(), req.hook(), e);
    reply(ToGrpc(e), "");
  };
  if (req.maps_size() > HU_MAX_MAPS || req.regions_size() > HU_MAX_REGIONS) {
    return refuse(fmt::format("at most {} maps and {} regions per program, got {} and {}",
                              HU_MAX_MAPS, HU_MAX_REGIONS, req.maps_size(), req.regions_size()));
  }
  if (std::string why = RequestMemo::CheckToken(req.request_id()); !why.empty())
    return refuse(std::move(why));
  const std::string token = req.request_id();
  if (!token.empty()) {
    if (!memo_.Begin(domid, token, reply)) return;
    // Every answer of this call also answers its retries.
    reply = [this, domid, token, first = std::move(reply)](const grpc::Status& st,
                                                           std::string response) {
      memo_.Finish(domid, token, st, response);
      first(st, std::move(response));
    };
  }
  RawProgram raw;
  raw.hook = std::move(*req.mutable_hook());
  raw.name = std::move(*req.mutable_name());
  raw.insn_bytes = std::move(*req.mutable_insns());
  for (const auto& m : req.maps()) raw.maps.push_back(FromProto(m));
  for (const auto& r : req.regions()) {
    raw.regions.push_back(FromProto(r));
    raw.region_symbols.push_back(r.symbol());
  }
  raw.btf = std::move(*req.mutable_btf());
  // Their number is checked with the rest of the request (DecodeProgram).
  for (const auto& f : req.functions()) raw.functions.push_back(FuncSymbol{f.name(), f.pc()});
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

void GuestService::Stats(uint32_t domid, std::string_view request, Reply reply) {
  gv1::GuestStatsRequest req;
  if (!ParseOrRefuse(domid, request, &req, reply)) return;
  // Another domain's program answers as a missing one does.
  if (req.prog_id()) {
    bool own = false;
    for (const auto& r : core_.GuestPrograms(domid, false))
      own = own || (r.id == req.prog_id() && r.state == ProgState::kInstalled);
    if (!own) {
      return reply(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                fmt::format("no installed program with id {} in this domain",
                                            req.prog_id())),
                   "");
    }
  }
  auto rows = core_.Stats(domid, req.prog_id());
  if (!rows) return reply(ToGrpc(rows.error()), "");
  gv1::GuestStatsResponse resp;
  for (const auto& s : *rows) ToProto(s, resp.add_stats());
  reply(grpc::Status::OK, Serialize(resp));
}

void GuestService::Trace(uint32_t domid, std::string_view request, Reply reply) {
  gv1::ReadTraceRequest req;
  if (!ParseOrRefuse(domid, request, &req, reply)) return;
  if (req.max() > 1000) {
    return reply(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "max is at most 1000"), "");
  }
  const auto read = core_.GuestTrace(domid, req.after_seq(), req.max() ? req.max() : 1000);
  gv1::ReadTraceResponse resp;
  for (const auto& e : read.entries) {
    auto* r = resp.add_records();
    r->set_seq(e.seq);
    r->set_prog_id(e.record.prog_id);
    r->set_time_ns(e.record.time_ns);
    r->set_data(std::string(e.record.data.begin(), e.record.data.end()));
  }
  resp.set_missed(read.missed);
  reply(grpc::Status::OK, Serialize(resp));
}

}  // namespace hu::daemon
