// The forward analyzer. States are keyed by call chain, the iteration of
// every loop they are in, and pc, and processed in the order of that key:
// in loop-free code every predecessor of a merge point is done before it
// and the states that reach it are joined once; a loop runs one iteration
// at a time, each to its end before the next, and iterations are never
// joined with each other (their exits are, after the loop). A loop whose
// head state repeats is rejected; so is one still running when the budget
// of instructions processed (Options::max_states) is spent, naming it.
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
#include "worst_case.hpp"

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
  // The budget or the time limit ran out at `pc` in state `st`: names the
  // loop that was running, if one was.
  Failure Exhausted(int32_t pc, const State& st, const std::string& limit, bool budget) const;
  Failure Fault(int32_t pc, std::string reason, const State& st,
                std::initializer_list<int> regs) const;
  // Where states wait: the call chain, the iteration of every loop they
  // are in, and pc (kIterations). A loop head's previous iteration is
  // under kPlace (call chain and pc), with its kHead key (the iteration of
  // every enclosing loop): one entry per head, replaced when an enclosing
  // loop moves on, as iterations run in order.
  enum class KeyKind { kIterations, kHead, kPlace };
  Key KeyOf(const State& st, int32_t pc, KeyKind kind) const;
  // The state moves to `pc`: leaves the loops of its frame that pc is not
  // in, and starts or counts an iteration when pc is a loop head.
  void Enter(State& st, int32_t pc) const;
  // Waits at `pc` (joined with the state waiting there).
  void Push(int32_t pc, State&& st);

  std::span<const hu_insn> prog_;
  const Cfg& cfg_;
  const Options& opts_;
  const Platform& platform_;
  const ContextLayout* ctx_;
  std::vector<EntryArg> entry_;

  std::map<Key, State> pending_;
  // The nodes whose states each waiting state holds (worst_case.hpp), and
  // the node running now (kNoNode before the entry's).
  std::map<Key, std::vector<uint32_t>> pending_parents_;
  static constexpr uint32_t kNoNode = UINT32_MAX;
  uint32_t cur_ = kNoNode;
  uint32_t nodes_ = 0;
  PathBound bound_;
  struct Head {
    Key key;  // kHead
    State st;
  };
  std::map<Key, Head> heads_;  // last state at each loop head, by kPlace
  bool have_r0_ = false;
  Scalar r0_;
  uint64_t insns_ = 0, states_ = 0;
  uint64_t state_bytes_ = 0;  // held in pending_ and heads_
  std::string log_;
  bool log_full_ = false;
  // Per frame depth and stack byte: the last instruction that may have
  // written it at a variable offset without surely doing so (-1: none), to
  // say why a later read finds it uninitialised.
  std::vector<int32_t> var_write_pc_ = std::vector<int32_t>(HU_MAX_CALL_DEPTH * HU_STACK_FRAME, -1);
};

}  // namespace hu::verifier
