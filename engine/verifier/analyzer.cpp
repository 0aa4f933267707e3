// The work list, the per-instruction dispatch, and frames (local calls and
// exits). The transfer functions live in alu.cpp, mem.cpp, jump.cpp and
// helper.cpp.
#include "analyzer.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>

#include "hyperupcall/disasm.hpp"

namespace hu::verifier {
namespace {

// Memory for abstract states: deep call chains with many call sites could
// otherwise make a small hostile program cost the daemon gigabytes.
constexpr uint64_t kMaxStateBytes = 256ull << 20;

// The per-instruction log of a long analysis is capped like its states.
constexpr size_t kMaxLogBytes = 16u << 20;

// The time limit counts this thread's CPU time, not the wall clock: a
// program's verdict must not depend on how busy the host is (a dom0 under
// load would otherwise reject what it accepted when idle).
std::chrono::nanoseconds ThreadCpuNow() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

uint64_t Bytes(const State& st) { return st.frames.size() * sizeof(Frame); }

}  // namespace

Analyzer::Analyzer(std::span<const hu_insn> prog, const Cfg& cfg, const Options& opts,
                   const Platform& platform)
    : prog_(prog),
      cfg_(cfg),
      opts_(opts),
      platform_(platform),
      ctx_(platform.Context(opts.hook)),
      entry_(platform.Entry(opts.hook)) {}

Failure Analyzer::Fault(int32_t pc, std::string reason, const State& st,
                        std::initializer_list<int> regs) const {
  std::string s;
  for (int r : regs) {
    if (r < 0 || r >= HU_NREGS) continue;
    if (s.find("r" + std::to_string(r) + "=") != std::string::npos) continue;
    if (!s.empty()) s += ' ';
    s += "r" + std::to_string(r) + "=" + st.reg(r).ToString();
  }
  return Failure{pc, std::move(reason), std::move(s)};
}

Analyzer::Fail Analyzer::Read(int32_t pc, const State& st, int r, const char* what) const {
  const Value& v = st.reg(r);
  if (v.kind != Kind::kUninit && v.kind != Kind::kMixed) return std::nullopt;
  std::string name = "r" + std::to_string(r);
  if (what) name += std::string(" (") + what + ")";
  if (v.kind == Kind::kUninit)
    return Fault(pc,
                 name +
                     " is read before it is written (r1-r5 do not survive calls, r0 and "
                     "r6-r9 start uninitialised)",
                 st, {});
  if (v.kind == Kind::kMixed)
    return Fault(pc, name + " holds different types on different paths", st, {});
  return std::nullopt;
}

Failure Analyzer::Exhausted(int32_t pc, const State& st, const std::string& limit,
                            bool budget) const {
  const std::string raise =
      budget ? " (operator policy raises a domain's budget: verifier_budget; hu-verify --budget)"
             : "";
  // The loop to blame: of those the state is in, the one with the most
  // iterations.
  const LoopIter* best = nullptr;
  for (const Frame& f : st.frames)
    for (int i = 0; i < f.nloops; i++)
      if (best == nullptr || f.loops[i].n > best->n) best = &f.loops[i];
  if (best == nullptr) return Failure{pc, "program too complex: " + limit + " ran out" + raise, ""};
  const int32_t head = best->head;
  return Failure{head,
                 "loop not finished within " + limit + ": it had run " + std::to_string(best->n) +
                     " iterations (back edge from insn " +
                     std::to_string(cfg_.back_edge_from[head]) + "); bound it more tightly" +
                     (budget ? ", or ask for a larger budget" + raise : ""),
                 ""};
}

// Iterations are tagged so that no count is ever taken for a pc or a call
// site (both below 2^30).
constexpr int32_t kIterationTag = 1 << 30;

Analyzer::Key Analyzer::KeyOf(const State& st, int32_t pc, KeyKind kind) const {
  Key k;
  k.reserve(st.frames.size() * 2 + 1);
  for (size_t i = 0; i < st.frames.size(); i++) {
    const Frame& f = st.frames[i];
    if (i > 0) k.push_back(f.callsite);
    if (kind == KeyKind::kPlace) continue;
    for (int l = 0; l < f.nloops; l++) {
      k.push_back(f.loops[l].head);
      bool own = kind == KeyKind::kHead && i + 1 == st.frames.size() && l + 1 == f.nloops;
      if (!own)
        k.push_back(kIterationTag +
                    static_cast<int32_t>(std::min<uint32_t>(f.loops[l].n, kIterationTag - 1)));
    }
  }
  k.push_back(pc);
  return k;
}

void Analyzer::Enter(State& st, int32_t pc) const {
  Frame& f = st.top();
  while (f.nloops > 0 && !cfg_.InLoop(pc, f.loops[f.nloops - 1].head)) f.nloops--;
  if (!cfg_.loop_head[pc]) return;
  if (f.nloops > 0 && f.loops[f.nloops - 1].head == pc) {
    f.loops[f.nloops - 1].n++;  // back to the head from inside: the next iteration
  } else if (f.nloops < kMaxLoopDepth) {
    f.loops[f.nloops++] = {pc, 0};
  }
}

void Analyzer::Push(int32_t pc, State&& st) {
  Enter(st, pc);
  states_++;
  auto key = KeyOf(st, pc, KeyKind::kIterations);
  if (cur_ != kNoNode) {
    auto& parents = pending_parents_[key];
    if (std::find(parents.begin(), parents.end(), cur_) == parents.end()) parents.push_back(cur_);
  }
  auto it = pending_.find(key);
  if (it == pending_.end()) {
    state_bytes_ += Bytes(st);
    pending_.emplace(std::move(key), std::move(st));
  } else if (!st.In(it->second)) {
    it->second = Join(it->second, st);
  }
}

std::optional<Failure> Analyzer::Run(Report* report) {
  const auto start = ThreadCpuNow();
  State init;
  init.frames.emplace_back();
  Frame& f = init.frames[0];
  for (size_t i = 0; i < entry_.size() && i < 5; i++) {
    const EntryArg& a = entry_[i];
    Value& r = f.regs[i + 1];
    switch (a.type) {
      case EntryArg::Type::kNone:
        break;
      case EntryArg::Type::kCtx:
        r = Value::Ptr(Kind::kCtx, 0);
        break;
      case EntryArg::Type::kMem:
        r = Value::Ptr(Kind::kMem, static_cast<uint32_t>(i));
        break;
      case EntryArg::Type::kScalar:
        r = Value::Num(Scalar::Const(a.value));
        break;
    }
  }
  f.regs[HU_REG_FP] = Value::Ptr(Kind::kStack, 0);
  Push(0, std::move(init));

  std::vector<Succ> out;
  Fail fail;
  while (!pending_.empty() && !fail) {
    auto node = pending_.extract(pending_.begin());
    int32_t pc = node.key().back();
    {
      auto parents = pending_parents_.extract(node.key());
      cur_ = nodes_++;
      bound_.Started(cur_, parents ? std::move(parents.mapped()) : std::vector<uint32_t>{});
    }
    State st = std::move(node.mapped());
    state_bytes_ -= Bytes(st);
    if (state_bytes_ > kMaxStateBytes) {
      fail = Failure{pc,
                     "too complex: abstract states need more than " +
                         std::to_string(kMaxStateBytes >> 20) + " MiB",
                     ""};
      break;
    }
    if (cfg_.loop_head[pc]) {
      Key head_key = KeyOf(st, pc, KeyKind::kHead);
      auto [it, fresh] = heads_.try_emplace(KeyOf(st, pc, KeyKind::kPlace), Head{head_key, st});
      if (fresh) state_bytes_ += Bytes(st);
      // Another iteration of an enclosing loop: this loop starts afresh.
      if (!fresh && it->second.key != head_key) {
        it->second = Head{std::move(head_key), st};
        fresh = true;
      }
      State& last = it->second.st;
      if (!fresh) {
        if (st.SameContents(last)) {
          const Frame& top = st.top();
          uint32_t n = top.nloops > 0 && top.loops[top.nloops - 1].head == pc
                           ? top.loops[top.nloops - 1].n
                           : 0;
          fail = Fault(pc,
                       "loop may not terminate: iteration " + std::to_string(n) +
                           " reaches its head in the same state as the one before (nothing the "
                           "verifier tracks changes, so it cannot see the loop end; back edge "
                           "from insn " +
                           std::to_string(cfg_.back_edge_from[pc]) +
                           "): count it with a bounded counter",
                       st, {});
          break;
        }
        last = st;
      }
    }
    // Run straight-line code in place; stop where paths split or merge.
    for (;;) {
      if (++insns_ > opts_.max_states) {
        fail = Exhausted(pc, st,
                         "the verifier's budget of " + std::to_string(opts_.max_states) +
                             " instructions processed",
                         true);
        break;
      }
      if ((insns_ & 1023) == 0 && ThreadCpuNow() - start > opts_.time_limit) {
        fail = Exhausted(pc, st,
                         "the verification time limit of " +
                             std::to_string(opts_.time_limit.count()) + " ms of CPU time",
                         false);
        break;
      }
      if (opts_.log_level >= 2 && !log_full_) {
        log_ += std::to_string(pc) + ": " + Disassemble(prog_, pc) + " ; " + st.ToString() + "\n";
        if (log_.size() > kMaxLogBytes) {
          log_ += "... log truncated at " + std::to_string(kMaxLogBytes >> 20) + " MiB\n";
          log_full_ = true;
        }
      }
      out.clear();
      const size_t st_frames = st.frames.size();  // Step moves st into out
      bound_.Step(cur_);
      if ((fail = Step(pc, st, out))) break;
      if (out.size() == 1 && cfg_.preds[out[0].pc] == 1 && !cfg_.loop_head[out[0].pc] &&
          out[0].st.frames.size() == st_frames && out[0].pc > pc) {
        pc = out[0].pc;
        st = std::move(out[0].st);
        Enter(st, pc);
        continue;
      }
      for (auto& s : out) Push(s.pc, std::move(s.st));
      break;
    }
  }

  report->insns_processed = insns_;
  report->states = states_;
  if (!fail) report->worst_case_insns = bound_.Worst();
  if (have_r0_) {
    report->r0.smin = r0_.smin;
    report->r0.smax = r0_.smax;
    report->r0.umin = r0_.umin;
    report->r0.umax = r0_.umax;
  }
  if (opts_.log_level >= 1 && !fail)
    log_ += "r0 at exit: " + (have_r0_ ? r0_.ToString() : std::string("none")) + "\n";
  report->log += log_;
  return fail;
}

Analyzer::Fail Analyzer::Step(int32_t pc, State& st, std::vector<Succ>& out) {
  const hu_insn& insn = prog_[pc];
  switch (HU_CLASS(insn.code)) {
    case HU_CLS_ALU:
    case HU_CLS_ALU64:
      if (auto f = Alu(pc, insn, st)) return f;
      break;
    case HU_CLS_LD:
      if (auto f = Lddw(pc, insn, st)) return f;
      out.push_back({pc + 2, std::move(st)});
      return std::nullopt;
    case HU_CLS_LDX:
      if (auto f = Load(pc, insn, st)) return f;
      break;
    case HU_CLS_ST:
      if (auto f = Store(pc, insn, st)) return f;
      break;
    case HU_CLS_STX:
      if (HU_MODE(insn.code) == HU_MODE_ATOMIC) {
        if (auto f = Atomic(pc, insn, st)) return f;
      } else if (auto f = Store(pc, insn, st)) {
        return f;
      }
      break;
    case HU_CLS_JMP:
    case HU_CLS_JMP32: {
      uint8_t op = HU_OP(insn.code);
      if (op == HU_JMP_EXIT) return Exit(pc, st, out);
      if (op == HU_JMP_CALL) {
        if (insn.src == HU_CALL_LOCAL) return CallLocal(pc, insn, st, out);
        if (auto f = CallHelper(pc, insn, st)) return f;
        break;
      }
      return Jump(pc, insn, st, out);
    }
  }
  out.push_back({pc + 1, std::move(st)});
  return std::nullopt;
}

Analyzer::Fail Analyzer::Lddw(int32_t pc, const hu_insn& insn, State& st) {
  const hu_insn& next = prog_[pc + 1];
  Value& dst = st.reg(insn.dst);
  if (insn.src == HU_PSEUDO_NONE) {
    uint64_t v = static_cast<uint32_t>(insn.imm) |
                 (static_cast<uint64_t>(static_cast<uint32_t>(next.imm)) << 32);
    dst = Value::Num(Scalar::Const(v));
    return std::nullopt;
  }
  if (insn.imm < 0 || static_cast<size_t>(insn.imm) >= opts_.maps.size())
    return Failure{pc,
                   "map index " + std::to_string(insn.imm) + " out of range (the program has " +
                       std::to_string(opts_.maps.size()) + " maps)",
                   ""};
  uint32_t idx = static_cast<uint32_t>(insn.imm);
  if (insn.src == HU_PSEUDO_MAP_IDX) {
    dst = Value::Ptr(Kind::kMapPtr, idx);
    return std::nullopt;
  }
  // map_value[idx]+off: the first element of an array map, like global data.
  const hu_map_def& m = opts_.maps[idx];
  uint32_t off = static_cast<uint32_t>(next.imm);
  if (m.type != HU_MAP_ARRAY)
    return Failure{pc, "lddw map_value[" + std::to_string(idx) + "] needs an array map", ""};
  if (off >= m.value_size)
    return Failure{pc,
                   "lddw map_value[" + std::to_string(idx) + "]+" + std::to_string(off) +
                       " is past value_size " + std::to_string(m.value_size),
                   ""};
  // Always the same element: pointers from it are one object.
  dst = Value::Ptr(Kind::kMapValue, idx, Scalar::Const(off));
  dst.id = kValueIdBase + idx;
  return std::nullopt;
}

Analyzer::Fail Analyzer::CallLocal(int32_t pc, const hu_insn& insn, State& st,
                                   std::vector<Succ>& out) {
  if (st.frames.size() >= HU_MAX_CALL_DEPTH)
    return Fault(pc, "call depth exceeds " + std::to_string(HU_MAX_CALL_DEPTH) + " frames", st, {});
  Frame callee;
  for (int r = 1; r <= 5; r++) callee.regs[r] = st.reg(r);
  callee.regs[HU_REG_FP] = Value::Ptr(Kind::kStack, static_cast<uint32_t>(st.frames.size()));
  callee.callsite = pc;
  st.frames.push_back(std::move(callee));
  out.push_back({static_cast<int32_t>(JumpTarget(insn, pc)), std::move(st)});
  return std::nullopt;
}

Analyzer::Fail Analyzer::Exit(int32_t pc, State& st, std::vector<Succ>& out) {
  if (auto f = Read(pc, st, 0, "return value")) return f;
  const Value& r0 = st.reg(0);
  if (st.frames.size() == 1) {
    if (r0.kind != Kind::kScalar)
      return Fault(pc, "r0 at exit is a pointer: returning it would leak its address", st, {0});
    r0_ = have_r0_ ? Join(r0_, r0.s) : r0.s;
    have_r0_ = true;
    return std::nullopt;
  }
  if (r0.kind == Kind::kStack && r0.ref + 1 == st.frames.size())
    return Fault(pc, "returning a pointer to the callee's own stack (it dangles after return)", st,
                 {0});
  Value ret = r0;
  int32_t site = st.top().callsite;
  st.frames.pop_back();
  st.reg(0) = ret;
  for (int r = 1; r <= 5; r++) st.reg(r) = Value::Uninit();
  out.push_back({site + 1, std::move(st)});
  return std::nullopt;
}

}  // namespace hu::verifier
