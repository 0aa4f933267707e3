// The helpers of abi.h for the sim backend. Every pointer a program passes
// is checked with hu_interp_check before use, every guest address against
// the program's registered regions and then the guest's page tables; errors
// are negative HU_E* values, as the ABI says. A helper that writes into the
// program's buffer writes all of it on every path once the buffer itself is
// valid: zeros when it fails (as Linux's probe_read does), so the verifier
// can count the buffer as written and no stale stack byte (an address from
// an earlier run, say) ever reaches the program as data.
#include <cstring>

#include "hyperupcall/abi.h"
#include "page_tables.hpp"
#include "program.hpp"

namespace hu::daemon::sim {
namespace {

uint64_t Neg(int e) { return static_cast<uint64_t>(-static_cast<int64_t>(e)); }

Program::Env& EnvOf(hu_run* run) { return *static_cast<Program::Env*>(run->env); }

Map* MapOf(Program::Env& env, uint64_t handle) {
  if (handle < kMapHandleBase || handle - kMapHandleBase >= env.prog->maps().size()) return nullptr;
  return &env.prog->maps()[handle - kMapHandleBase];
}

uint32_t CurrentVcpu(const Program::Env& env) {
  return env.site->vcpu < 0 ? 0 : static_cast<uint32_t>(env.site->vcpu);
}

// True if [addr, addr+len) lies in one registered region of the right kind
// (virtual or physical) that grants `need`.
bool InRegion(const Program& prog, uint64_t addr, uint64_t len, bool physical, uint32_t need) {
  for (const hu_region& r : prog.regions()) {
    if (((r.flags & HU_REGION_GPA) != 0) != physical || (r.flags & need) != need) continue;
    if (addr >= r.start && len <= r.len && addr - r.start <= r.len - len) return true;
  }
  return false;
}

// Walks [gva, gva + size) page by page through the site's page tables and
// copies between a program buffer and guest memory; with buf null it only
// checks that every page is there (and writable, for a write), so that a
// write can be all or nothing (abi.h).
bool CopyGva(const Program::Env& env, uint64_t gva, uint8_t* buf, uint32_t size, bool write) {
  GuestMemory& mem = env.site->guest->mem();
  uint32_t done = 0;
  while (done < size) {
    auto t = WalkPageTables(mem, env.site->cr3, gva + done);
    if (!t.ok() || (write && !t->writable)) return false;
    const uint64_t in_page = t->page_size - (t->gpa & (t->page_size - 1));
    const uint32_t chunk = static_cast<uint32_t>(std::min<uint64_t>(in_page, size - done));
    const bool ok = !buf    ? mem.Contains(t->gpa, chunk)
                    : write ? mem.Write(t->gpa, buf + done, chunk)
                            : mem.Read(t->gpa, buf + done, chunk);
    if (!ok) return false;
    done += chunk;
  }
  return true;
}

uint64_t MapLookup(hu_run* run, uint64_t map, uint64_t key, uint64_t, uint64_t, uint64_t) {
  auto& env = EnvOf(run);
  Map* m = MapOf(env, map);
  if (!m || hu_interp_check(run, key, m->def().key_size, 0) != HU_RUN_OK) return 0;
  return reinterpret_cast<uint64_t>(
      m->Lookup(reinterpret_cast<const uint8_t*>(key), CurrentVcpu(env)));
}

uint64_t MapUpdate(hu_run* run, uint64_t map, uint64_t key, uint64_t value, uint64_t flags,
                   uint64_t) {
  auto& env = EnvOf(run);
  Map* m = MapOf(env, map);
  if (!m) return Neg(HU_EINVAL);
  if (hu_interp_check(run, key, m->def().key_size, 0) != HU_RUN_OK ||
      hu_interp_check(run, value, m->def().value_size, 0) != HU_RUN_OK)
    return Neg(HU_EFAULT);
  return static_cast<uint64_t>(m->Update(reinterpret_cast<const uint8_t*>(key),
                                         reinterpret_cast<const uint8_t*>(value), flags,
                                         CurrentVcpu(env)));
}

uint64_t MapDelete(hu_run* run, uint64_t map, uint64_t key, uint64_t, uint64_t, uint64_t) {
  auto& env = EnvOf(run);
  Map* m = MapOf(env, map);
  if (!m) return Neg(HU_EINVAL);
  if (hu_interp_check(run, key, m->def().key_size, 0) != HU_RUN_OK) return Neg(HU_EFAULT);
  return static_cast<uint64_t>(m->Delete(reinterpret_cast<const uint8_t*>(key)));
}

uint64_t ReadGva(hu_run* run, uint64_t dst, uint64_t size, uint64_t gva, uint64_t, uint64_t) {
  auto& env = EnvOf(run);
  if (size == 0) return 0;
  if (size > UINT32_MAX || hu_interp_check(run, dst, size, 1) != HU_RUN_OK) return Neg(HU_EFAULT);
  auto* buf = reinterpret_cast<uint8_t*>(dst);
  if (!InRegion(*env.prog, gva, size, false, HU_REGION_READ) ||
      !CopyGva(env, gva, buf, static_cast<uint32_t>(size), false)) {
    std::memset(buf, 0, size);  // no stale stack bytes mistaken for guest data
    return Neg(HU_EFAULT);
  }
  return 0;
}

uint64_t ReadGpa(hu_run* run, uint64_t dst, uint64_t size, uint64_t gpa, uint64_t, uint64_t) {
  auto& env = EnvOf(run);
  if (size == 0) return 0;
  if (size > UINT32_MAX || hu_interp_check(run, dst, size, 1) != HU_RUN_OK) return Neg(HU_EFAULT);
  auto* buf = reinterpret_cast<uint8_t*>(dst);
  if (!InRegion(*env.prog, gpa, size, true, HU_REGION_READ) ||
      !env.site->guest->mem().Read(gpa, buf, size)) {
    std::memset(buf, 0, size);
    return Neg(HU_EFAULT);
  }
  return 0;
}

uint64_t WriteGva(hu_run* run, uint64_t gva, uint64_t src, uint64_t size, uint64_t, uint64_t) {
  auto& env = EnvOf(run);
  if (!HookAllowsGuestWrite(env.prog->hook())) return Neg(HU_EPERM);
  if (size == 0) return 0;
  if (size > UINT32_MAX || hu_interp_check(run, src, size, 0) != HU_RUN_OK) return Neg(HU_EFAULT);
  if (!InRegion(*env.prog, gva, size, false, HU_REGION_WRITE)) return Neg(HU_EFAULT);
  // Every page mapped writable before a byte changes (its probe read
  // before, which let a write stop at a read-only page half done).
  if (!CopyGva(env, gva, nullptr, static_cast<uint32_t>(size), true)) return Neg(HU_EFAULT);
  auto* buf = reinterpret_cast<uint8_t*>(src);
  return CopyGva(env, gva, buf, static_cast<uint32_t>(size), true) ? 0 : Neg(HU_EFAULT);
}

uint64_t TraceOutput(hu_run* run, uint64_t data, uint64_t size, uint64_t, uint64_t, uint64_t) {
  auto& env = EnvOf(run);
  if (size == 0 || size > HU_TRACE_MAX_RECORD) return Neg(HU_E2BIG);
  if (hu_interp_check(run, data, size, 0) != HU_RUN_OK) return Neg(HU_EFAULT);
  if (!env.site->ring) return Neg(HU_ENOSPC);
  TraceRecord rec;
  rec.domid = env.site->guest->domid();
  rec.prog_id = env.prog->id();
  rec.time_ns = env.site->now_ns;
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  rec.data.assign(p, p + size);
  return env.site->ring->Push(std::move(rec)) ? 0 : Neg(HU_ENOSPC);
}

uint64_t KtimeNs(hu_run* run, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return EnvOf(run).site->now_ns;
}

uint64_t VcpuState(hu_run* run, uint64_t vcpu, uint64_t dst, uint64_t size, uint64_t, uint64_t) {
  auto& env = EnvOf(run);
  auto& vcpus = env.site->guest->vcpus();
  if (size == 0) return Neg(HU_EINVAL);
  if (hu_interp_check(run, dst, size, 1) != HU_RUN_OK) return Neg(HU_EFAULT);
  auto* buf = reinterpret_cast<uint8_t*>(dst);
  if (vcpu >= vcpus.size() || size > sizeof(hu_vcpu_state)) {
    std::memset(buf, 0, size);
    return vcpu >= vcpus.size() ? Neg(HU_ENOENT) : Neg(HU_EINVAL);
  }
  const Vcpu& v = vcpus[vcpu];
  hu_vcpu_state s{};
  s.rip = v.rip;
  s.rsp = v.rsp;
  s.rflags = v.rflags;
  s.cr3 = v.cr3;
  s.gs_base = v.gs_base;
  s.kernel_gs_base = v.kernel_gs_base;
  s.vcpu = v.id;
  s.running = v.running ? 1 : 0;
  s.cpl = v.cpl;
  std::memcpy(buf, &s, size);
  return 0;
}

// Helpers whose answer is 0 or a negative HU_E* value: each error answer
// is counted for the program (ProgramStats::helper_errors). map_lookup_elem
// (a pointer or NULL) and ktime_ns (a time) have none.
template <hu_helper_fn F>
uint64_t Counted(hu_run* run, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5) {
  const uint64_t r = F(run, r1, r2, r3, r4, r5);
  const auto v = static_cast<int64_t>(r);
  if (v < 0 && v >= -4095) ++EnvOf(run).helper_errors;
  return r;
}

const hu_helper_fn kHelpers[HU_HELPER_MAX] = {
    nullptr,          MapLookup,          Counted<MapUpdate>, Counted<MapDelete>,
    Counted<ReadGva>, Counted<ReadGpa>,   Counted<WriteGva>,  Counted<TraceOutput>,
    KtimeNs,          Counted<VcpuState>,
};

}  // namespace

// The same hooks as the verifier's platform (engine/verifier/platform.cpp):
// tlb.flush (to leave a deferred-flush mark in the guest) and mem.protect
// (to emulate or redirect a write). Everywhere else the host only reads.
bool HookAllowsGuestWrite(hu_hook_id hook) {
  return hook == HU_HOOK_TLB_FLUSH || hook == HU_HOOK_MEM_PROTECT;
}

const hu_helper_fn* HelperTable() { return kHelpers; }

}  // namespace hu::daemon::sim
