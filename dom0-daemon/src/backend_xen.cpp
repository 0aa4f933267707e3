// The xen backend from the command line. It has no flags of its own: Xen
// and xenstore are found where dom0 keeps them (/dev/xen/privcmd, the
// xenstored socket), and XenBackend::Open says which one is missing.
#include "backend_registry.hpp"
#include "xen_backend.hpp"

namespace hu::daemon {

Result<std::unique_ptr<Backend>> MakeXenFromConfig(const BackendConfig& cfg) {
  (void)cfg;  // sim-only settings; state lives in the daemon, not here
  auto xen = XenBackend::Open();
  if (!xen) {
    return MakeError(xen.error().code,
                     "cannot use Xen: " + xen.error().message + "; --backend xen runs in dom0");
  }
  return std::unique_ptr<Backend>(std::move(xen.value()));
}

}  // namespace hu::daemon
