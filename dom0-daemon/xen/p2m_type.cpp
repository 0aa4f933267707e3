#include "p2m_type.hpp"

// Xen's and libxencall's headers have no C++ linkage guard.
extern "C" {
#include <xen/hvm/hvm_op.h>
#include <xen/xen.h>
#include <xencall.h>
}

#include <cerrno>
#include <cstring>

namespace hu::xen {
namespace {

std::string TypeName(uint16_t t) {
  switch (t) {
    case HVMMEM_ram_rw:
      return "ram_rw";
    case HVMMEM_ram_ro:
      return "ram_ro";
    case HVMMEM_mmio_dm:
      return "mmio_dm";
    case HVMMEM_ioreq_server:
      return "ioreq_server";
    default:
      return "type " + std::to_string(t);
  }
}

Error CallError(const std::string& what) {
  return MakeError(ErrorCode::kInternal,
                   "HVMOP_get_mem_type " + what + ": " + std::strerror(errno));
}

}  // namespace

Result<std::string> P2mType(uint32_t domid, uint64_t gfn) {
  xencall_handle* xc = xencall_open(nullptr, 0);
  if (!xc) return CallError("xencall_open");
  // Hypercall arguments must live in memory libxencall allocated.
  auto* arg =
      static_cast<xen_hvm_get_mem_type*>(xencall_alloc_buffer(xc, sizeof(xen_hvm_get_mem_type)));
  if (!arg) {
    xencall_close(xc);
    return CallError("buffer");
  }
  std::memset(arg, 0, sizeof *arg);
  arg->domid = static_cast<domid_t>(domid);
  arg->pfn = gfn;
  int rc = xencall2(xc, __HYPERVISOR_hvm_op, HVMOP_get_mem_type, reinterpret_cast<uintptr_t>(arg));
  std::string type = TypeName(arg->mem_type);
  int err = errno;
  xencall_free_buffer(xc, arg);
  xencall_close(xc);
  if (rc < 0) {
    errno = err;
    return CallError("dom " + std::to_string(domid) + " gfn " + std::to_string(gfn));
  }
  return type;
}

}  // namespace hu::xen
