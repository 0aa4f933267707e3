#include "state.hpp"

#include <algorithm>
#include <array>
#include <bit>

namespace hu::verifier {

Frame& Frame::operator=(const Frame& o) {
  regs = o.regs;
  bytes = o.bytes;
  callsite = o.callsite;
  loops = o.loops;
  nloops = o.nloops;
  spilled_ = o.spilled_;
  shape_ = o.shape_;
  for (uint64_t m = spilled_; m; m &= m - 1) {
    int slot = std::countr_zero(m);
    slots_[slot].v = o.slots_[slot].v;
  }
  return *this;
}

bool Frame::operator==(const Frame& o) const {
  return nloops == o.nloops && std::equal(loops.begin(), loops.begin() + nloops, o.loops.begin()) &&
         SameContents(o);
}

bool Frame::SameContents(const Frame& o) const {
  if (spilled_ != o.spilled_ || callsite != o.callsite || regs != o.regs || bytes != o.bytes)
    return false;
  for (uint64_t m = spilled_; m; m &= m - 1) {
    int slot = std::countr_zero(m);
    if (shape_[slot] != o.shape_[slot] || !(slots_[slot].v == o.slots_[slot].v)) return false;
  }
  return true;
}

void Frame::SetSpill(int slot, const Value& v, int off, int size) {
  for (int i = off; i < off + size; i++) bytes[slot * 8 + i] = Byte::kSpill;
  slots_[slot].v = v;
  shape_[slot] = static_cast<uint8_t>(off << 4 | size);
  spilled_ |= 1ull << slot;
}

void Frame::ClearSpill(int slot, Byte b) {
  for (int i = SpillOff(slot); i < SpillOff(slot) + SpillSize(slot); i++) bytes[slot * 8 + i] = b;
  spilled_ &= ~(1ull << slot);
}

namespace {

bool IsSpill(const Frame& f, int slot) { return f.IsSpill(slot); }

Frame JoinFrames(const Frame& a, const Frame& b) {
  Frame r;
  r.callsite = a.callsite;
  r.loops = a.loops;  // states are joined only within one iteration
  r.nloops = a.nloops;
  for (int i = 0; i < HU_NREGS; i++) r.regs[i] = Join(a.regs[i], b.regs[i]);
  // Common case: the same bytes were written on both paths.
  bool same = a.bytes == b.bytes;
  if (same) r.bytes = a.bytes;
  for (int slot = 0; slot < kSlots; slot++) {
    if (same && !IsSpill(a, slot)) continue;
    // A spilled scalar is initialised data; a spilled pointer joined with
    // anything else must not be readable as a number (it would leak).
    auto as_data = [](const Frame& f, int slot, Byte v) {
      if (v != Byte::kSpill) return v;
      return f.spill(slot).kind == Kind::kScalar ? Byte::kMisc : Byte::kInvalid;
    };
    for (int i = slot * 8; i < slot * 8 + 8; i++) {
      Byte x = as_data(a, slot, a.bytes[i]), y = as_data(b, slot, b.bytes[i]);
      if (x == y)
        r.bytes[i] = x;
      else if (x == Byte::kInvalid || y == Byte::kInvalid)
        r.bytes[i] = Byte::kInvalid;
      else
        r.bytes[i] = Byte::kMisc;
    }
    // Spilled alike on both paths: the registers join.
    if (IsSpill(a, slot) && IsSpill(b, slot) && a.SpillShape(slot) == b.SpillShape(slot)) {
      Value v = Join(a.spill(slot), b.spill(slot));
      if (v.kind != Kind::kUninit && v.kind != Kind::kMixed)
        r.SetSpill(slot, v, a.SpillOff(slot), a.SpillSize(slot));
    }
  }
  return r;
}

}  // namespace

bool State::SameContents(const State& o) const {
  if (frames.size() != o.frames.size()) return false;
  for (size_t f = 0; f < frames.size(); f++)
    if (!frames[f].SameContents(o.frames[f])) return false;
  return true;
}

bool State::In(const State& o) const {
  if (frames.size() != o.frames.size()) return false;
  for (size_t f = 0; f < frames.size(); f++) {
    const Frame& a = frames[f];
    const Frame& b = o.frames[f];
    if (a.callsite != b.callsite) return false;
    for (int i = 0; i < HU_NREGS; i++)
      if (!a.regs[i].In(b.regs[i])) return false;
    for (int i = 0; i < HU_STACK_FRAME; i++) {
      Byte x = a.bytes[i], y = b.bytes[i];
      if (y == Byte::kInvalid || x == y) continue;
      if (y == Byte::kMisc &&
          (x == Byte::kZero || (x == Byte::kSpill && a.spill(i / 8).kind == Kind::kScalar)))
        continue;
      return false;
    }
    for (int slot = 0; slot < kSlots; slot++)
      if (IsSpill(a, slot) && IsSpill(b, slot) &&
          (a.SpillShape(slot) != b.SpillShape(slot) || !a.spill(slot).In(b.spill(slot))))
        return false;
  }
  return true;
}

std::string State::ToString() const {
  std::string s;
  const Frame& f = top();
  for (int i = 0; i < HU_NREGS; i++) {
    if (f.regs[i].kind == Kind::kUninit) continue;
    if (!s.empty()) s += ' ';
    s += "r" + std::to_string(i) + "=" + f.regs[i].ToString();
  }
  for (int slot = 0; slot < kSlots; slot++) {
    if (!IsSpill(f, slot)) continue;
    s += " [fp" + std::to_string(slot * 8 + f.SpillOff(slot) - HU_STACK_FRAME) +
         (f.SpillSize(slot) == 8 ? "" : ":" + std::to_string(f.SpillSize(slot))) +
         "]=" + f.spill(slot).ToString();
  }
  if (frames.size() > 1) s += " (frame " + std::to_string(frames.size() - 1) + ")";
  return s;
}

void ForgetId(State& st, uint32_t id) {
  for (Frame& f : st.frames) {
    for (Value& v : f.regs)
      if (v.id == id) v.id = 0;
    for (uint64_t m = f.spilled(); m; m &= m - 1) {
      Value& v = f.spill(std::countr_zero(m));
      if (v.id == id) v.id = 0;
    }
  }
}

State Join(const State& a, const State& b) {
  State r;
  r.frames.reserve(a.frames.size());
  for (size_t f = 0; f < a.frames.size(); f++)
    r.frames.push_back(JoinFrames(a.frames[f], b.frames[f]));
  return r;
}

}  // namespace hu::verifier
