#include "operator_service.hpp"

#include <spdlog/spdlog.h>

#include "convert.hpp"
#include "hyperupcall/disasm.hpp"
#include "hyperupcall/verifier.hpp"

namespace hu::daemon {

namespace {

std::optional<uint32_t> OptDomid(bool has, uint32_t v) {
  return has ? std::optional<uint32_t>(v) : std::nullopt;
}

void FillPolicy(const PolicyView& v, opv1::GetPolicyResponse* resp) {
  if (v.domid) resp->set_domid(*v.domid);
  ToProto(v.policy, resp->mutable_policy());
  resp->set_inherited(v.inherited);
}

}  // namespace

grpc::Status OperatorService::ListDomains(grpc::ServerContext*, const opv1::ListDomainsRequest*,
                                          opv1::ListDomainsResponse* resp) {
  for (const auto& d : core_.Domains()) {
    auto* pd = resp->add_domains();
    pd->set_domid(d.info.domid);
    pd->set_name(d.info.name);
    pd->set_uuid(d.info.uuid);
    pd->set_vcpus(d.info.vcpus);
    pd->set_memory_kib(d.info.memory_kib);
    pd->set_running(d.info.running);
    pd->set_programs(d.programs);
    pd->set_has_own_policy(d.has_own_policy);
  }
  return grpc::Status::OK;
}

grpc::Status OperatorService::ListPrograms(grpc::ServerContext*,
                                           const opv1::ListProgramsRequest* req,
                                           opv1::ListProgramsResponse* resp) {
  for (const auto& r : core_.Programs(OptDomid(req->has_domid(), req->domid()), req->all())) {
    ToProto(r, resp->add_programs());
  }
  return grpc::Status::OK;
}

grpc::Status OperatorService::GetProgram(grpc::ServerContext*, const opv1::GetProgramRequest* req,
                                         opv1::GetProgramResponse* resp) {
  auto r = core_.Program(req->id());
  if (!r) return ToGrpc(r.error());
  ToProto(*r, resp->mutable_program());
  resp->mutable_program()->mutable_verdict()->set_log(r->verifier_log);
  resp->set_verifier_log(r->verifier_log);
  resp->set_disassembly(DisassembleProgram(r->insns));
  resp->set_insns(std::string(reinterpret_cast<const char*>(r->insns.data()),
                              r->insns.size() * sizeof(hu_insn)));
  resp->set_verifier_states(r->verifier_states);
  resp->set_verifier_ms(r->verifier_ms);
  return grpc::Status::OK;
}

grpc::Status OperatorService::GetPolicy(grpc::ServerContext*, const opv1::GetPolicyRequest* req,
                                        opv1::GetPolicyResponse* resp) {
  FillPolicy(core_.GetPolicy(OptDomid(req->has_domid(), req->domid())), resp);
  return grpc::Status::OK;
}

grpc::Status OperatorService::SetPolicy(grpc::ServerContext*, const opv1::SetPolicyRequest* req,
                                        opv1::GetPolicyResponse* resp) {
  auto domid = OptDomid(req->has_domid(), req->domid());
  if (req->clear()) {
    if (!domid) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "clear needs a domid: the default policy cannot be cleared");
    }
    auto v = core_.ClearPolicy(*domid);
    if (!v) return ToGrpc(v.error());
    FillPolicy(*v, resp);
    return grpc::Status::OK;
  }
  if (!req->has_policy()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "SetPolicy without a policy");
  }
  auto p = FromProto(req->policy());
  if (!p) return ToGrpc(p.error());
  auto v = core_.SetPolicy(domid, *p);
  if (!v) return ToGrpc(v.error());
  FillPolicy(*v, resp);
  return grpc::Status::OK;
}

grpc::Status OperatorService::ListPending(grpc::ServerContext*, const opv1::ListPendingRequest* req,
                                          opv1::ListProgramsResponse* resp) {
  for (const auto& r : core_.Pending(OptDomid(req->has_domid(), req->domid()))) {
    ToProto(r, resp->add_programs());
  }
  return grpc::Status::OK;
}

grpc::Status OperatorService::Approve(grpc::ServerContext*, const opv1::ApproveRequest* req,
                                      opv1::DecisionResponse* resp) {
  auto r = core_.Approve(req->id());
  if (!r) return ToGrpc(r.error());
  ToProto(*r, resp->mutable_program());
  return grpc::Status::OK;
}

grpc::Status OperatorService::Reject(grpc::ServerContext*, const opv1::RejectRequest* req,
                                     opv1::DecisionResponse* resp) {
  auto r = core_.Reject(req->id(), req->reason().substr(0, 256));
  if (!r) return ToGrpc(r.error());
  ToProto(*r, resp->mutable_program());
  return grpc::Status::OK;
}

grpc::Status OperatorService::Detach(grpc::ServerContext*, const opv1::DetachRequest* req,
                                     opv1::DecisionResponse* resp) {
  auto r = core_.Detach(req->id(), req->reason().substr(0, 256));
  if (!r) return ToGrpc(r.error());
  ToProto(*r, resp->mutable_program());
  return grpc::Status::OK;
}

grpc::Status OperatorService::GetStats(grpc::ServerContext*, const opv1::GetStatsRequest* req,
                                       opv1::GetStatsResponse* resp) {
  auto rows = core_.Stats(OptDomid(req->has_domid(), req->domid()), req->prog_id());
  if (!rows) return ToGrpc(rows.error());
  for (const auto& s : *rows) ToProto(s, resp->add_stats());
  return grpc::Status::OK;
}

grpc::Status OperatorService::Events(grpc::ServerContext* ctx, const opv1::EventsRequest* req,
                                     grpc::ServerWriter<opv1::Event>* writer) {
  auto sub = bus_.Subscribe();
  auto domid = OptDomid(req->has_domid(), req->domid());
  uint64_t reported_drops = 0;
  while (!ctx->IsCancelled() && !stopping_ && !sub->closed()) {
    auto e = sub->Next(200);
    if (!e) continue;
    if (domid && e->domid() != *domid) continue;
    if (req->no_trace() && e->kind() == opv1::EVENT_KIND_TRACE) continue;
    if (uint64_t d = sub->dropped(); d != reported_drops) {
      spdlog::warn("events: a slow watcher lost {} events", d - reported_drops);
      reported_drops = d;
    }
    if (!writer->Write(*e)) break;
  }
  bus_.Unsubscribe(sub);
  return grpc::Status::OK;
}

}  // namespace hu::daemon
