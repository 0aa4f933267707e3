// Loader warnings: things a guest admin most likely got wrong, which the
// daemon would still accept (the verifier checks safety, not intent).
#include <array>
#include <cstdio>
#include <map>
#include <set>

#include "hyperupcall/guest/hooks.hpp"
#include "tool.hpp"

namespace hu::guest::tool {

namespace {

// The context struct abi.h defines for a hook: mem.reclaim ->
// hu_ctx_mem_reclaim.
std::string HookContext(hu_hook_id hook) {
  std::string s = std::string("hu_ctx_") + HookName(hook);
  for (char& c : s)
    if (c == '.') c = '_';
  return s;
}

// The kernel symbols whose address reaches read_gva's address argument
// (r3): a forward scan of the linked program that follows each symbol's
// lddw through register copies and constant offsets. An offset added to
// another base (a per-CPU variable) is not a read of the symbol itself, and
// a symbol only compared is not read at all. Branches are not followed:
// the scan is for a warning, not a proof. Per-CPU symbols are offsets
// (below the kernel half), added to a per-CPU base: never read themselves.
std::set<std::string> SymbolsRead(const Program& prog) {
  std::map<uint64_t, std::string> by_addr;
  for (const auto& k : prog.ksyms)
    if (k.addr >> 63) by_addr[k.addr] = k.name;
  std::array<std::string, HU_NREGS> taint;
  std::set<std::string> read;
  const auto& insns = prog.insns;
  for (size_t pc = 0; pc < insns.size(); ++pc) {
    const hu_insn& in = insns[pc];
    const uint8_t cls = HU_CLASS(in.code);
    if (in.code == (HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW) && pc + 1 < insns.size()) {
      const uint64_t v = static_cast<uint32_t>(in.imm) |
                         (static_cast<uint64_t>(static_cast<uint32_t>(insns[pc + 1].imm)) << 32);
      auto it = in.src == HU_PSEUDO_NONE ? by_addr.find(v) : by_addr.end();
      if (in.dst < HU_NREGS) taint[in.dst] = it != by_addr.end() ? it->second : "";
      ++pc;
      continue;
    }
    if (in.code == (HU_CLS_JMP | HU_JMP_CALL)) {
      if (in.src == HU_CALL_HELPER && (in.imm == HU_HELPER_READ_GVA) && !taint[3].empty())
        read.insert(taint[3]);
      for (int r = 0; r <= 5; ++r) taint[r].clear();
      continue;
    }
    if ((cls == HU_CLS_ALU64 || cls == HU_CLS_ALU) && in.dst < HU_NREGS) {
      const uint8_t op = HU_OP(in.code);
      const bool reg_src = (in.code & HU_SRC_X) != 0;
      if (op == HU_ALU_MOV) {
        taint[in.dst] = reg_src && in.src < HU_NREGS ? taint[in.src] : "";
      } else if ((op == HU_ALU_ADD || op == HU_ALU_SUB) && cls == HU_CLS_ALU64) {
        // symbol + constant or index stays the symbol; so does an index
        // plus the symbol (clang often adds the base last: r3 = i >> 3;
        // r3 += sym).
        if (op == HU_ALU_ADD && reg_src && in.src < HU_NREGS && taint[in.dst].empty())
          taint[in.dst] = taint[in.src];
      } else {
        taint[in.dst].clear();
      }
      continue;
    }
    if (cls == HU_CLS_LDX && in.dst < HU_NREGS) taint[in.dst].clear();
  }
  return read;
}

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::vector<std::string> LoadWarnings(const Program& prog, hu_hook_id hook,
                                      const std::vector<hu_region>& regions) {
  std::vector<std::string> out;
  const std::string want = HookContext(hook);
  if (!prog.ctx_struct.empty() && prog.ctx_struct != want) {
    out.push_back("program '" + prog.info.name + "' takes struct " + prog.ctx_struct +
                  " * (from its BTF), but hook " + HookName(hook) + " passes struct " + want +
                  ": its context reads are probably of the wrong fields");
  }
  const std::set<std::string> read = SymbolsRead(prog);
  for (const auto& k : prog.ksyms) {
    if (k.addr == 0 || !read.count(k.name)) continue;
    bool covered = false;
    for (const auto& r : regions) {
      if (!(r.flags & HU_REGION_GPA) && k.addr >= r.start && k.addr - r.start < r.len)
        covered = true;
    }
    if (!covered) {
      out.push_back("program '" + prog.info.name + "' reads guest memory at kernel symbol " +
                    k.name + " (" + Hex(k.addr) +
                    ") but no region covers it: read_gva there fails with -EFAULT (add --region " +
                    k.name + ":LEN, or a manifest region)");
    }
  }
  return out;
}

}  // namespace hu::guest::tool
