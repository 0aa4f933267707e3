// The abstract machine state: a stack of call frames, each with its
// registers and its 512-byte stack. Stack bytes are tracked one by one
// (initialised or not, known zero); an aligned 8-byte slot can also hold a
// spilled register, so pointers and precise scalars survive spill and fill,
// or a narrower spilled scalar (a u32 loop counter kept on the stack
// because its address is passed to a helper, say).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hyperupcall/ebpf.h"
#include "value.hpp"

namespace hu::verifier {

enum class Byte : uint8_t {
  kInvalid,  // not written on some path: reading it is an error
  kMisc,     // written with some scalar
  kZero,     // written with zero
  kSpill,    // part of a spilled register (see Frame::SpillOff / SpillSize)
};

constexpr int kSlots = HU_STACK_FRAME / 8;

constexpr int kMaxLoopDepth = 8;  // nested loops counted per frame

// An active loop of a frame: its head and the iteration the state is in.
struct LoopIter {
  int32_t head = -1;
  uint32_t n = 0;
  bool operator==(const LoopIter&) const = default;
};

class Frame {
 public:
  std::array<Value, HU_NREGS> regs;
  std::array<Byte, HU_STACK_FRAME> bytes{};  // bytes[i]: offset i - 512
  int32_t callsite = -1;                     // the call insn that made it
  // The loops this frame is inside, outermost first, with the iteration of
  // each: bookkeeping for the analyzer (which iteration a state belongs
  // to), not a property of the program's values.
  std::array<LoopIter, kMaxLoopDepth> loops;
  uint8_t nloops = 0;

  Frame() {}
  // Only the slots that hold a spill are copied and compared: states are
  // copied at every branch, and most slots never hold one.
  Frame(const Frame& o) { *this = o; }
  Frame& operator=(const Frame& o);
  bool operator==(const Frame& o) const;
  // Equal except, perhaps, in the loop iterations.
  bool SameContents(const Frame& o) const;

  // Slot s (offsets s * 8 - 512 .. + 8) holds a spilled register: the
  // bytes [SpillOff, SpillOff + SpillSize) of the slot say kSpill and
  // spill(s) is the register (a narrow spill is a scalar, truncated to its
  // size); the slot's other bytes are tracked on their own.
  bool IsSpill(int slot) const { return (spilled_ >> slot) & 1; }
  uint64_t spilled() const { return spilled_; }
  const Value& spill(int slot) const { return slots_[slot].v; }
  Value& spill(int slot) { return slots_[slot].v; }
  int SpillOff(int slot) const { return shape_[slot] >> 4; }
  int SpillSize(int slot) const { return shape_[slot] & 15; }
  uint8_t SpillShape(int slot) const { return shape_[slot]; }
  void SetSpill(int slot, const Value& v, int off = 0, int size = 8);
  // Drops slot's spill, its bytes becoming `b`.
  void ClearSpill(int slot, Byte b);

 private:
  union Slot {
    Slot() {}
    Value v;
  };
  std::array<Slot, kSlots> slots_;       // valid where spilled_ says so
  std::array<uint8_t, kSlots> shape_{};  // offset << 4 | size, where spilled_ says so
  uint64_t spilled_ = 0;
};
static_assert(kSlots == 64, "one bit of Frame::spilled_ per slot");

struct State {
  std::vector<Frame> frames;

  Frame& top() { return frames.back(); }
  const Frame& top() const { return frames.back(); }
  Value& reg(int r) { return frames.back().regs[r]; }
  const Value& reg(int r) const { return frames.back().regs[r]; }
  bool operator==(const State&) const = default;
  // Equal except, perhaps, in the loop iterations.
  bool SameContents(const State& o) const;
  // Every concrete state of *this is one of `o`.
  bool In(const State& o) const;
  // The registers that are not uninitialised, e.g. "r0=1 r1=ctx+0 r10=fp+0".
  std::string ToString() const;
};

// Clears `id` from every register and spill, in every frame.
void ForgetId(State& st, uint32_t id);

// Same frame structure required (the analyzer keys states by call chain).
State Join(const State& a, const State& b);

}  // namespace hu::verifier
