#include "runner.hpp"

#include <algorithm>
#include <cstring>
#include <random>

#include "guest.hpp"
#include "hyperupcall/asm.hpp"
#include "platform.hpp"
#include "program.hpp"
#include "trace_ring.hpp"

namespace hu::soundness {
namespace {

using daemon::MapEntry;
using daemon::sim::Guest;
using daemon::sim::Program;

constexpr int kRuns = 3;
constexpr uint64_t kRunBudget = 20'000'000;  // far above any verifier budget used
constexpr uint32_t kPoolBytes = 4096;        // the context moves inside a pool

// Everything a run left behind that the guest could observe.
struct Observed {
  int err = 0;
  uint32_t err_pc = 0;
  uint64_t r0 = 0;
  std::vector<std::vector<MapEntry>> maps;
  std::vector<std::vector<uint8_t>> trace;
  std::vector<uint8_t> guest_write;
};

bool SameEntries(const std::vector<MapEntry>& a, const std::vector<MapEntry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (a[i].key != b[i].key || a[i].value != b[i].value) return false;
  return true;
}

std::string Hex(const std::vector<uint8_t>& v) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t b : v) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}

// What differs between two runs, or "".
std::string Difference(const Observed& a, const Observed& b) {
  if (a.r0 != b.r0) return "r0 " + std::to_string(a.r0) + " vs " + std::to_string(b.r0);
  for (size_t m = 0; m < a.maps.size(); m++)
    if (!SameEntries(a.maps[m], b.maps[m])) return "map " + std::to_string(m) + " contents";
  if (a.trace.size() != b.trace.size()) return "number of trace records";
  for (size_t i = 0; i < a.trace.size(); i++)
    if (a.trace[i] != b.trace[i])
      return "trace record " + std::to_string(i) + ": " + Hex(a.trace[i]) + " vs " +
             Hex(b.trace[i]);
  if (a.guest_write != b.guest_write) return "bytes written to guest memory";
  return "";
}

bool UsesHelper(const std::vector<hu_insn>& p) {
  for (const hu_insn& i : p)
    if (i.code == (HU_CLS_JMP | HU_JMP_CALL) && i.src == HU_CALL_HELPER) return true;
  return false;
}
bool UsesLocalCall(const std::vector<hu_insn>& p) {
  for (const hu_insn& i : p)
    if (i.code == (HU_CLS_JMP | HU_JMP_CALL) && i.src == HU_CALL_LOCAL) return true;
  return false;
}
bool HasBackEdge(const std::vector<hu_insn>& p) {
  for (size_t pc = 0; pc < p.size(); pc++) {
    uint8_t cls = HU_CLASS(p[pc].code), op = HU_OP(p[pc].code);
    if ((cls == HU_CLS_JMP || cls == HU_CLS_JMP32) && op != HU_JMP_CALL && op != HU_JMP_EXIT &&
        p[pc].off < 0)
      return true;
  }
  return false;
}

}  // namespace

struct Runner::Impl {
  Guest guest{{1, "soundness", "", 2, 64}};
  Environment env = DefaultEnvironment();
  std::vector<hu_region> regions;
  std::vector<uint8_t> pool = std::vector<uint8_t>(kRuns * kPoolBytes);

  Impl() {
    const auto& sym = guest.symbols();
    env.read_gva = sym.at("page_free_bitmap");
    env.read_gva_len = 256;
    env.read_gpa = 0x1000000;  // the kernel image
    env.read_gpa_len = 4096;
    env.write_gva = guest.TaskAddress(0);
    env.write_gva_len = 64;
    regions = {{env.read_gva, env.read_gva_len, HU_REGION_READ, 0},
               {env.read_gpa, env.read_gpa_len, HU_REGION_READ | HU_REGION_GPA, 0},
               {env.write_gva, env.write_gva_len, HU_REGION_READ | HU_REGION_WRITE, 0}};
  }

  std::vector<uint8_t> ReadWritable() {
    std::vector<uint8_t> b(env.write_gva_len);
    const uint64_t gpa = Guest::ImageGpa(env.write_gva);
    guest.mem().Read(gpa, b.data(), b.size());
    return b;
  }
  void RestoreWritable(const std::vector<uint8_t>& b) {
    guest.mem().Write(Guest::ImageGpa(env.write_gva), b.data(), b.size());
  }
};

Runner::Runner() : impl_(std::make_unique<Impl>()) {}
Runner::~Runner() = default;

const Environment& Runner::environment() const { return impl_->env; }

Outcome Runner::Check(const Generated& g, uint64_t seed) {
  Impl& im = *impl_;
  stats_.programs++;
  auto prog = Assemble(g.text);
  if (!prog.ok())
    return {Outcome::Kind::kFailed, "the generator wrote bad assembler: " + prog.error().message};
  verifier::Options opts;
  opts.hook = g.hook;
  opts.maps = im.env.maps;
  // Generated loops end within a few thousand instructions or never.
  opts.max_states = 30'000;
  verifier::Report rep = verifier::Verify(*prog, opts);
  if (!rep.accepted) return {Outcome::Kind::kRejected, rep.error};
  stats_.accepted++;
  if (UsesHelper(*prog)) stats_.helper_calls++;
  if (UsesLocalCall(*prog)) stats_.local_calls++;
  if (HasBackEdge(*prog)) stats_.loops++;

  daemon::ProgramImage image;
  image.id = 1;
  image.domid = 1;
  image.hook = g.hook;
  image.name = "soundness";
  image.insns = *prog;
  for (size_t i = 0; i < im.env.maps.size(); i++)
    image.maps.push_back({"m" + std::to_string(i), im.env.maps[i]});
  image.regions = im.regions;
  image.run_budget = kRunBudget;

  // The same context bytes every run, at a different address each time.
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> ctx(256);
  for (auto& b : ctx) b = static_cast<uint8_t>(rng());
  ctx[0] = static_cast<uint8_t>(rng() % 3);  // small vCPU numbers, now and then
  const uint32_t ctx_size = verifier::HookPlatform().Context(g.hook)->size;
  const uint64_t pattern_seed[kRuns] = {rng(), rng(), 0};

  std::vector<std::unique_ptr<Program>> programs;  // alive together: distinct arenas
  const std::vector<uint8_t> before = im.ReadWritable();
  Observed seen[kRuns];
  for (int run = 0; run < kRuns; run++) {
    // Each run also spaces map values differently: two values' distance is
    // the host's business.
    auto p = Program::Create(image, im.guest, kRunBudget, static_cast<uint32_t>(run));
    if (!p.ok())
      return {Outcome::Kind::kFailed, "the sim refused the program: " + p.error().message};
    programs.push_back(std::move(p).value());
    Program& prog_run = *programs.back();
    // Stale bytes: patterns mixed with host addresses (this run's context
    // and stack), as a previous run might have left them. Run 2 repeats
    // run 0's pattern, with every buffer elsewhere.
    std::mt19937_64 fill(pattern_seed[run == 2 ? 0 : run]);
    uint8_t* ctx_at = im.pool.data() + run * kPoolBytes + 8 * (fill() % 64);
    std::memcpy(ctx_at, ctx.data(), ctx.size());
    auto stack = prog_run.stack();
    for (size_t off = 0; off + 8 <= stack.size(); off += 8) {
      uint64_t w = fill();
      if (w % 4 == 0) w = reinterpret_cast<uint64_t>(ctx_at);
      if (w % 4 == 1) w = reinterpret_cast<uint64_t>(stack.data() + off);
      std::memcpy(stack.data() + off, &w, 8);
    }
    daemon::sim::TraceRing ring(64);
    daemon::sim::RunSite site{&im.guest, 0, im.guest.kernel_cr3(), 123456789, &ring};
    daemon::sim::RunOutcome out = prog_run.Run(site, ctx_at, ctx_size);
    stats_.runs++;
    Observed& o = seen[run];
    o.err = out.err;
    o.r0 = out.r0;
    for (auto& m : prog_run.maps()) {
      auto entries = m.Dump();
      std::sort(entries.begin(), entries.end(),
                [](const MapEntry& a, const MapEntry& b) { return a.key < b.key; });
      stats_.map_entries += entries.size();
      o.maps.push_back(std::move(entries));
    }
    for (auto& rec : ring.Drain()) o.trace.push_back(std::move(rec.data));
    stats_.trace_records += o.trace.size();
    o.guest_write = im.ReadWritable();
    im.RestoreWritable(before);
    if (out.err != HU_RUN_OK) {
      return {Outcome::Kind::kFailed,
              std::string("run ") + std::to_string(run) +
                  " of an accepted program stopped: " + hu_run_strerror(out.err)};
    }
    const int64_t s = static_cast<int64_t>(out.r0);
    if (out.r0 < rep.r0.umin || out.r0 > rep.r0.umax || s < rep.r0.smin || s > rep.r0.smax) {
      return {Outcome::Kind::kFailed,
              "r0 " + std::to_string(out.r0) + " is outside the range the verifier computed [" +
                  std::to_string(rep.r0.smin) + ", " + std::to_string(rep.r0.smax) +
                  "] (unsigned [" + std::to_string(rep.r0.umin) + ", " +
                  std::to_string(rep.r0.umax) + "])"};
    }
    if (run > 0) {
      std::string d = Difference(seen[0], o);
      if (!d.empty())
        return {Outcome::Kind::kFailed, "run " + std::to_string(run) + " differs from run 0 (" +
                                            (run == 1 ? "other stale bytes, other addresses"
                                                      : "the same stale pattern, other addresses") +
                                            "): " + d};
    }
  }
  return {Outcome::Kind::kPassed, ""};
}

}  // namespace hu::soundness
