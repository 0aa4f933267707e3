// Where things live in a simulated guest: the same virtual layout as an
// x86-64 Linux guest (direct map, kernel image mapping), and the small
// kernel data the policies read. Policies never see these constants; they
// find the addresses in the guest's kallsyms, like a real guest tool does.
#pragma once

#include <cstdint>

namespace hu::daemon::sim::layout {

inline constexpr uint64_t kDirectMap = 0xffff888000000000ull;  // __PAGE_OFFSET
inline constexpr uint64_t kKernelMap = 0xffffffff80000000ull;  // __START_KERNEL_map
inline constexpr uint64_t kKernelPhys = 0x1000000ull;          // 16 MiB, as Linux
inline constexpr uint64_t kText = kKernelMap + kKernelPhys;    // _text
inline constexpr uint64_t kTextSize = 0x100000;
inline constexpr uint64_t kRoAfterInit = kText + kTextSize;  // __start_ro_after_init
inline constexpr uint64_t kRoAfterInitSize = 0x10000;
inline constexpr uint64_t kData = kText + 0x200000;  // _sdata
inline constexpr uint64_t kDataSize = 0x100000;
inline constexpr uint64_t kImageEndPhys = kKernelPhys + 0x300000;
inline constexpr uint64_t kBootPoolFrames = 256;               // page tables, after the image
inline constexpr uint64_t kLowReservedFrames = 256;            // first MiB (BIOS, real mode)
inline constexpr uint64_t kModuleRip = 0xffffffffc0001234ull;  // a module's code

// Kernel data, offsets from kData.
inline constexpr uint64_t kMaxPfnOff = 0x0;         // unsigned long max_pfn
inline constexpr uint64_t kPerCpuOffsetOff = 0x40;  // unsigned long __per_cpu_offset[NR_CPUS]
inline constexpr uint32_t kNrCpus = 64;
inline constexpr uint64_t kFreeBitmapOff = 0x1000;  // page_free_bitmap: bit set = free
inline constexpr uint64_t kPcpuAreasOff = 0x10000;  // per-CPU areas, one page each
inline constexpr uint64_t kPcpuAreaSize = 0x1000;
inline constexpr uint64_t kInitTaskOff = 0x60000;  // init_task (the idle task)
inline constexpr uint64_t kTasksOff = 0x61000;     // one task_struct page per process

// Per-CPU variables: offsets inside a per-CPU area, which are also their
// kallsyms "addresses" (gs_base + offset = this CPU's copy), as in Linux.
inline constexpr uint64_t kPcpuHot = 0x0;             // struct pcpu_hot
inline constexpr uint64_t kHotCurrentTask = 0x0;      //   current_task (u64)
inline constexpr uint64_t kHotPreemptCount = 0x8;     //   preempt_count (u32)
inline constexpr uint64_t kHotCpuNumber = 0xc;        //   cpu_number (u32)
inline constexpr uint64_t kCpuTlbstate = 0x40;        // struct tlb_state: loaded_mm (u64)
inline constexpr uint64_t kCpuTlbstateShared = 0x80;  // struct tlb_state_shared: is_lazy (u8)
inline constexpr uint64_t kSpinLockDepth = 0xc0;      // u32: spinlocks this CPU holds

// Text symbols, offsets from kText.
inline constexpr uint64_t kRawSpinLockOff = 0x1000;
inline constexpr uint64_t kRawSpinUnlockOff = 0x1100;
inline constexpr uint64_t kDefaultIdleOff = 0x2000;
inline constexpr uint64_t kFlushTlbMultiOff = 0x3000;
inline constexpr uint64_t kHypercallPageOff = 0x4000;
inline constexpr uint64_t kExcPageFaultOff = 0x5000;
inline constexpr uint64_t kTextPokeOff = 0x6000;
inline constexpr uint64_t kTextPokeEndOff = 0x6400;
inline constexpr uint64_t kMemcpyOff = 0x7000;
inline constexpr uint64_t kScheduleOff = 0x8000;

}  // namespace hu::daemon::sim::layout
