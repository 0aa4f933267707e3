// The forward analyzer. States are keyed by (call chain, pc) and processed
// in order of that key, so in loop-free code every predecessor of a merge
// point is done before it and the states that reach it are joined once.
// A back edge reaches a smaller key: the loop is unrolled one iteration at
// a time, until every path leaves it. A loop whose head state repeats is
// rejected; after many iterations the head state is widened, which makes a
// loop that would not end reach a repeated state quickly. Nothing is ever
// discarded as "already seen" across a back edge, so when the work list
// empties, every execution has been followed to an exit: that is the
// termination proof.
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
  void StackWrite(Frame& f, int64_t lo, int64_t hi, uint32_t size, const Value& v);
  Fail Bounds(int32_t pc, const Value& ptr, int reg, int64_t lo, int64_t hi, uint32_t size,
              bool write);

  Fail Read(int32_t pc, const State& st, int r, const char* what = nullptr) const;
  Failure Fault(int32_t pc, std::string reason, const State& st,
                std::initializer_list<int> regs) const;
  std::vector<int32_t> Key(const State& st, int32_t pc) const;
  // `from`: the instruction the state comes from (-1: entry or a return).
  void Push(int32_t pc, State&& st, int32_t from);

  std::span<const hu_insn> prog_;
  const Cfg& cfg_;
  const Options& opts_;
  const Platform& platform_;
  const ContextLayout* ctx_;
  std::vector<EntryArg> entry_;

  std::map<std::vector<int32_t>, State> pending_;
  std::map<std::vector<int32_t>, State> heads_;  // last state at each loop head
  // Iterations of each loop head since it was last entered from outside.
  std::map<std::vector<int32_t>, uint64_t> iterations_;
  bool have_r0_ = false;
  Scalar r0_;
  uint64_t insns_ = 0, states_ = 0;
  uint64_t state_bytes_ = 0;  // held in pending_ and heads_
  std::string log_;
  bool log_full_ = false;
};

}  // namespace hu::verifier
