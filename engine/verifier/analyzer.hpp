// The forward analyzer. States are keyed by (call chain, pc) and processed
// in order of that key, so in loop-free code every predecessor of a merge
// point is done before it and the states that reach it are joined once.
// A back edge reaches a smaller key: the loop is unrolled one iteration at
// a time, until every path leaves it. A loop whose head state repeats is
// rejected; so is one still running when the budget of instructions
// processed (Options::max_states) is spent, naming the loop.
//
// Pruning: a state is dropped when one waiting at the same key covers it,
// or when an explored state at that key covers it (in the registers live
// there, and every stack) and that state's exploration is *complete*: every
// state derived from it has been explored, up to exits or to states that
// were themselves pruned against complete ones. A state that is still in
// progress (e.g. an earlier iteration of the loop we are in) never prunes:
// that is the termination proof. Completion happens strictly after the
// completion of everything a state leads to, so ordering states by the
// time they completed bounds every execution from a complete state, and
// one from a dropped state is one from the state covering it.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cfg.hpp"
#include "failure.hpp"
#include "platform.hpp"
#include "state.hpp"

namespace hu::verifier {

class Analyzer {
 public:
  Analyzer(std::span<const hu_insn> prog, const Cfg& cfg, const Options& opts,
           const Platform& platform);
  // Runs to completion; fills the statistics, r0 and the log of `report`.
  std::optional<Failure> Run(Report* report);

 private:
  using Fail = std::optional<Failure>;
  struct Succ {
    int32_t pc;
    State st;
  };
  using Key = std::vector<int32_t>;
  // A state waiting at a key, and the nodes whose successors it joins.
  struct Pending {
    State st;
    std::vector<uint32_t> parents;
  };
  // An explored state kept for pruning.
  struct Explored {
    State st;
    bool complete = false;
  };
  // One state taken from the work list and run until paths split or merge.
  // Complete once `open` (waiting states it contributed to) drops to 0.
  struct Node {
    std::vector<uint32_t> parents;
    uint32_t open = 0;
    std::vector<Explored>* saved_in = nullptr;  // where its state is kept, if it is
    uint32_t saved_at = 0;
  };

  Fail Step(int32_t pc, State& st, std::vector<Succ>& out);
  Fail Alu(int32_t pc, const hu_insn& insn, State& st);
  Fail Lddw(int32_t pc, const hu_insn& insn, State& st);
  Fail Load(int32_t pc, const hu_insn& insn, State& st);
  Fail Store(int32_t pc, const hu_insn& insn, State& st);
  Fail Atomic(int32_t pc, const hu_insn& insn, State& st);
  Fail Jump(int32_t pc, const hu_insn& insn, State& st, std::vector<Succ>& out);
  Fail CallHelper(int32_t pc, const hu_insn& insn, State& st);
  Fail CallLocal(int32_t pc, const hu_insn& insn, State& st, std::vector<Succ>& out);
  Fail Exit(int32_t pc, State& st, std::vector<Succ>& out);

  // Memory: checks an access of `size` bytes at ptr+off and performs it.
  enum class Access { kRead, kWrite, kAtomic };
  Fail Mem(int32_t pc, State& st, int base_reg, int32_t off, uint32_t size, Access how,
           const Value* stored, Value* loaded, bool sext);
  // A helper's access to [ptr, ptr + [min, max]) through register r.
  Fail HelperMem(int32_t pc, State& st, int r, uint64_t min, uint64_t max, bool write,
                 const char* helper);
  Fail StackRead(int32_t pc, const State& st, const Value& ptr, int64_t lo, int64_t hi,
                 uint32_t size, Value* loaded, bool sext, const char* who);
  // Writes v, `min` to `max` bytes wide, at an offset in [lo, hi] of the
  // frame `ptr` points to (ptr's known bits narrow the offsets).
  void StackWrite(int32_t pc, State& st, const Value& ptr, int64_t lo, int64_t hi, uint32_t min,
                  uint32_t max, const Value& v);
  Fail Bounds(int32_t pc, const Value& ptr, int reg, int64_t lo, int64_t hi, uint32_t size,
              bool write);

  Fail Read(int32_t pc, const State& st, int r, const char* what = nullptr) const;
  // The budget or the time limit ran out at `pc`: names the loop that was
  // running, if one was.
  Failure Exhausted(int32_t pc, const std::string& limit, bool budget) const;
  Failure Fault(int32_t pc, std::string reason, const State& st,
                std::initializer_list<int> regs) const;
  Key KeyOf(const State& st, int32_t pc) const;
  // `from`: the instruction the state comes from (-1: entry or a return).
  // The state comes from node `cur_` (none at entry).
  void Push(int32_t pc, State&& st, int32_t from);
  // Covered by a complete explored state at `key`.
  bool Covered(const Key& key, int32_t pc, const State& st) const;
  void Complete(uint32_t node);

  std::span<const hu_insn> prog_;
  const Cfg& cfg_;
  const Options& opts_;
  const Platform& platform_;
  const ContextLayout* ctx_;
  std::vector<EntryArg> entry_;

  std::vector<uint16_t> live_;  // live registers before each insn

  std::map<Key, Pending> pending_;
  std::map<Key, State> heads_;  // last state at each loop head
  // Per loop head: iterations since it was last entered from outside, and
  // when (insns_) it last ran one, to name the loop a budget ran out in.
  struct LoopCount {
    uint64_t iterations = 0;
    uint64_t last_seen = 0;
  };
  std::map<Key, LoopCount> iterations_;
  std::map<Key, std::vector<Explored>> explored_;
  // Per pc (any call chain): nodes started there, states kept there.
  std::vector<uint32_t> visits_, kept_;
  std::vector<Node> nodes_;
  static constexpr uint32_t kNoNode = UINT32_MAX;
  uint32_t cur_ = kNoNode;
  bool have_r0_ = false;
  Scalar r0_;
  uint64_t insns_ = 0, states_ = 0, pruned_ = 0;
  uint64_t state_bytes_ = 0;     // held in pending_ and heads_
  uint64_t explored_bytes_ = 0;  // held in explored_
  std::string log_;
  bool log_full_ = false;
  // Per frame depth and stack byte: the last instruction that may have
  // written it at a variable offset without surely doing so (-1: none), to
  // say why a later read finds it uninitialised.
  std::vector<int32_t> var_write_pc_ = std::vector<int32_t>(HU_MAX_CALL_DEPTH * HU_STACK_FRAME, -1);
};

}  // namespace hu::verifier
