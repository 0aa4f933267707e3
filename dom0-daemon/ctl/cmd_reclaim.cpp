// `reclaim scan`: which guest frames of a range the domain's mem.reclaim
// program reports free, asked through the daemon (nothing is reclaimed).
// `reclaim run`: reclaims up to so much memory the program reports free.
#include <fmt/format.h>

#include "commands.hpp"

namespace hu::ctl {

namespace {

struct ReclaimArgs {
  std::string domain;
  uint64_t first = 0;
  uint64_t count = 0;
  uint64_t mib = 0;
  uint64_t frames = 0;
};

constexpr uint64_t kFrameBytes = 4096;

// Runs of consecutive frames as "a-b" (or "a"), so a large answer stays readable.
std::string Ranges(const opv1::ReclaimScanResponse& r) {
  std::string out;
  const auto& g = r.free_gfns();
  for (int i = 0; i < g.size();) {
    int j = i;
    while (j + 1 < g.size() && g[j + 1] == g[j] + 1) ++j;
    out += fmt::format("{}{:#x}", out.empty() ? "" : " ", g[i]);
    if (j > i) out += fmt::format("-{:#x}", g[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace

void AddReclaimCommands(CLI::App& app, Context& ctx, int& rc) {
  static ReclaimArgs a;
  auto* rec = app.add_subcommand("reclaim", "ask a guest's mem.reclaim program, or reclaim")
                  ->require_subcommand(1);
  auto* run = rec->add_subcommand(
      "run",
      "reclaim up to --mib (or --frames) of memory the domain's mem.reclaim program "
      "reports free; the guest gets zeroed frames when it touches them again");
  run->add_option("--domain", a.domain, "libvirt name, UUID or id")->required();
  auto* mib = run->add_option("--mib", a.mib, "MiB to reclaim at most");
  auto* frames = run->add_option("--frames", a.frames, "4 KiB frames to reclaim at most");
  mib->excludes(frames);
  run->callback([&, mib, frames] {
    if (!*mib && !*frames) {
      rc = Usage("reclaim run needs --mib or --frames");
      return;
    }
    opv1::ReclaimRequest req;
    req.set_domain(a.domain);
    req.set_max_bytes(*mib ? a.mib << 20 : a.frames * kFrameBytes);
    opv1::ReclaimResponse resp;
    auto c = ctx.Call();
    auto st = ctx.Stub().Reclaim(c.get(), req, &resp);
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    const double mib_back = double(resp.frames_reclaimed() * kFrameBytes) / (1 << 20);
    nlohmann::json j = {{"domid", resp.domid()},
                        {"frames_reclaimed", resp.frames_reclaimed()},
                        {"mib_reclaimed", mib_back},
                        {"frames_kept", resp.frames_kept()},
                        {"frames_busy", resp.frames_busy()},
                        {"errors", resp.errors()},
                        {"frames_walked", resp.frames_walked()},
                        {"elapsed_ns", resp.elapsed_ns()}};
    Emit(ctx, j,
         fmt::format("dom{}: reclaimed {:.1f} MiB ({} frames) in {:.3f} s; kept {}, busy {}, "
                     "errors {}, {} frame numbers walked\n",
                     resp.domid(), mib_back, resp.frames_reclaimed(), resp.elapsed_ns() / 1e9,
                     resp.frames_kept(), resp.frames_busy(), resp.errors(), resp.frames_walked()));
  });
  auto* scan = rec->add_subcommand(
      "scan", "frames of [first, first+count) the domain's mem.reclaim program reports free");
  scan->add_option("--domain", a.domain, "libvirt name, UUID or id")->required();
  scan->add_option("--first", a.first, "first guest frame number (gfn)")->required();
  scan->add_option("--count", a.count, "frames to scan (1..65536)")->required();
  scan->callback([&] {
    opv1::ReclaimScanRequest req;
    req.set_domain(a.domain);
    req.set_first_gfn(a.first);
    req.set_count(a.count);
    opv1::ReclaimScanResponse resp;
    auto c = ctx.Call();
    auto st = ctx.Stub().ReclaimScan(c.get(), req, &resp);
    if (!st.ok()) {
      rc = Fail(ctx, st);
      return;
    }
    nlohmann::json j = {{"domid", resp.domid()},
                        {"first_gfn", resp.first_gfn()},
                        {"count", resp.count()},
                        {"free_gfns", nlohmann::json::array()}};
    for (uint64_t g : resp.free_gfns()) j["free_gfns"].push_back(g);
    Emit(ctx, j,
         fmt::format("dom{}: {} of {} frames from {:#x} reported free{}{}\n", resp.domid(),
                     resp.free_gfns_size(), resp.count(), resp.first_gfn(),
                     resp.free_gfns_size() ? ": " : "", Ranges(resp)));
  });
}

}  // namespace hu::ctl
