#include "operator_identity.hpp"

#include "actor.hpp"

namespace hu::daemon {

std::string OperatorIdentity(const grpc::ServerContext& ctx, const OperatorPeerLookup& peers) {
  const std::string peer = ctx.peer();
  if (peers) {
    if (auto cr = peers(peer)) return UidActor(cr->uid) + " pid:" + std::to_string(cr->pid);
  }
  if (auto auth = ctx.auth_context(); auth && auth->IsPeerAuthenticated()) {
    for (const char* prop : {"x509_subject", "x509_common_name"}) {
      auto v = auth->FindPropertyValues(prop);
      if (!v.empty()) return "tls:" + std::string(v.front().data(), v.front().size());
    }
  }
  return "unknown:" + peer;
}

}  // namespace hu::daemon
