#include "audit_view.hpp"

namespace hu::daemon {

namespace opv1 = hyperupcall::operator_api::v1;

void ToProto(const AuditRow& row, opv1::AuditEntry* out) {
  out->set_seq(static_cast<uint64_t>(row.seq));
  out->set_time_unix_ms(row.time_ms);
  out->set_domid(row.domid);
  out->set_prog_id(row.prog_id);
  out->set_prog_name(row.prog_name);
  out->set_decision(row.decision);
  out->set_reason(row.reason);
  out->set_actor(row.actor);
}

namespace {

// The event kind each decision was published as (core_*.cpp).
opv1::EventKind KindOf(const std::string& decision) {
  if (decision == "accepted" || decision == "reinstalled") return opv1::EVENT_KIND_REGISTERED;
  if (decision == "pending") return opv1::EVENT_KIND_PENDING;
  if (decision == "rejected" || decision == "failed") return opv1::EVENT_KIND_REJECTED;
  if (decision == "approved") return opv1::EVENT_KIND_APPROVED;
  if (decision == "detached") return opv1::EVENT_KIND_DETACHED;
  if (decision.rfind("policy", 0) == 0) return opv1::EVENT_KIND_POLICY_CHANGED;
  return opv1::EVENT_KIND_UNSPECIFIED;
}

}  // namespace

OpEvent AuditEvent(const AuditRow& row) {
  OpEvent e;
  e.set_seq(0);  // the live stream's numbering; a replayed event has none
  e.set_time_unix_ns(row.time_ms * 1'000'000);
  e.set_kind(KindOf(row.decision));
  e.set_domid(row.domid);
  e.set_prog_id(row.prog_id);
  e.set_prog_name(row.prog_name);
  e.set_message(row.reason);
  e.set_audit_seq(static_cast<uint64_t>(row.seq));
  e.set_actor(row.actor);
  return e;
}

}  // namespace hu::daemon
