#include "cfg.hpp"

#include <algorithm>
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

// The loop forest of Cfg: heads from the innermost out (decreasing DFS
// preorder: an inner head is discovered after its outer one); each loop's
// code is found backwards from its back edges, stopping at its head and at
// code discovered before it (a jump into a loop's middle from outside, in an
// irreducible graph, does not drag the code before the loop in). Code that
// already belongs to an inner loop makes that loop a child of this one.
void BuildLoopForest(Cfg* cfg, const std::vector<int32_t>& preorder) {
  const int32_t n = static_cast<int32_t>(cfg->succ.size());
  cfg->loop_of.assign(n, -1);
  cfg->loop_parent.assign(n, -1);
  std::vector<std::vector<int32_t>> preds(n);
  for (int32_t pc = 0; pc < n; pc++)
    for (int32_t t : cfg->succ[pc]) preds[t].push_back(pc);
  std::vector<int32_t> heads;
  for (int32_t pc = 0; pc < n; pc++)
    if (cfg->loop_head[pc]) heads.push_back(pc);
  std::sort(heads.begin(), heads.end(),
            [&](int32_t a, int32_t b) { return preorder[a] > preorder[b]; });
  // rep[x]: the outermost loop found so far that x belongs to, or x.
  std::vector<int32_t> rep(n);
  for (int32_t pc = 0; pc < n; pc++) rep[pc] = pc;
  auto find = [&](int32_t x) {
    while (rep[x] != x) x = rep[x] = rep[rep[x]];
    return x;
  };
  std::vector<int32_t> stack;
  for (int32_t h : heads) {
    cfg->loop_of[h] = h;
    stack.clear();
    for (int32_t p : preds[h])
      if (std::find(cfg->back_to[p].begin(), cfg->back_to[p].end(), h) != cfg->back_to[p].end())
        stack.push_back(p);
    while (!stack.empty()) {
      int32_t x = find(stack.back());
      stack.pop_back();
      if (x == h || preorder[x] < preorder[h]) continue;
      if (cfg->loop_of[x] == x) {
        cfg->loop_parent[x] = h;  // an inner loop's head
      } else {
        cfg->loop_of[x] = h;
      }
      rep[x] = h;
      for (int32_t p : preds[x]) stack.push_back(p);
    }
  }
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
  std::vector<int32_t> preorder(n, -1);
  int32_t discovered = 0;
  std::vector<std::pair<int32_t, size_t>> stack{{0, 0}};
  color[0] = 1;
  preorder[0] = discovered++;
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
      preorder[t] = discovered++;
      stack.push_back({t, 0});
    }
  }
  for (int32_t pc = 0; pc < n; pc++)
    if (!cfg->second_slot[pc] && color[pc] == 0) return Failure{pc, "unreachable instruction", ""};
  BuildLoopForest(cfg, preorder);
  return std::nullopt;
}

}  // namespace hu::verifier
