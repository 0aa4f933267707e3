// The abstract machine state: a stack of call frames, each with its
// registers and its 512-byte stack. Stack bytes are tracked one by one
// (initialised or not, known zero); an aligned 8-byte slot can also hold a
// spilled register, so pointers and precise scalars survive spill and fill.
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
  kSpill,    // part of a spilled register (the whole 8-byte slot)
};

constexpr int kSlots = HU_STACK_FRAME / 8;

class Frame {
 public:
  std::array<Value, HU_NREGS> regs;
  std::array<Byte, HU_STACK_FRAME> bytes{};  // bytes[i]: offset i - 512
  int32_t callsite = -1;                     // the call insn that made it

  Frame() {}
  // Only the slots that hold a spill are copied and compared: states are
  // copied at every branch, and most slots never hold one.
  Frame(const Frame& o) { *this = o; }
  Frame& operator=(const Frame& o);
  bool operator==(const Frame& o) const;

  // Slot s (offsets s * 8 - 512 .. + 8) holds a spilled register: its bytes
  // say kSpill and spill(s) is the register.
  bool IsSpill(int slot) const { return (spilled_ >> slot) & 1; }
  uint64_t spilled() const { return spilled_; }
  const Value& spill(int slot) const { return slots_[slot].v; }
  Value& spill(int slot) { return slots_[slot].v; }
  void SetSpill(int slot, const Value& v);
  // Drops slot's spill, its bytes becoming `b`.
  void ClearSpill(int slot, Byte b);

 private:
  union Slot {
    Slot() {}
    Value v;
  };
  std::array<Slot, kSlots> slots_;  // valid where spilled_ says so
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
  // Every concrete state of *this is one of `o`.
  bool In(const State& o) const;
  // The same, comparing in frame f only the registers of bit mask live[f]
  // (the stacks are compared whole): enough for pruning, because a dead
  // register is written before any path reads it.
  bool In(const State& o, std::span<const uint16_t> live) const;
  // The registers that are not uninitialised, e.g. "r0=1 r1=ctx+0 r10=fp+0".
  std::string ToString() const;
};

// Clears `id` from every register and spill, in every frame.
void ForgetId(State& st, uint32_t id);

// Same frame structure required (the analyzer keys states by call chain).
State Join(const State& a, const State& b);

}  // namespace hu::verifier
