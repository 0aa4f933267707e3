#include "xen_domctl.hpp"

// libxencall's header has no C++ linkage guard.
extern "C" {
#include <xencall.h>
}

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hu::xen {
namespace {

// A buffer Xen may read and write: hypercall arguments must live in
// memory that libxencall allocated (locked, not moved by the kernel).
class HBuf {
 public:
  HBuf(xencall_handle* xc, size_t size) : xc_(xc), size_(size ? size : 1) {
    p_ = xencall_alloc_buffer(xc_, size_);
    if (p_) std::memset(p_, 0, size_);
  }
  ~HBuf() {
    if (p_) xencall_free_buffer(xc_, p_);
  }
  HBuf(const HBuf&) = delete;
  HBuf& operator=(const HBuf&) = delete;
  bool ok() const { return p_ != nullptr; }
  uint8_t* data() { return static_cast<uint8_t*>(p_); }
  uint64_t addr() const { return reinterpret_cast<uintptr_t>(p_); }

 private:
  xencall_handle* xc_;
  size_t size_;
  void* p_ = nullptr;
};

Error ErrnoError(const char* what, int err) {
  ErrorCode code = ErrorCode::kInternal;
  switch (err) {
    case ENOENT:
    case ESRCH:
      code = ErrorCode::kNotFound;
      break;
    case EEXIST:
      code = ErrorCode::kAlreadyExists;
      break;
    case EINVAL:
      code = ErrorCode::kInvalidArgument;
      break;
    case EPERM:
    case EACCES:
      code = ErrorCode::kPermissionDenied;
      break;
    case ENOSPC:
    case E2BIG:
    case ENOMEM:
      code = ErrorCode::kResourceExhausted;
      break;
    case ENOSYS:
    case EOPNOTSUPP:
      code = ErrorCode::kUnimplemented;
      break;
    default:
      break;
  }
  std::string msg = std::string("XEN_DOMCTL_hyperupcall ") + what + ": " + std::strerror(err);
  if (err == ENOSYS) msg += " (hypervisor without the hyperupcall patches?)";
  return MakeError(code, msg);
}

Error NoMemory(const char* what) {
  return MakeError(ErrorCode::kResourceExhausted,
                   std::string("XEN_DOMCTL_hyperupcall ") + what + ": no hypercall buffer");
}

// Xen mixes this into the key of its constant blinding (install and load
// both translate programs): its own random source is weak on a CPU without
// RDRAND. GRND_INSECURE: never block. Early in dom0's boot the pool may not
// be initialised yet and a blocking getrandom() stalled the first install
// for over a minute (the guest's request timed out); Xen mixes this with
// its own RDRAND and TSC, so a best-effort value is what it needs.
Status JitSeed(uint64_t* seed, const char* what) {
  if (getrandom(seed, sizeof *seed, GRND_INSECURE) != sizeof *seed)
    return ErrnoError((std::string(what) + ": getrandom").c_str(), errno);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Domctl>> Domctl::Open() {
  xencall_handle* xc = xencall_open(nullptr, 0);
  if (!xc) {
    return MakeError(ErrorCode::kUnavailable, std::string("xencall_open: ") + std::strerror(errno) +
                                                  " (not in dom0, or /dev/xen/privcmd missing?)");
  }
  return std::unique_ptr<Domctl>(new Domctl(xc));
}

Domctl::~Domctl() { xencall_close(xc_); }

Status Domctl::Call(uint32_t domid, hu_xen_domctl_hyperupcall& op, const char* what) {
  HBuf buf(xc_, sizeof(hu_xen_domctl));
  if (!buf.ok()) return NoMemory(what);
  auto* d = reinterpret_cast<hu_xen_domctl*>(buf.data());
  d->cmd = HU_XEN_DOMCTL_hyperupcall;
  d->interface_version = HU_XEN_DOMCTL_INTERFACE_VERSION;
  d->domain = static_cast<uint16_t>(domid);
  d->u.hyperupcall = op;
  if (xencall1(xc_, HU_XEN_HYPERVISOR_domctl, buf.addr()) < 0) {
    last_errno_ = errno;
    return ErrnoError(what, last_errno_);
  }
  op = d->u.hyperupcall;
  return Status::Ok();
}

Status Domctl::Install(const InstallArgs& a) {
  HBuf insns(xc_, a.insns.size_bytes());
  HBuf maps(xc_, a.maps.size() * sizeof(hu_xen_map_def));
  HBuf regions(xc_, a.regions.size() * sizeof(hu_xen_region));
  if (!insns.ok() || !maps.ok() || !regions.ok()) return NoMemory("install");
  std::memcpy(insns.data(), a.insns.data(), a.insns.size_bytes());
  static_assert(sizeof(hu_map_def) == sizeof(hu_xen_map_def));
  static_assert(sizeof(hu_region) == sizeof(hu_xen_region));
  std::memcpy(maps.data(), a.maps.data(), a.maps.size_bytes());
  std::memcpy(regions.data(), a.regions.data(), a.regions.size_bytes());

  hu_xen_domctl_hyperupcall op{};
  op.op = HU_XEN_OP_install;
  op.id = a.id;
  op.u.install.hook = a.hook;
  op.u.install.ninsns = static_cast<uint32_t>(a.insns.size());
  op.u.install.nmaps = static_cast<uint32_t>(a.maps.size());
  op.u.install.nregions = static_cast<uint32_t>(a.regions.size());
  op.u.install.budget = a.budget;
  op.u.install.max_grace_us = a.max_grace_us;
  op.u.install.insns = insns.addr();
  op.u.install.maps = maps.addr();
  op.u.install.regions = regions.addr();
  if (a.jit) {
    op.u.install.jit = HU_XEN_JIT | (a.jit_plain ? HU_XEN_JIT_PLAIN : 0);
    if (auto st = JitSeed(&op.u.install.jit_seed, "install"); !st) return st;
  }
  return Call(a.domid, op, "install");
}

Status Domctl::Uninstall(uint32_t domid, uint64_t id) {
  hu_xen_domctl_hyperupcall op{};
  op.op = HU_XEN_OP_uninstall;
  op.id = id;
  return Call(domid, op, "uninstall");
}

Result<std::vector<hu_xen_prog_info>> Domctl::List(uint32_t domid) {
  constexpr uint32_t kMax = 64;  // above Xen's per-domain limit
  HBuf progs(xc_, kMax * sizeof(hu_xen_prog_info));
  if (!progs.ok()) return NoMemory("list");
  hu_xen_domctl_hyperupcall op{};
  op.op = HU_XEN_OP_list;
  op.u.list.max = kMax;
  op.u.list.progs = progs.addr();
  if (auto st = Call(domid, op, "list"); !st) return st.error();
  std::vector<hu_xen_prog_info> out(std::min(op.u.list.nr, kMax));
  std::memcpy(out.data(), progs.data(), out.size() * sizeof(hu_xen_prog_info));
  return out;
}

Result<ProgStats> Domctl::Stats(uint32_t domid, uint64_t id) {
  hu_xen_domctl_hyperupcall op{};
  op.op = HU_XEN_OP_stats;
  op.id = id;
  if (auto st = Call(domid, op, "stats"); !st) return st.error();
  const auto& s = op.u.stats;
  return ProgStats{s.runs,        s.insns,       s.run_ns,      s.budget_aborts, s.errors,
                   s.last_result, s.last_err,    s.last_err_pc, s.cycles,        s.nested,
                   s.acted,       s.acted_units, s.overridden,  s.jit_runs};
}

Result<std::vector<MapSlot>> Domctl::MapDump(uint32_t domid, uint64_t id, uint32_t map,
                                             uint32_t key_size, uint32_t value_size) {
  HBuf key(xc_, key_size);
  HBuf value(xc_, value_size);
  if (!key.ok() || !value.ok()) return NoMemory("map_read");
  std::vector<MapSlot> out;
  uint32_t cursor = 0;
  for (;;) {
    hu_xen_domctl_hyperupcall op{};
    op.op = HU_XEN_OP_map_read;
    op.id = id;
    op.u.map.map = map;
    op.u.map.cursor = cursor;
    op.u.map.key_size = key_size;
    op.u.map.value_size = value_size;
    op.u.map.key = key.addr();
    op.u.map.value = value.addr();
    if (auto st = Call(domid, op, "map_read"); !st) {
      // ENOENT past the last used slot ends the walk.
      if (st.error().code == ErrorCode::kNotFound && cursor > 0) break;
      if (st.error().code == ErrorCode::kNotFound && out.empty()) {
        // Either an empty map or no such program/map: tell them apart.
        auto progs = List(domid);
        if (!progs) return progs.error();
        for (const auto& p : *progs) {
          if (p.id == id && map < p.nmaps) return out;
        }
      }
      return st.error();
    }
    out.push_back(MapSlot{std::vector<uint8_t>(key.data(), key.data() + op.u.map.key_size),
                          std::vector<uint8_t>(value.data(), value.data() + op.u.map.value_size)});
    cursor = op.u.map.cursor;
  }
  return out;
}

Status Domctl::MapUpdate(uint32_t domid, uint64_t id, uint32_t map, std::span<const uint8_t> key,
                         std::span<const uint8_t> value, uint32_t flags) {
  HBuf k(xc_, key.size());
  HBuf v(xc_, value.size());
  if (!k.ok() || !v.ok()) return NoMemory("map_update");
  std::memcpy(k.data(), key.data(), key.size());
  std::memcpy(v.data(), value.data(), value.size());
  hu_xen_domctl_hyperupcall op{};
  op.op = HU_XEN_OP_map_update;
  op.id = id;
  op.u.map.map = map;
  op.u.map.flags = flags;
  op.u.map.key_size = static_cast<uint32_t>(key.size());
  op.u.map.value_size = static_cast<uint32_t>(value.size());
  op.u.map.key = k.addr();
  op.u.map.value = v.addr();
  return Call(domid, op, "map_update");
}

Result<ReclaimResult> Domctl::ReclaimScan(uint32_t domid, uint64_t id, uint64_t first_gfn,
                                          uint64_t nr_frames) {
  if (nr_frames == 0 || nr_frames > HU_XEN_RECLAIM_MAX) {
    return MakeError(ErrorCode::kInvalidArgument, "reclaim scan: frame count " +
                                                      std::to_string(nr_frames) + " outside 1.." +
                                                      std::to_string(HU_XEN_RECLAIM_MAX));
  }
  HBuf bitmap(xc_, (nr_frames + 7) / 8);
  if (!bitmap.ok()) return NoMemory("reclaim_scan");
  hu_xen_domctl_hyperupcall op{};
  op.op = HU_XEN_OP_reclaim_scan;
  op.id = id;
  op.u.reclaim.first_gfn = first_gfn;
  op.u.reclaim.nr_frames = nr_frames;
  op.u.reclaim.bitmap = bitmap.addr();
  if (auto st = Call(domid, op, "reclaim_scan"); !st) return st.error();
  ReclaimResult r;
  r.frames = std::min(op.u.reclaim.nr_frames, nr_frames);
  r.bitmap.assign(bitmap.data(), bitmap.data() + (r.frames + 7) / 8);
  r.nr_free = op.u.reclaim.nr_free;
  r.nr_errors = op.u.reclaim.nr_errors;
  return r;
}

Result<ReclaimFramesResult> Domctl::ReclaimFrames(uint32_t domid, uint64_t id, uint64_t first_gfn,
                                                  uint64_t nr_frames, uint64_t max_reclaim) {
  if (nr_frames == 0 || nr_frames > HU_XEN_RECLAIM_MAX) {
    return MakeError(ErrorCode::kInvalidArgument, "reclaim: frame count " +
                                                      std::to_string(nr_frames) + " outside 1.." +
                                                      std::to_string(HU_XEN_RECLAIM_MAX));
  }
  hu_xen_domctl_hyperupcall op{};
  op.op = HU_XEN_OP_reclaim;
  op.id = id;
  op.u.reclaim_frames.first_gfn = first_gfn;
  op.u.reclaim_frames.nr_frames = nr_frames;
  op.u.reclaim_frames.max_reclaim = max_reclaim;
  if (auto st = Call(domid, op, "reclaim"); !st) return st.error();
  const auto& r = op.u.reclaim_frames;
  return ReclaimFramesResult{std::min(r.nr_frames, nr_frames), r.nr_reclaimed, r.nr_kept, r.nr_busy,
                             r.nr_errors};
}

Result<TraceBatch> Domctl::TraceRead(uint32_t domid) {
  constexpr uint32_t kSize = 64 * 1024;
  HBuf buf(xc_, kSize);
  if (!buf.ok()) return NoMemory("trace_read");
  hu_xen_domctl_hyperupcall op{};
  op.op = HU_XEN_OP_trace_read;
  op.u.trace.size = kSize;
  op.u.trace.buf = buf.addr();
  if (auto st = Call(domid, op, "trace_read"); !st) return st.error();
  TraceBatch batch;
  batch.lost = op.u.trace.lost;
  // Xen wrote whole records; still, never read past what it says it used.
  uint32_t used = std::min(op.u.trace.used, kSize);
  for (uint32_t off = 0; off + sizeof(hu_xen_trace_hdr) <= used;) {
    hu_xen_trace_hdr h;
    std::memcpy(&h, buf.data() + off, sizeof(h));
    uint32_t rec = sizeof(h) + ((h.len + 7) & ~7u);
    if (h.len > HU_TRACE_MAX_RECORD || off + rec > used) break;
    const uint8_t* p = buf.data() + off + sizeof(h);
    batch.records.push_back(TraceRecordRaw{h.id, h.time_ns, std::vector<uint8_t>(p, p + h.len)});
    off += rec;
  }
  return batch;
}

Result<std::vector<uint8_t>> Domctl::Save(uint32_t domid) {
  hu_xen_domctl_hyperupcall op{};
  op.op = HU_XEN_OP_save;
  if (auto st = Call(domid, op, "save"); !st) return st.error();
  // The domain may run between the size query and the save: a blob that
  // grew meanwhile gets ENOBUFS and its new size, and is asked for again.
  for (int tries = 0; tries < 4; tries++) {
    uint32_t size = op.u.state.size;
    HBuf buf(xc_, size);
    if (!buf.ok()) return NoMemory("save");
    op = hu_xen_domctl_hyperupcall{};
    op.op = HU_XEN_OP_save;
    op.u.state.size = size;
    op.u.state.buf = buf.addr();
    auto st = Call(domid, op, "save");
    if (st) {
      size = std::min(size, op.u.state.size);
      return std::vector<uint8_t>(buf.data(), buf.data() + size);
    }
    if (last_errno_ != ENOBUFS) return st.error();
  }
  return MakeError(ErrorCode::kUnavailable,
                   "XEN_DOMCTL_hyperupcall save: the state kept growing while it was saved");
}

Result<uint32_t> Domctl::Load(uint32_t domid, std::span<const uint8_t> blob) {
  if (blob.size() > UINT32_MAX) return ErrnoError("load", E2BIG);
  HBuf buf(xc_, blob.size());
  if (!buf.ok()) return NoMemory("load");
  std::memcpy(buf.data(), blob.data(), blob.size());
  hu_xen_domctl_hyperupcall op{};
  op.op = HU_XEN_OP_load;
  op.u.state.size = static_cast<uint32_t>(blob.size());
  op.u.state.buf = buf.addr();
  // Every load gets its own seed: programs saved to run as code are
  // translated again here, never with the source's key.
  if (auto st = JitSeed(&op.u.state.jit_seed, "load"); !st) return st.error();
  if (auto st = Call(domid, op, "load"); !st) return st.error();
  return op.u.state.nprogs;
}

Status Domctl::Annotate(uint32_t domid, uint64_t id, std::span<const uint8_t> note) {
  HBuf buf(xc_, note.size());
  if (!buf.ok()) return NoMemory("annotate");
  std::memcpy(buf.data(), note.data(), note.size());
  hu_xen_domctl_hyperupcall op{};
  op.op = HU_XEN_OP_annotate;
  op.id = id;
  op.u.annotate.len = static_cast<uint32_t>(note.size());
  op.u.annotate.buf = buf.addr();
  return Call(domid, op, "annotate");
}

}  // namespace hu::xen
