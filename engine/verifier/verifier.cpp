// The public entry point: limits, front end, analyzer, and the one-line
// explanation of a rejection.
#include "hyperupcall/verifier.hpp"

#include <chrono>

#include "analyzer.hpp"
#include "cfg.hpp"
#include "hyperupcall/disasm.hpp"
#include "platform.hpp"

namespace hu::verifier {
namespace {

std::string Render(std::span<const hu_insn> prog, const Failure& f) {
  std::string s;
  if (f.pc >= 0 && static_cast<size_t>(f.pc) < prog.size())
    s = "insn " + std::to_string(f.pc) + " `" + Disassemble(prog, static_cast<size_t>(f.pc)) +
        "`: ";
  s += f.reason;
  if (!f.regs.empty()) s += ": " + f.regs;
  return s;
}

}  // namespace

const char* HookName(hu_hook_id hook) {
  switch (hook) {
    case HU_HOOK_MEM_RECLAIM:
      return "mem.reclaim";
    case HU_HOOK_TLB_FLUSH:
      return "tlb.flush";
    case HU_HOOK_SCHED_PREEMPT:
      return "sched.preempt";
    case HU_HOOK_TRACE_EXIT:
      return "trace.exit";
    case HU_HOOK_MEM_PROTECT:
      return "mem.protect";
    default:
      return "";
  }
}

hu_hook_id HookFromName(std::string_view name) {
  for (int h = HU_HOOK_NONE + 1; h < HU_HOOK_MAX; h++)
    if (name == HookName(static_cast<hu_hook_id>(h))) return static_cast<hu_hook_id>(h);
  return HU_HOOK_NONE;
}

Report Verify(std::span<const hu_insn> prog, const Options& opts) {
  if (HookName(opts.hook)[0] == '\0') {
    Report r;
    r.error = "unknown hook id " + std::to_string(static_cast<int>(opts.hook));
    return r;
  }
  return Verify(prog, opts, HookPlatform());
}

Report Verify(std::span<const hu_insn> prog, const Options& opts, const Platform& platform) {
  auto start = std::chrono::steady_clock::now();
  Report report;
  auto finish = [&](const std::optional<Failure>& f) {
    report.accepted = !f.has_value();
    if (f) {
      report.error = Render(prog, *f);
      report.error_pc = f->pc;
      if (opts.log_level >= 1) report.log += report.error + "\n";
    }
    report.elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (opts.log_level >= 1)
      report.log += "processed " + std::to_string(report.insns_processed) + " insns, " +
                    std::to_string(report.states) + " states, in " +
                    std::to_string(report.elapsed_ms) + " ms\n";
    return report;
  };
  if (prog.empty()) return finish(Failure{-1, "empty program", ""});
  if (prog.size() > opts.max_insns)
    return finish(Failure{-1,
                          "program has " + std::to_string(prog.size()) +
                              " instructions, the limit is " + std::to_string(opts.max_insns),
                          ""});
  if (platform.Context(opts.hook) == nullptr && !platform.Entry(opts.hook).empty()) {
    for (const EntryArg& a : platform.Entry(opts.hook))
      if (a.type == EntryArg::Type::kCtx) return finish(Failure{-1, "unknown hook", ""});
  }
  if (opts.maps.size() > HU_MAX_MAPS)
    return finish(Failure{-1,
                          "the program declares " + std::to_string(opts.maps.size()) +
                              " maps, the limit is " + std::to_string(HU_MAX_MAPS),
                          ""});
  for (size_t i = 0; i < opts.maps.size(); i++) {
    const hu_map_def& m = opts.maps[i];
    std::string bad;
    if (m.type != HU_MAP_HASH && m.type != HU_MAP_ARRAY && m.type != HU_MAP_PERVCPU_ARRAY)
      bad = "unknown type " + std::to_string(m.type);
    else if (m.key_size == 0 || m.key_size > HU_MAP_MAX_KEY)
      bad = "key_size " + std::to_string(m.key_size) + " outside [1, " +
            std::to_string(HU_MAP_MAX_KEY) + "]";
    else if (m.type != HU_MAP_HASH && m.key_size != 4)
      bad = "array maps have 4-byte keys, not " + std::to_string(m.key_size);
    else if (m.value_size == 0 || m.value_size > HU_MAP_MAX_VALUE)
      bad = "value_size " + std::to_string(m.value_size) + " outside [1, " +
            std::to_string(HU_MAP_MAX_VALUE) + "]";
    else if (m.max_entries == 0 || m.max_entries > HU_MAP_MAX_ENTRIES)
      bad = "max_entries " + std::to_string(m.max_entries) + " outside [1, " +
            std::to_string(HU_MAP_MAX_ENTRIES) + "]";
    if (!bad.empty()) return finish(Failure{-1, "map " + std::to_string(i) + ": " + bad, ""});
  }
  Cfg cfg;
  if (auto f = BuildCfg(prog, &cfg)) return finish(f);
  Analyzer analyzer(prog, cfg, opts, platform);
  return finish(analyzer.Run(&report));
}

}  // namespace hu::verifier
