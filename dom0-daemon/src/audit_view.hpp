// Audit rows as the operator API shows them: an AuditEntry, or the Event a
// decision was announced as (for Events.since_seq, which replays the audit
// log before following live).
#pragma once

#include "events.hpp"
#include "store.hpp"

namespace hu::daemon {

void ToProto(const AuditRow& row, hyperupcall::operator_api::v1::AuditEntry* out);
OpEvent AuditEvent(const AuditRow& row);

}  // namespace hu::daemon
