#include "operator_service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "actor.hpp"
#include "audit_view.hpp"
#include "btf_format.hpp"
#include "convert.hpp"
#include "domain_resolver.hpp"
#include "hyperupcall/daemon/libvirt_bridge.hpp"
#include "hyperupcall/disasm.hpp"
#include "hyperupcall/verifier.hpp"
#include "operator_identity.hpp"
#include "program_listing.hpp"
#include "text.hpp"

namespace hu::daemon {

namespace {

// The largest scan one call answers: 64 Ki frames (256 MiB of guest
// memory), whose answer stays far below gRPC's 4 MiB message cap.
constexpr uint64_t kMaxReclaimScan = 65536;
constexpr uint64_t kFrameBytes = 4096;

void ToProto(const LibvirtIdentityChange& c, opv1::IdentityChange* out) {
  out->set_time_unix_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(c.when.time_since_epoch()).count());
  out->set_kind(c.kind == LibvirtIdentityChange::Kind::kRenamed ? "renamed" : "uuid-changed");
  out->set_old_name(c.old_name);
  out->set_new_name(c.new_name);
  out->set_old_uuid(c.old_uuid);
  out->set_new_uuid(c.new_uuid);
}

bool SameUuid(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void FillPolicy(const PolicyView& v, opv1::GetPolicyResponse* resp) {
  if (v.domid) resp->set_domid(*v.domid);
  ToProto(v.policy, resp->mutable_policy());
  resp->set_inherited(v.inherited);
  resp->set_libvirt_uuid(v.libvirt_uuid);
}

// A defined libvirt domain that is not running has no domid (the resolver
// says FAILED_PRECONDITION), but its policy is kept under its UUID, so it
// can be read and set before it starts.
std::optional<LibvirtDomain> StoppedLibvirtDomain(LibvirtMonitor* lv, const std::string& who,
                                                  const Error& why) {
  if (!lv || who.empty() || why.code != ErrorCode::kFailedPrecondition) return std::nullopt;
  auto d = lv->Lookup(who);
  if (!d || d->domid) return std::nullopt;
  return *d;
}

}  // namespace

Result<std::optional<uint32_t>> OperatorService::Select(bool has_domid, uint32_t domid,
                                                        const std::string& domain) {
  if (domain.empty()) return has_domid ? std::optional<uint32_t>(domid) : std::nullopt;
  if (has_domid) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the request names its domain twice (domid and domain): give one");
  }
  std::vector<DomainInfo> infos;
  for (auto& d : core_.Domains()) infos.push_back(std::move(d.info));
  auto id = ResolveDomainSelector(domain, infos, libvirt_);
  if (!id) return id.error();
  return std::optional<uint32_t>(*id);
}

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
    if (libvirt_ && !d.info.uuid.empty()) {
      for (const auto& c : libvirt_->History(d.info.uuid)) ToProto(c, pd->add_history());
    }
  }
  return grpc::Status::OK;
}

grpc::Status OperatorService::ListIdentityChanges(grpc::ServerContext*,
                                                  const opv1::ListIdentityChangesRequest* req,
                                                  opv1::ListIdentityChangesResponse* resp) {
  if (!libvirt_) return grpc::Status::OK;
  const std::string& w = req->domain();
  for (const auto& c : libvirt_->History()) {
    if (w.empty() || c.old_name == w || c.new_name == w || SameUuid(c.old_uuid, w) ||
        SameUuid(c.new_uuid, w)) {
      ToProto(c, resp->add_changes());
    }
  }
  return grpc::Status::OK;
}

grpc::Status OperatorService::ListPrograms(grpc::ServerContext*,
                                           const opv1::ListProgramsRequest* req,
                                           opv1::ListProgramsResponse* resp) {
  auto domid = Select(req->has_domid(), req->domid(), req->domain());
  if (!domid) return ToGrpc(domid.error());
  for (const auto& r : core_.Programs(*domid, req->all())) {
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
  resp->set_listing(ProgramListing(*r));
  for (const auto& f : r->functions) {
    auto* pf = resp->add_functions();
    pf->set_name(f.name);
    pf->set_pc(f.pc);
  }
  resp->set_worst_case_insns(r->worst_case_insns);
  return grpc::Status::OK;
}

namespace {

void ToProto(const MapView& v, opv1::MapDumpResponse* out) {
  out->set_prog_id(v.prog_id);
  out->set_domid(v.domid);
  out->set_map_index(v.index);
  auto* m = out->mutable_map();
  m->set_name(v.spec.name);
  m->set_type(v.spec.def.type);
  m->set_key_size(v.spec.def.key_size);
  m->set_value_size(v.spec.def.value_size);
  m->set_max_entries(v.spec.def.max_entries);
  const BtfFormatter btf(v.btf);
  const uint32_t kt = v.spec.btf_key_type_id, vt = v.spec.btf_value_type_id;
  out->set_key_type(btf.TypeName(kt));
  out->set_value_type(btf.TypeName(vt));
  for (const auto& r : v.rows) {
    auto* row = out->add_rows();
    row->set_key(std::string(r.key.begin(), r.key.end()));
    row->set_key_text(btf.Format(kt, r.key));
    row->set_value(std::string(r.value.begin(), r.value.end()));
    if (!r.value.empty()) row->set_value_text(btf.Format(vt, r.value));
    for (const auto& pv : r.vcpu_values) {
      row->add_vcpu_values(std::string(pv.begin(), pv.end()));
      row->add_vcpu_value_texts(btf.Format(vt, pv));
    }
  }
}

MapSelector SelectorOf(const opv1::MapSelector& s) {
  return MapSelector{s.prog_id(), s.map_name(), s.map_index()};
}

std::vector<uint8_t> BytesOf(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

grpc::Status OperatorService::MapDump(grpc::ServerContext*, const opv1::MapDumpRequest* req,
                                      opv1::MapDumpResponse* resp) {
  auto v = core_.MapDump(SelectorOf(req->map()));
  if (!v) return ToGrpc(v.error());
  ToProto(*v, resp);
  return grpc::Status::OK;
}

grpc::Status OperatorService::MapLookup(grpc::ServerContext*, const opv1::MapKeyRequest* req,
                                        opv1::MapDumpResponse* resp) {
  auto v = core_.MapLookup(SelectorOf(req->map()), BytesOf(req->key()));
  if (!v) return ToGrpc(v.error());
  ToProto(*v, resp);
  return grpc::Status::OK;
}

grpc::Status OperatorService::MapUpdate(grpc::ServerContext* ctx, const opv1::MapUpdateRequest* req,
                                        opv1::MapDumpResponse* resp) {
  ActorScope who(OperatorIdentity(*ctx, peers_));
  auto v = core_.MapUpdate(SelectorOf(req->map()), BytesOf(req->key()), BytesOf(req->value()),
                           req->has_vcpu() ? std::optional<uint32_t>(req->vcpu()) : std::nullopt);
  if (!v) return ToGrpc(v.error());
  ToProto(*v, resp);
  return grpc::Status::OK;
}

grpc::Status OperatorService::MapDelete(grpc::ServerContext* ctx, const opv1::MapKeyRequest* req,
                                        opv1::MapDeleteResponse*) {
  ActorScope who(OperatorIdentity(*ctx, peers_));
  if (auto st = core_.MapDelete(SelectorOf(req->map()), BytesOf(req->key())); !st)
    return ToGrpc(st.error());
  return grpc::Status::OK;
}

grpc::Status OperatorService::GetPolicy(grpc::ServerContext*, const opv1::GetPolicyRequest* req,
                                        opv1::GetPolicyResponse* resp) {
  auto domid = Select(req->has_domid(), req->domid(), req->domain());
  if (!domid) {
    if (auto d = StoppedLibvirtDomain(libvirt_, req->domain(), domid.error())) {
      FillPolicy(core_.GetLibvirtPolicy(d->uuid), resp);
      return grpc::Status::OK;
    }
    return ToGrpc(domid.error());
  }
  FillPolicy(core_.GetPolicy(*domid), resp);
  return grpc::Status::OK;
}

grpc::Status OperatorService::SetPolicy(grpc::ServerContext* ctx, const opv1::SetPolicyRequest* req,
                                        opv1::GetPolicyResponse* resp) {
  ActorScope who(OperatorIdentity(*ctx, peers_));
  auto sel = Select(req->has_domid(), req->domid(), req->domain());
  if (!sel) {
    if (auto d = StoppedLibvirtDomain(libvirt_, req->domain(), sel.error())) {
      return SetStoppedLibvirtPolicy(*req, *d, resp);
    }
    return ToGrpc(sel.error());
  }
  const auto domid = *sel;
  if (req->write_xml() && (!libvirt_ || !domid)) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        !libvirt_ ? "write_xml needs hyperupcalld --libvirt-uri"
                                  : "write_xml needs a domain: the default policy has no XML");
  }
  // Which XML to write is settled first: a domain libvirt does not know
  // fails before anything changes.
  std::optional<LibvirtDomain> xml;
  if (req->write_xml()) {
    auto t = XmlTarget(*domid);
    if (!t) return ToGrpc(t.error());
    xml = *t;
  }
  if (req->clear()) {
    if (!domid) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "clear needs a domid: the default policy cannot be cleared");
    }
    auto v = core_.ClearPolicy(*domid);
    if (!v) return ToGrpc(v.error());
    if (req->write_xml()) {
      if (auto st = WriteXml(*domid, *xml, std::nullopt); !st) return ToGrpc(st.error());
    }
    FillPolicy(*v, resp);
    ReportNonCompliant(domid, req->enforce(), resp);
    return grpc::Status::OK;
  }
  if (!req->has_policy()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "SetPolicy without a policy");
  }
  auto p = FromProto(req->policy());
  if (!p) return ToGrpc(p.error());
  // The XML the override is set over: the next start keeps the override
  // unless that XML has changed by then.
  PolicySource source{"api", ""};
  if (domid && libvirt_) {
    if (req->write_xml()) {
      source.xml_fingerprint = LibvirtPolicyFingerprint(ToLibvirtPolicy(*p));
    } else if (auto t = libvirt_->Describe(*domid); t.ok()) {
      if (auto x = libvirt_->ReadPolicy(t->uuid); x.ok() && x->has_value())
        source.xml_fingerprint = LibvirtPolicyFingerprint(**x);
    }
  }
  auto v = core_.SetPolicy(domid, *p, "operator API", source);
  if (!v) return ToGrpc(v.error());
  if (req->write_xml()) {
    if (auto st = WriteXml(*domid, *xml, v->policy); !st) return ToGrpc(st.error());
  }
  FillPolicy(*v, resp);
  ReportNonCompliant(domid, req->enforce(), resp);
  return grpc::Status::OK;
}

grpc::Status OperatorService::ListPending(grpc::ServerContext*, const opv1::ListPendingRequest* req,
                                          opv1::ListProgramsResponse* resp) {
  auto domid = Select(req->has_domid(), req->domid(), req->domain());
  if (!domid) return ToGrpc(domid.error());
  for (const auto& r : core_.Pending(*domid)) {
    ToProto(r, resp->add_programs());
  }
  return grpc::Status::OK;
}

grpc::Status OperatorService::Approve(grpc::ServerContext* ctx, const opv1::ApproveRequest* req,
                                      opv1::DecisionResponse* resp) {
  ActorScope who(OperatorIdentity(*ctx, peers_));
  auto r = core_.Approve(req->id());
  if (!r) return ToGrpc(r.error());
  ToProto(*r, resp->mutable_program());
  return grpc::Status::OK;
}

grpc::Status OperatorService::Reject(grpc::ServerContext* ctx, const opv1::RejectRequest* req,
                                     opv1::DecisionResponse* resp) {
  ActorScope who(OperatorIdentity(*ctx, peers_));
  auto r = core_.Reject(req->id(), SafeText(req->reason(), 256));
  if (!r) return ToGrpc(r.error());
  ToProto(*r, resp->mutable_program());
  return grpc::Status::OK;
}

grpc::Status OperatorService::Detach(grpc::ServerContext* ctx, const opv1::DetachRequest* req,
                                     opv1::DecisionResponse* resp) {
  ActorScope who(OperatorIdentity(*ctx, peers_));
  auto r = core_.Detach(req->id(), SafeText(req->reason(), 256));
  if (!r) return ToGrpc(r.error());
  ToProto(*r, resp->mutable_program());
  return grpc::Status::OK;
}

grpc::Status OperatorService::GetStats(grpc::ServerContext*, const opv1::GetStatsRequest* req,
                                       opv1::GetStatsResponse* resp) {
  auto domid = Select(req->has_domid(), req->domid(), req->domain());
  if (!domid) return ToGrpc(domid.error());
  auto rows = core_.Stats(*domid, req->prog_id());
  if (!rows) return ToGrpc(rows.error());
  for (const auto& s : *rows) ToProto(s, resp->add_stats());
  return grpc::Status::OK;
}

grpc::Status OperatorService::Events(grpc::ServerContext* ctx, const opv1::EventsRequest* req,
                                     grpc::ServerWriter<opv1::Event>* writer) {
  auto sel = Select(req->has_domid(), req->domid(), req->domain());
  if (!sel) return ToGrpc(sel.error());
  const auto domid = *sel;
  auto sub = bus_.Subscribe();
  // Subscribed first, so nothing falls between the replay and the live
  // stream; a live decision the replay already showed is skipped.
  uint64_t replayed = 0;
  for (AuditQuery q; req->since_seq() != 0 && !ctx->IsCancelled();) {
    q.domid = domid;
    q.after_seq = static_cast<int64_t>(std::max<uint64_t>(req->since_seq(), replayed));
    q.oldest_first = true;
    q.limit = 1000;
    auto rows = core_.Audit(q);
    if (!rows) {
      bus_.Unsubscribe(sub);
      return ToGrpc(rows.error());
    }
    for (const auto& row : *rows) {
      if (!writer->Write(AuditEvent(row))) break;
      replayed = static_cast<uint64_t>(row.seq);
    }
    if (rows->size() < q.limit) break;
  }
  uint64_t reported_drops = 0;
  while (!ctx->IsCancelled() && !stopping_ && !sub->closed()) {
    auto e = sub->Next(200);
    if (!e) continue;
    if (domid && e->domid() != *domid) continue;
    if (e->audit_seq() != 0 && e->audit_seq() <= replayed) continue;
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

grpc::Status OperatorService::ListAudit(grpc::ServerContext*, const opv1::ListAuditRequest* req,
                                        opv1::ListAuditResponse* resp) {
  auto sel = Select(req->has_domid(), req->domid(), req->domain());
  if (!sel) return ToGrpc(sel.error());
  if (req->limit() > 10000 || req->since_unix_ms() < 0 || req->until_unix_ms() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "limit is at most 10000, times are not negative");
  }
  AuditQuery q;
  q.domid = *sel;
  q.prog_id = req->prog_id();
  q.decision = req->decision();
  q.since_ms = req->since_unix_ms();
  q.until_ms = req->until_unix_ms();
  q.limit = req->limit() ? req->limit() : 100;
  auto rows = core_.Audit(q);
  if (!rows) return ToGrpc(rows.error());
  for (const auto& row : *rows) ToProto(row, resp->add_entries());
  return grpc::Status::OK;
}

grpc::Status OperatorService::SetStoppedLibvirtPolicy(const opv1::SetPolicyRequest& req,
                                                      const LibvirtDomain& d,
                                                      opv1::GetPolicyResponse* resp) {
  std::optional<Policy> p;
  if (!req.clear()) {
    if (!req.has_policy()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "SetPolicy without a policy");
    }
    auto q = FromProto(req.policy());
    if (!q) return ToGrpc(q.error());
    p = *q;
  }
  // As for a running domain: the XML the override is set over.
  PolicySource source{"api", ""};
  if (p && req.write_xml()) {
    source.xml_fingerprint = LibvirtPolicyFingerprint(ToLibvirtPolicy(*p));
  } else if (p) {
    if (auto x = libvirt_->ReadPolicy(d.uuid); x.ok() && x->has_value())
      source.xml_fingerprint = LibvirtPolicyFingerprint(**x);
  }
  auto v = p ? core_.SetLibvirtPolicy(d.uuid, *p, "operator API", source)
             : core_.ClearLibvirtPolicy(d.uuid);
  if (!v) return ToGrpc(v.error());
  if (req.write_xml()) {
    if (auto st = WriteXml(0, d, p ? std::optional<Policy>(v->policy) : std::nullopt); !st)
      return ToGrpc(st.error());
  }
  FillPolicy(*v, resp);
  return grpc::Status::OK;
}

void OperatorService::ReportNonCompliant(std::optional<uint32_t> domid, bool enforce,
                                         opv1::GetPolicyResponse* resp) {
  for (const auto& d : core_.Domains()) {
    const uint32_t id = d.info.domid;
    if (domid ? id != *domid : d.has_own_policy) continue;
    const Policy policy = core_.GetPolicy(id).policy;
    // Oldest first: when a domain has more programs than max_programs now
    // allows, the newest ones are over the cap.
    auto live = core_.Programs(id, false);
    std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    uint32_t kept = 0;
    for (const auto& r : live) {
      PolicyCandidate c{id,
                        r.hook,
                        &r.insns,
                        &r.regions,
                        d.info.memory_kib * 1024,
                        kept,
                        r.worst_case_insns,
                        core_.DefaultRunBudget()};
      Status st = CheckPolicy(policy, c);
      if (st) {
        ++kept;
        continue;
      }
      auto* nc = resp->add_noncompliant();
      nc->set_reason(st.error().message);
      ProgramRecord now = r;
      if (enforce) {
        auto det = core_.Detach(r.id, ("policy tightened: " + st.error().message).substr(0, 256));
        if (det) {
          now = *det;
          nc->set_detached(true);
        } else {
          nc->set_reason(nc->reason() + "; not detached: " + det.error().message);
        }
      }
      ToProto(now, nc->mutable_program());
      spdlog::info("dom{}: program {} '{}' does not comply with the new policy: {}{}", id, r.id,
                   r.name, st.error().message, nc->detached() ? " (detached)" : "");
    }
  }
}

Result<LibvirtDomain> OperatorService::XmlTarget(uint32_t domid) {
  auto lv = libvirt_->Describe(domid);
  if (!lv) {
    return MakeError(lv.error().code,
                     fmt::format("domid {} has no libvirt domain to write the policy to: {}", domid,
                                 lv.error().message));
  }
  return *lv;
}

Status OperatorService::WriteXml(uint32_t domid, const LibvirtDomain& lv,
                                 const std::optional<Policy>& policy) {
  Status st = policy ? libvirt_->WritePolicy(lv.uuid, ToLibvirtPolicy(*policy))
                     : libvirt_->ClearPolicy(lv.uuid);
  const std::string what = policy ? "written to" : "removed from";
  if (!st) {
    core_.AuditNote(domid, "policy-xml-failed",
                    fmt::format("policy not {} the XML of libvirt domain '{}' ({}): {}", what,
                                lv.name, lv.uuid, st.error().message));
    return MakeError(st.error().code, fmt::format("policy set, but not {} the domain XML: {}", what,
                                                  st.error().message));
  }
  core_.AuditNote(
      domid, "policy-xml",
      fmt::format("policy {} the <metadata> of libvirt domain '{}' ({})", what, lv.name, lv.uuid));
  return Status::Ok();
}

grpc::Status OperatorService::ReclaimScan(grpc::ServerContext*, const opv1::ReclaimScanRequest* req,
                                          opv1::ReclaimScanResponse* resp) {
  auto sel = Select(req->has_domid(), req->domid(), req->domain());
  if (!sel) return ToGrpc(sel.error());
  if (!*sel) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "ReclaimScan needs a domain");
  }
  if (req->count() == 0 || req->count() > kMaxReclaimScan) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        fmt::format("count {} is out of range: scan 1..{} frames per call",
                                    req->count(), kMaxReclaimScan));
  }
  if (req->first_gfn() > UINT64_MAX - req->count()) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        fmt::format("first_gfn {:#x} + count {} overflows", req->first_gfn(), req->count()));
  }
  auto free = core_.ReclaimScan(**sel, req->first_gfn(), req->count());
  if (!free) return ToGrpc(free.error());
  resp->set_domid(**sel);
  resp->set_first_gfn(req->first_gfn());
  resp->set_count(req->count());
  for (uint64_t g : *free) resp->add_free_gfns(g);
  return grpc::Status::OK;
}

grpc::Status OperatorService::Reclaim(grpc::ServerContext*, const opv1::ReclaimRequest* req,
                                      opv1::ReclaimResponse* resp) {
  auto sel = Select(req->has_domid(), req->domid(), req->domain());
  if (!sel) return ToGrpc(sel.error());
  if (!*sel) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "Reclaim needs a domain");
  if (req->max_bytes() < kFrameBytes) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        fmt::format("max_bytes {} is less than one {}-byte frame", req->max_bytes(), kFrameBytes));
  }
  auto start = std::chrono::steady_clock::now();
  auto r = core_.Reclaim(**sel, req->max_bytes() / kFrameBytes);
  if (!r) return ToGrpc(r.error());
  resp->set_domid(**sel);
  resp->set_frames_reclaimed(r->reclaimed);
  resp->set_frames_kept(r->kept);
  resp->set_frames_busy(r->busy);
  resp->set_errors(r->errors);
  resp->set_frames_walked(r->walked);
  resp->set_elapsed_ns(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count()));
  return grpc::Status::OK;
}

}  // namespace hu::daemon
