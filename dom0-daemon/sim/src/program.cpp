#include "program.hpp"

#include <fmt/format.h>

#include <chrono>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "hyperupcall/region_rules.hpp"

namespace hu::daemon::sim {

namespace {

// The time stamp counter, as Xen counts a run's cost; 0 where there is none.
uint64_t Cycles() {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return 0;
#endif
}

Error Bad(const ProgramImage& img, const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument,
                   fmt::format("program {} ('{}'): {}", img.id, img.name, why));
}

}  // namespace

Result<std::unique_ptr<Program>> Program::Create(const ProgramImage& image, const Guest& guest,
                                                 uint64_t default_budget, uint32_t map_gap) {
  if (image.hook <= HU_HOOK_NONE || image.hook >= HU_HOOK_MAX)
    return Bad(image, fmt::format("hook id {} is not a hook of the ABI (1..{})",
                                  static_cast<int>(image.hook), HU_HOOK_MAX - 1));
  if (image.insns.empty() || image.insns.size() > kMaxInsns)
    return Bad(image, fmt::format("{} instructions; must be 1..{}", image.insns.size(), kMaxInsns));
  if (image.maps.size() > HU_MAX_MAPS)
    return Bad(image, fmt::format("{} maps; at most {}", image.maps.size(), HU_MAX_MAPS));
  if (image.regions.size() > HU_MAX_REGIONS)
    return Bad(image, fmt::format("{} regions; at most {}", image.regions.size(), HU_MAX_REGIONS));

  const uint64_t ram = guest.mem().size();
  uint64_t total = 0;
  for (size_t i = 0; i < image.regions.size(); ++i) {
    const hu_region& r = image.regions[i];
    if (const char* problem = RegionFlagsProblem(r, image.hook))
      return Bad(image, fmt::format("region {} (flags {:#x}): {}", i, r.flags, problem));
    if (r.len == 0 || r.start + r.len < r.start)
      return Bad(image,
                 fmt::format("region {}: [{:#x}, +{:#x}) is empty or wraps", i, r.start, r.len));
    if ((r.flags & HU_REGION_GPA) && r.start + r.len > ram)
      return Bad(image, fmt::format("region {}: gpa range [{:#x}, {:#x}) beyond guest RAM {:#x}", i,
                                    r.start, r.start + r.len, ram));
    total += r.len;
  }
  if (total * 100 > ram * HU_REGION_RAM_PERCENT)
    return Bad(image, fmt::format("regions cover {} bytes, more than {}% of guest RAM ({} bytes)",
                                  total, HU_REGION_RAM_PERCENT, ram * HU_REGION_RAM_PERCENT / 100));

  std::unique_ptr<Program> p(new Program());
  p->image_ = image;
  for (const MapSpec& spec : image.maps) {
    auto m = Map::Create(spec, static_cast<uint32_t>(guest.config().vcpus), map_gap);
    if (!m.ok()) return Bad(image, m.error().message);
    p->maps_.push_back(std::move(*m));
  }

  // Map references become tokens (or, for src=MAP_IDX_VALUE, addresses of
  // the array's value memory), plain lddw immediates for the interpreter.
  p->insns_ = image.insns;
  auto& ins = p->insns_;
  for (size_t pc = 0; pc < ins.size(); ++pc) {
    if (ins[pc].code != (HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW)) continue;
    if (pc + 1 >= ins.size())
      return Bad(image, fmt::format("insn {}: lddw without its second slot", pc));
    const uint32_t src = ins[pc].src;
    uint64_t value;
    if (src == HU_PSEUDO_NONE) {
      ++pc;
      continue;
    } else if (src == HU_PSEUDO_MAP_IDX || src == HU_PSEUDO_MAP_IDX_VALUE) {
      const uint32_t idx = static_cast<uint32_t>(ins[pc].imm);
      if (idx >= p->maps_.size())
        return Bad(image, fmt::format("insn {}: map index {} out of range (program has {} maps)",
                                      pc, idx, p->maps_.size()));
      if (src == HU_PSEUDO_MAP_IDX) {
        value = kMapHandleBase + idx;
      } else {
        Map& m = p->maps_[idx];
        const uint32_t off = static_cast<uint32_t>(ins[pc + 1].imm);
        if (m.def().type != HU_MAP_ARRAY || off >= m.def().value_size)
          return Bad(image, fmt::format("insn {}: value reference to map {} offset {} needs an "
                                        "array map with a larger value",
                                        pc, idx, off));
        value = reinterpret_cast<uint64_t>(m.arena()) + off;
      }
    } else {
      return Bad(image, fmt::format("insn {}: lddw src {} unsupported", pc, src));
    }
    ins[pc].src = 0;
    ins[pc].imm = static_cast<int32_t>(static_cast<uint32_t>(value));
    ins[pc + 1].imm = static_cast<int32_t>(static_cast<uint32_t>(value >> 32));
    ++pc;
  }

  p->mem_regions_.push_back({});  // the context, filled in per run
  for (Map& m : p->maps_)
    p->mem_regions_.push_back({reinterpret_cast<uint64_t>(m.arena()), m.arena_size(), 1, 0});
  p->stack_.assign(HU_STACK_FRAME * HU_MAX_CALL_DEPTH, 0);
  p->budget_ = image.run_budget ? image.run_budget : default_budget;
  if (image.jit != JitMode::kOff) {
    // Blinded with a fresh key, as in Xen. A translation that fails (no
    // executable memory near the helpers) leaves the interpreter to run it.
    auto img = jit::Image::Compile(p->insns_, HelperTable(), HU_HELPER_MAX);
    if (img.ok()) p->jit_.emplace(std::move(*img));
  }
  return p;
}

RunOutcome Program::Run(const RunSite& site, const void* ctx, uint32_t ctx_size) {
  Env env{this, &site};
  mem_regions_[0] = {reinterpret_cast<uint64_t>(ctx), ctx_size, 0, 0};
  hu_run run{};
  run.insns = insns_.data();
  run.ninsns = static_cast<uint32_t>(insns_.size());
  run.nhelpers = HU_HELPER_MAX;
  run.helpers = HelperTable();
  run.env = &env;
  run.regions = mem_regions_.data();
  run.nregions = static_cast<uint32_t>(mem_regions_.size());
  run.stack_size = static_cast<uint32_t>(stack_.size());
  run.stack = stack_.data();
  run.budget = budget_;

  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t c0 = Cycles();
  const int err = jit_ ? jit_->Run(&run, reinterpret_cast<uint64_t>(ctx))
                       : hu_interp_run(&run, reinterpret_cast<uint64_t>(ctx), 0, 0);
  stats_.cycles += Cycles() - c0;
  const auto t1 = std::chrono::steady_clock::now();

  ++stats_.runs;
  if (jit_) ++stats_.jit_runs;
  stats_.insns += run.executed;
  stats_.helper_errors += env.helper_errors;
  stats_.run_ns +=
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
  RunOutcome out;
  out.err = err;
  if (err == HU_RUN_OK) {
    out.ok = true;
    out.r0 = run.r0;
    stats_.last_result = run.r0;
  } else if (err == HU_RUN_BUDGET) {
    ++stats_.budget_aborts;
  } else {
    ++stats_.errors;
  }
  return out;
}

}  // namespace hu::daemon::sim
