#include "guest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "page_tables.hpp"

namespace hu::daemon::sim {

using namespace layout;

Guest::Guest(const GuestConfig& config) : config_(config), mem_(uint64_t{config.memory_mib} << 20) {
  const uint64_t frames = mem_.frames();
  pinned_.assign(frames, false);
  frame_state_.assign(frames, FrameState::kResident);
  for (uint64_t g = 0; g < kLowReservedFrames; ++g) pinned_[g] = true;
  for (uint64_t g = kKernelPhys >> kPageShift; g < (kImageEndPhys >> kPageShift) + kBootPoolFrames;
       ++g)
    pinned_[g] = true;
  boot_next_ = kImageEndPhys >> kPageShift;

  vcpus_.resize(config.vcpus);
  for (uint32_t i = 0; i < config.vcpus; ++i) vcpus_[i].id = i;

  BuildKernelData();
  BuildPageTables();
}

std::string Guest::uuid() const {
  if (!config_.uuid.empty()) return config_.uuid;
  return fmt::format("00000000-0000-4000-8000-{:012x}", config_.domid);
}

uint64_t Guest::BootAlloc() {
  const uint64_t limit = (kImageEndPhys >> kPageShift) + kBootPoolFrames;
  if (boot_next_ >= limit) throw std::logic_error("sim: guest boot page pool exhausted");
  mem_.ZeroFrame(boot_next_);
  return boot_next_++;
}

void Guest::AddSymbol(const std::string& name, uint64_t addr, char type) {
  symbols_[name] = addr;
  kallsyms_.emplace_back(addr, fmt::format("{:016x} {} {}", addr, type, name));
}

void Guest::BuildKernelData() {
  const uint64_t frames = mem_.frames();
  AddSymbol("pcpu_hot", kPcpuHot, 'D');
  AddSymbol("cpu_tlbstate", kCpuTlbstate, 'D');
  AddSymbol("cpu_tlbstate_shared", kCpuTlbstateShared, 'D');
  AddSymbol("spin_lock_depth", kSpinLockDepth, 'D');
  AddSymbol("_text", kText, 'T');
  AddSymbol("_stext", kText, 'T');
  AddSymbol("_raw_spin_lock", kText + kRawSpinLockOff, 'T');
  AddSymbol("_raw_spin_unlock", kText + kRawSpinUnlockOff, 'T');
  AddSymbol("default_idle", kText + kDefaultIdleOff, 'T');
  AddSymbol("native_flush_tlb_multi", kText + kFlushTlbMultiOff, 'T');
  AddSymbol("hypercall_page", kText + kHypercallPageOff, 'T');
  AddSymbol("exc_page_fault", kText + kExcPageFaultOff, 'T');
  AddSymbol("text_poke", kText + kTextPokeOff, 'T');
  AddSymbol("text_poke_end", kText + kTextPokeEndOff, 'T');
  AddSymbol("memcpy", kText + kMemcpyOff, 'T');
  AddSymbol("schedule", kText + kScheduleOff, 'T');
  AddSymbol("_etext", kText + kTextSize, 'T');
  AddSymbol("__start_ro_after_init", kRoAfterInit, 'D');
  AddSymbol("sys_call_table", kRoAfterInit, 'D');
  AddSymbol("__end_ro_after_init", kRoAfterInit + kRoAfterInitSize, 'D');
  AddSymbol("_sdata", kData, 'D');
  AddSymbol("max_pfn", kData + kMaxPfnOff, 'D');
  AddSymbol("__per_cpu_offset", kData + kPerCpuOffsetOff, 'D');
  AddSymbol("page_free_bitmap", kData + kFreeBitmapOff, 'D');
  AddSymbol("pcpu_areas", kData + kPcpuAreasOff, 'D');
  AddSymbol("init_task", kData + kInitTaskOff, 'D');
  AddSymbol("_edata", kData + kDataSize, 'D');
  std::sort(kallsyms_.begin(), kallsyms_.end());

  // Text: int3 everywhere, so nothing mistakes it for data.
  std::vector<uint8_t> int3(kTextSize, 0xcc);
  mem_.Write(ImageGpa(kText), int3.data(), int3.size());
  // ro_after_init: a syscall table pointing into text.
  for (uint64_t i = 0; i < 512; ++i)
    mem_.Put<uint64_t>(ImageGpa(kRoAfterInit) + 8 * i, kText + 0x10000 + 0x40 * i);

  mem_.Put<uint64_t>(ImageGpa(kData + kMaxPfnOff), frames);
  for (uint32_t cpu = 0; cpu < config_.vcpus; ++cpu) {
    const uint64_t area = kData + kPcpuAreasOff + cpu * kPcpuAreaSize;
    mem_.Put<uint64_t>(ImageGpa(kData + kPerCpuOffsetOff) + 8 * cpu, area);
    mem_.Put<uint32_t>(PercpuGpa(cpu, kPcpuHot + kHotCpuNumber), cpu);
    vcpus_[cpu].gs_base = area;
  }
  // Every frame starts free except what the kernel owns.
  for (uint64_t g = 0; g < frames; ++g) SetFree(g, !pinned_[g]);
}

void Guest::BuildPageTables() {
  PageTableBuilder b(mem_, [this] { return BootAlloc(); });
  kernel_cr3_ = b.NewRoot();
  // Direct map of all RAM with 2 MiB pages, NX, as Linux's init_mem_mapping.
  b.Map2M(kernel_cr3_, kDirectMap, 0, mem_.size(), kPteWrite | kPteGlobal | kPteNx);
  // Kernel image with 4 KiB pages: text RX, ro_after_init RO, data RW NX.
  b.Map4K(kernel_cr3_, kText, ImageGpa(kText), kTextSize, kPteGlobal);
  b.Map4K(kernel_cr3_, kRoAfterInit, ImageGpa(kRoAfterInit), kRoAfterInitSize, kPteGlobal | kPteNx);
  b.Map4K(kernel_cr3_, kData, ImageGpa(kData), kDataSize, kPteWrite | kPteGlobal | kPteNx);

  // One process per vCPU: its own PML4 sharing the kernel half, and a few
  // user pages at 0x400000 from the page allocator.
  uint64_t next_user = kLowReservedFrames;
  for (uint32_t p = 0; p < config_.vcpus; ++p) {
    const uint64_t root = b.NewRoot();
    b.ShareUpper(kernel_cr3_, root, 256);
    for (uint64_t i = 0; i < 4; ++i) {
      while (!IsFree(next_user)) ++next_user;
      SetFree(next_user, false);
      mem_.Put<uint64_t>(next_user << kPageShift, 0x5553455200000000ull | (p << 8) | i);
      b.Map4K(root, 0x400000 + i * kPageSize, next_user << kPageShift, kPageSize,
              kPteWrite | kPteUser);
    }
    process_cr3_.push_back(root);
    vcpus_[p].process = p;
    vcpus_[p].cr3 = root;
    vcpus_[p].rip = kText + kScheduleOff;
    vcpus_[p].rsp = kData + kTasksOff + p * kPageSize + kPageSize - 64;
    SetCurrentTask(p, TaskAddress(p));
  }
}

std::string Guest::Kallsyms() const {
  std::string out;
  for (const auto& [addr, line] : kallsyms_) out += line + "\n";
  return out;
}

bool Guest::IsFree(uint64_t gfn) const {
  if (gfn >= mem_.frames()) return false;
  const uint8_t byte = mem_.Get<uint8_t>(ImageGpa(kData + kFreeBitmapOff) + gfn / 8);
  return (byte >> (gfn % 8)) & 1;
}

void Guest::SetFree(uint64_t gfn, bool free) {
  if (gfn >= mem_.frames()) return;
  const uint64_t gpa = ImageGpa(kData + kFreeBitmapOff) + gfn / 8;
  uint8_t byte = mem_.Get<uint8_t>(gpa);
  byte = free ? (byte | (1u << (gfn % 8))) : (byte & ~(1u << (gfn % 8)));
  mem_.Put<uint8_t>(gpa, byte);
}

uint64_t Guest::PercpuGpa(uint32_t cpu, uint64_t var_offset) const {
  return ImageGpa(kData + kPcpuAreasOff + cpu * kPcpuAreaSize + var_offset);
}
uint32_t Guest::PreemptCount(uint32_t cpu) const {
  return mem_.Get<uint32_t>(PercpuGpa(cpu, kPcpuHot + kHotPreemptCount));
}
uint32_t Guest::SpinDepth(uint32_t cpu) const {
  return mem_.Get<uint32_t>(PercpuGpa(cpu, kSpinLockDepth));
}
bool Guest::LazyTlb(uint32_t cpu) const {
  return mem_.Get<uint8_t>(PercpuGpa(cpu, kCpuTlbstateShared)) != 0;
}
void Guest::SetPreemptCount(uint32_t cpu, uint32_t v) {
  mem_.Put<uint32_t>(PercpuGpa(cpu, kPcpuHot + kHotPreemptCount), v);
}
void Guest::SetSpinDepth(uint32_t cpu, uint32_t v) {
  mem_.Put<uint32_t>(PercpuGpa(cpu, kSpinLockDepth), v);
}
void Guest::SetLazyTlb(uint32_t cpu, bool lazy) {
  mem_.Put<uint8_t>(PercpuGpa(cpu, kCpuTlbstateShared), lazy ? 1 : 0);
}
void Guest::SetCurrentTask(uint32_t cpu, uint64_t task) {
  mem_.Put<uint64_t>(PercpuGpa(cpu, kPcpuHot + kHotCurrentTask), task);
}
uint64_t Guest::TaskAddress(uint32_t process) const {
  return kData + kTasksOff + uint64_t{process} * kPageSize;
}

}  // namespace hu::daemon::sim
