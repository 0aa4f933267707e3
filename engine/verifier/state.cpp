#include "state.hpp"

#include <array>

namespace hu::verifier {
namespace {

// A slot holds a spill only if all of its bytes say so.
bool IsSpill(const Frame& f, int slot) { return f.bytes[slot * 8] == Byte::kSpill; }

template <class ValueOp>
Frame CombineFrames(const Frame& a, const Frame& b, ValueOp op) {
  Frame r;
  r.callsite = a.callsite;
  for (int i = 0; i < HU_NREGS; i++) r.regs[i] = op(a.regs[i], b.regs[i]);
  // Common case: the same bytes were written on both paths.
  bool same = a.bytes == b.bytes;
  if (same) r.bytes = a.bytes;
  for (int slot = 0; slot < kSlots; slot++) {
    if (same && a.bytes[slot * 8] != Byte::kSpill) continue;
    if (IsSpill(a, slot) && IsSpill(b, slot)) {
      Value v = op(a.spills[slot], b.spills[slot]);
      if (v.kind != Kind::kUninit && v.kind != Kind::kMixed) {
        for (int i = 0; i < 8; i++) r.bytes[slot * 8 + i] = Byte::kSpill;
        r.spills[slot] = v;
        continue;
      }
    }
    for (int i = slot * 8; i < slot * 8 + 8; i++) {
      Byte x = a.bytes[i], y = b.bytes[i];
      // A spilled scalar is initialised data; a spilled pointer joined with
      // anything else must not be readable as a number (it would leak).
      auto as_data = [](const Frame& f, int slot, Byte v) {
        if (v != Byte::kSpill) return v;
        return f.spills[slot].kind == Kind::kScalar ? Byte::kMisc : Byte::kInvalid;
      };
      x = as_data(a, slot, x);
      y = as_data(b, slot, y);
      if (x == y)
        r.bytes[i] = x;
      else if (x == Byte::kInvalid || y == Byte::kInvalid)
        r.bytes[i] = Byte::kInvalid;
      else
        r.bytes[i] = Byte::kMisc;
    }
  }
  return r;
}

}  // namespace

bool State::In(const State& o) const {
  std::array<uint16_t, 16> all;
  all.fill(0xffff);
  if (frames.size() <= all.size()) return In(o, std::span(all.data(), frames.size()));
  std::vector<uint16_t> more(frames.size(), 0xffff);
  return In(o, more);
}

bool State::In(const State& o, std::span<const uint16_t> live) const {
  if (frames.size() != o.frames.size() || live.size() != frames.size()) return false;
  for (size_t f = 0; f < frames.size(); f++) {
    const Frame& a = frames[f];
    const Frame& b = o.frames[f];
    if (a.callsite != b.callsite) return false;
    for (int i = 0; i < HU_NREGS; i++)
      if (((live[f] >> i) & 1) && !a.regs[i].In(b.regs[i])) return false;
    for (int i = 0; i < HU_STACK_FRAME; i++) {
      Byte x = a.bytes[i], y = b.bytes[i];
      if (y == Byte::kInvalid || x == y) continue;
      if (y == Byte::kMisc &&
          (x == Byte::kZero || (x == Byte::kSpill && a.spills[i / 8].kind == Kind::kScalar)))
        continue;
      return false;
    }
    for (int slot = 0; slot < kSlots; slot++)
      if (IsSpill(a, slot) && IsSpill(b, slot) && !a.spills[slot].In(b.spills[slot])) return false;
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
    s += " [fp" + std::to_string(slot * 8 - HU_STACK_FRAME) + "]=" + f.spills[slot].ToString();
  }
  if (frames.size() > 1) s += " (frame " + std::to_string(frames.size() - 1) + ")";
  return s;
}

void ForgetId(State& st, uint32_t id) {
  for (Frame& f : st.frames) {
    for (Value& v : f.regs)
      if (v.id == id) v.id = 0;
    for (Value& v : f.spills)
      if (v.id == id) v.id = 0;
  }
}

State Join(const State& a, const State& b) {
  State r;
  r.frames.reserve(a.frames.size());
  for (size_t f = 0; f < a.frames.size(); f++)
    r.frames.push_back(CombineFrames(a.frames[f], b.frames[f],
                                     [](const Value& x, const Value& y) { return Join(x, y); }));
  return r;
}

State Widen(const State& p, const State& n) {
  State r;
  r.frames.reserve(p.frames.size());
  for (size_t f = 0; f < p.frames.size(); f++)
    r.frames.push_back(CombineFrames(p.frames[f], n.frames[f],
                                     [](const Value& x, const Value& y) { return Widen(x, y); }));
  return r;
}

}  // namespace hu::verifier
