// Who a decision is taken for, so every audit row names it: the operator
// (peer uid over the unix socket, TLS subject over mutual TLS), the guest
// whose channel the request came on, or the daemon itself (restore,
// domain stop, libvirt events). Each gRPC call runs on one thread from
// start to answer, and the core decides synchronously inside it, so the
// actor is kept per thread for the length of a call (ActorScope), not
// passed through every signature.
#pragma once

#include <cstdint>
#include <string>

namespace hu::daemon {

// The actor of this thread: "daemon" unless an ActorScope set another.
const std::string& CurrentActor();

class ActorScope {
 public:
  explicit ActorScope(std::string actor);
  ~ActorScope();
  ActorScope(const ActorScope&) = delete;
  ActorScope& operator=(const ActorScope&) = delete;

 private:
  std::string saved_;
};

// The audit row this thread wrote last (Store), taken by the event that
// announces the decision (Core), so the event carries the row's seq: 0
// when no row was written since the last take.
void NoteAuditSeq(int64_t seq);
int64_t TakeAuditSeq();

// "uid:1000(alice)"; the name is left out when the uid has none.
std::string UidActor(unsigned uid);

}  // namespace hu::daemon
