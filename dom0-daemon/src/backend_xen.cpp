// The xen backend from the command line. It has no flags of its own: Xen
// and xenstore are found where dom0 keeps them (/dev/xen/privcmd, the
// xenstored socket), and XenBackend::Open says which one is missing. Each
// domain's guest channel is joined to --guest-socket-dir/<domid>.sock, and
// libxenguest reaches it on --toolstack-socket when domains are saved,
// restored or migrated.
#include "backend_registry.hpp"
#include "xen_backend.hpp"

namespace hu::daemon {

Result<std::unique_ptr<Backend>> MakeXenFromConfig(const BackendConfig& cfg) {
  auto xen = XenBackend::Open();
  if (!xen) {
    return MakeError(xen.error().code,
                     "cannot use Xen: " + xen.error().message + "; --backend xen runs in dom0");
  }
  if (!cfg.guest_socket_dir.empty()) (*xen)->JoinGuestChannels(cfg.guest_socket_dir);
  if (!cfg.toolstack_socket.empty()) (*xen)->ServeToolstack(cfg.toolstack_socket);
  return std::unique_ptr<Backend>(std::move(xen.value()));
}

}  // namespace hu::daemon
