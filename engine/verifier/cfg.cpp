#include "cfg.hpp"

#include <string>

#include "hyperupcall/decode.hpp"

namespace hu::verifier {

bool IsCondJump(const hu_insn& insn) {
  uint8_t cls = HU_CLASS(insn.code), op = HU_OP(insn.code);
  return (cls == HU_CLS_JMP || cls == HU_CLS_JMP32) && op != HU_JMP_JA && op != HU_JMP_CALL &&
         op != HU_JMP_EXIT;
}

int64_t JumpTarget(const hu_insn& insn, int32_t pc) {
  bool long_ja = HU_CLASS(insn.code) == HU_CLS_JMP32 && HU_OP(insn.code) == HU_JMP_JA;
  bool call = HU_OP(insn.code) == HU_JMP_CALL;
  return static_cast<int64_t>(pc) + 1 + (long_ja || call ? insn.imm : insn.off);
}

namespace {

bool IsLddw(const hu_insn& insn) { return insn.code == (HU_CLS_LD | HU_MODE_IMM | HU_SIZE_DW); }

// Checks the verifier adds to the opcode table's: features it refuses.
std::optional<std::string> Unsupported(const hu_insn& insn) {
  uint8_t cls = HU_CLASS(insn.code);
  if (cls == HU_CLS_LD && !IsLddw(insn))
    return "legacy packet access (ld abs/ind) is not supported";
  if (IsLddw(insn) && insn.src != HU_PSEUDO_NONE && insn.src != HU_PSEUDO_MAP_IDX &&
      insn.src != HU_PSEUDO_MAP_IDX_VALUE)
    return "lddw src=" + std::to_string(insn.src) + " is not supported (only 0, 1 and 5)";
  if (cls == HU_CLS_JMP && HU_OP(insn.code) == HU_JMP_CALL) {
    if (insn.src == HU_CALL_BTF) return "calls by BTF id (kfuncs) are not supported";
  }
  return std::nullopt;
}

}  // namespace

std::optional<Failure> BuildCfg(std::span<const hu_insn> prog, Cfg* cfg) {
  const int32_t n = static_cast<int32_t>(prog.size());
  cfg->succ.assign(n, {});
  cfg->preds.assign(n, 0);
  cfg->second_slot.assign(n, false);
  cfg->loop_head.assign(n, false);
  cfg->back_edge_from.assign(n, -1);
  cfg->back_to.assign(n, {});

  for (int32_t pc = 0; pc < n; pc++) {
    const hu_insn& insn = prog[pc];
    const hu_insn* next = pc + 1 < n ? &prog[pc + 1] : nullptr;
    if (Status st = ValidateInsn(insn, next); !st.ok()) return Failure{pc, st.error().message, ""};
    if (auto why = Unsupported(insn)) return Failure{pc, *why, ""};
    if (IsLddw(insn)) cfg->second_slot[++pc] = true;
  }

  for (int32_t pc = 0; pc < n; pc++) {
    if (cfg->second_slot[pc]) continue;
    const hu_insn& insn = prog[pc];
    uint8_t cls = HU_CLASS(insn.code), op = HU_OP(insn.code);
    auto& s = cfg->succ[pc];
    int32_t fall = pc + (IsLddw(insn) ? 2 : 1);
    bool jmp = cls == HU_CLS_JMP || cls == HU_CLS_JMP32;
    bool ends = jmp && (op == HU_JMP_EXIT || op == HU_JMP_JA);
    if (!ends) {
      if (fall >= n)
        return Failure{pc, "falls off the end of the program (last insn must be exit or ja)", ""};
      s.push_back(fall);
    }
    if (jmp && op != HU_JMP_EXIT && (op != HU_JMP_CALL || insn.src == HU_CALL_LOCAL)) {
      int64_t t = JumpTarget(insn, pc);
      const char* what = op == HU_JMP_CALL ? "call" : "jump";
      if (t < 0 || t >= n)
        return Failure{pc,
                       std::string(what) + " target " + std::to_string(t) +
                           " outside the program [0, " + std::to_string(n) + ")",
                       ""};
      if (cfg->second_slot[t])
        return Failure{
            pc, std::string(what) + " target " + std::to_string(t) + " is the middle of an lddw",
            ""};
      if (t != fall || ends) s.push_back(static_cast<int32_t>(t));
    }
    for (int32_t t : s) cfg->preds[t]++;
  }

  // Depth-first search from the entry: reachability and back edges.
  std::vector<uint8_t> color(n, 0);  // 0 new, 1 on the stack, 2 done
  std::vector<std::pair<int32_t, size_t>> stack{{0, 0}};
  color[0] = 1;
  while (!stack.empty()) {
    auto& [pc, i] = stack.back();
    if (i == cfg->succ[pc].size()) {
      color[pc] = 2;
      stack.pop_back();
      continue;
    }
    int32_t t = cfg->succ[pc][i++];
    if (color[t] == 1) {
      cfg->loop_head[t] = true;
      if (cfg->back_edge_from[t] < 0) cfg->back_edge_from[t] = pc;
      cfg->back_to[pc].push_back(t);
    } else if (color[t] == 0) {
      color[t] = 1;
      stack.push_back({t, 0});
    }
  }
  for (int32_t pc = 0; pc < n; pc++)
    if (!cfg->second_slot[pc] && color[pc] == 0) return Failure{pc, "unreachable instruction", ""};
  return std::nullopt;
}

}  // namespace hu::verifier
