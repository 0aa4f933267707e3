// Host memory reclaim: under pressure the host takes frames back from the
// guests, asking mem.reclaim first so a frame the guest does not use is
// dropped instead of written to swap. Also the reclaim scan (Xen's scan
// domctl analogue), which asks without reclaiming, and the operator's
// reclaim (Xen's reclaim domctl analogue), which drops only what the
// program reports free.
#include <fmt/format.h>

#include "model.hpp"

namespace hu::daemon::sim {

void Model::ReclaimFrames(Guest& g, uint32_t count, uint32_t reason) {
  uint64_t& hand = reclaim_hand[g.domid()];
  const uint64_t frames = g.frames();
  auto& state = g.frame_state();
  for (uint64_t looked = 0; count > 0 && looked < frames; ++looked, hand = (hand + 1) % frames) {
    // Kernel frames (image, page tables) are pinned, as Xen's typed page
    // table pages are: never reclaimed.
    if (g.Pinned(hand) || state[hand] != FrameState::kResident) continue;
    --count;
    ++counters.reclaim_asked;
    ++nonresident;
    if (FireReclaim(g, hand, reason).value_or(false)) {
      if (!g.IsFree(hand)) ++counters.lost_pages;  // the program was wrong
      g.mem().ZeroFrame(hand);
      state[hand] = FrameState::kDiscarded;
      ++counters.reclaim_discarded;
    } else {
      state[hand] = FrameState::kSwapped;  // contents kept: written to "swap"
      ++counters.reclaim_swapped;
    }
  }
}

void Model::ReclaimUnderPressure() {
  const uint64_t resident = total_frames - nonresident;
  if (resident * 100 <= total_frames * opt.pressure_percent) return;
  Guest& g = *guests[reclaim_guest++ % guests.size()];
  ReclaimFrames(g, opt.reclaim_batch, HU_RECLAIM_PRESSURE);
}

// Model ticks do not run meanwhile (the caller holds the model's lock), as
// Xen pauses the domain: the guest cannot take a frame between the answer
// and the discard. A discarded frame comes back zeroed at its next touch.
Result<ReclaimReport> Model::ReclaimFree(Guest& g, uint64_t max) {
  ReclaimReport rep;
  auto& state = g.frame_state();
  for (uint64_t gfn = 0; gfn < g.frames() && rep.reclaimed < max; ++gfn) {
    ++rep.walked;
    if (state[gfn] != FrameState::kResident) continue;  // nothing there to take
    if (g.Pinned(gfn)) {
      ++rep.busy;
      continue;
    }
    auto r = FireReclaim(g, gfn, HU_RECLAIM_BALLOON);
    if (!r)
      return MakeError(ErrorCode::kFailedPrecondition,
                       fmt::format("domain {} has no mem.reclaim program installed", g.domid()));
    if (!*r) {
      ++rep.kept;
      continue;
    }
    if (!g.IsFree(gfn)) ++counters.lost_pages;  // the program was wrong
    g.mem().ZeroFrame(gfn);
    state[gfn] = FrameState::kDiscarded;
    ++nonresident;
    ++counters.reclaim_discarded;
    ++rep.reclaimed;
  }
  return rep;
}

Result<std::vector<uint64_t>> Model::ReclaimScan(Guest& g, uint64_t first, uint64_t count) {
  if (count > (1u << 20))
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("reclaim scan of {} frames; at most {} per call", count, 1u << 20));
  if (first > g.frames() || count > g.frames() - first)
    return MakeError(ErrorCode::kOutOfRange,
                     fmt::format("gfns [{:#x}, {:#x}) beyond domain {}'s {:#x} frames", first,
                                 first + count, g.domid(), g.frames()));
  std::vector<uint64_t> free;
  for (uint64_t gfn = first; gfn < first + count; ++gfn) {
    auto r = FireReclaim(g, gfn, HU_RECLAIM_SCAN);
    if (!r)
      return MakeError(ErrorCode::kFailedPrecondition,
                       fmt::format("domain {} has no mem.reclaim program to ask", g.domid()));
    if (*r) free.push_back(gfn);
  }
  return free;
}

}  // namespace hu::daemon::sim
