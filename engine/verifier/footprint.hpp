// Which stack bytes an access at a variable offset may touch, and which it
// touches whatever the offset turns out to be. The offset's known bits
// narrow the candidates (an index shifted left by 3 only lands on 8-byte
// boundaries), so a write through it can initialise what every candidate
// covers, and a read need only find initialised what some candidate covers.
#pragma once

#include <bitset>
#include <cstdint>

#include "hyperupcall/ebpf.h"
#include "tnum.hpp"

namespace hu::verifier {

struct Footprint {
  int64_t start = 0, end = 0;            // every byte it may touch is in [start, end)
  int64_t must_start = 0, must_end = 0;  // it surely touches [must_start, must_end)
  std::bitset<2 * HU_STACK_FRAME> may;   // byte start + i may be touched
  bool May(int64_t b) const { return b >= start && b < end && may[b - start]; }
  bool Must(int64_t b) const { return b >= must_start && b < must_end; }
};

// An access of at least `min` and at most `max` bytes starting at an offset
// in [lo, hi] whose known bits are `t`. The caller has checked that
// [lo, hi + max) lies inside one frame.
inline Footprint StackFootprint(int64_t lo, int64_t hi, Tnum t, uint64_t min, uint64_t max) {
  Footprint fp;
  fp.start = lo;
  fp.end = hi + static_cast<int64_t>(max);
  int64_t first = hi + 1, last = lo - 1, covered_to = lo;
  for (int64_t b = lo; b < fp.end; b++) {
    if (b <= hi && t.Contains(static_cast<uint64_t>(b))) {
      if (first > hi) first = b;
      last = b;
      covered_to = b + static_cast<int64_t>(max);
    }
    if (b < covered_to) fp.may[b - lo] = true;
  }
  if (first <= last && last < first + static_cast<int64_t>(min)) {
    fp.must_start = last;
    fp.must_end = first + static_cast<int64_t>(min);
  }
  return fp;
}

}  // namespace hu::verifier
