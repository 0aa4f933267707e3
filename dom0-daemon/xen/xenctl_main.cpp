// hu-xenctl: drives XEN_DOMCTL_hyperupcall from dom0 directly, without the
// daemon: assemble, verify (as hyperupcalld would), install, and read back
// statistics, maps, the trace ring and reclaim scans. The end-to-end test
// under QEMU uses it; operators use hyperupcalld and hyperupcallctl.
#include <CLI/CLI.hpp>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/verifier.hpp"
#include "p2m_type.hpp"
#include "state_blob.hpp"
#include "xen_domctl.hpp"

namespace {

using hu::xen::Domctl;

int Fail(const std::string& what) {
  std::fprintf(stderr, "hu-xenctl: %s\n", what.c_str());
  return 1;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) out.push_back(part);
  return out;
}

bool ParseU64(const std::string& s, uint64_t& out) {
  try {
    size_t used = 0;
    out = std::stoull(s, &used, 0);
    return used == s.size() && !s.empty() && s[0] != '-';
  } catch (const std::exception&) {
    return false;
  }
}

// TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES, TYPE one of hash, array, pervcpu.
bool ParseMap(const std::string& s, hu_map_def& def, std::string& err) {
  static const std::map<std::string, uint32_t> kTypes = {
      {"hash", HU_MAP_HASH}, {"array", HU_MAP_ARRAY}, {"pervcpu", HU_MAP_PERVCPU_ARRAY}};
  auto f = Split(s, ':');
  uint64_t k = 0, v = 0, n = 0;
  if (f.size() != 4 || !kTypes.count(f[0]) || !ParseU64(f[1], k) || !ParseU64(f[2], v) ||
      !ParseU64(f[3], n) || k > UINT32_MAX || v > UINT32_MAX || n > UINT32_MAX) {
    err = "bad --map '" + s + "' (want hash|array|pervcpu:KEY:VALUE:ENTRIES)";
    return false;
  }
  def = hu_map_def{kTypes.at(f[0]), uint32_t(k), uint32_t(v), uint32_t(n)};
  return true;
}

// START:LEN:FLAGS, FLAGS letters r (read), w (write), p (guest-physical).
bool ParseRegion(const std::string& s, hu_region& r, std::string& err) {
  auto f = Split(s, ':');
  r = hu_region{};
  if (f.size() != 3 || !ParseU64(f[0], r.start) || !ParseU64(f[1], r.len)) {
    err = "bad --region '" + s + "' (want START:LEN:FLAGS, flags from r, w, p)";
    return false;
  }
  for (char c : f[2]) {
    if (c == 'r') {
      r.flags |= HU_REGION_READ;
    } else if (c == 'w') {
      r.flags |= HU_REGION_WRITE;
    } else if (c == 'p') {
      r.flags |= HU_REGION_GPA;
    } else {
      err = "bad region flag '" + std::string(1, c) + "' in '" + s + "'";
      return false;
    }
  }
  return true;
}

// ${NAME} -> value, so one program text serves every guest.
bool Substitute(std::string& text, const std::vector<std::string>& sets, std::string& err) {
  for (const auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      err = "bad --set '" + s + "' (want NAME=VALUE)";
      return false;
    }
    std::string key = "${" + s.substr(0, eq) + "}";
    std::string val = s.substr(eq + 1);
    for (size_t pos; (pos = text.find(key)) != std::string::npos;)
      text.replace(pos, key.size(), val);
  }
  if (auto pos = text.find("${"); pos != std::string::npos) {
    err = "program text still has " + text.substr(pos, text.find('}', pos) - pos + 1) +
          " (missing --set)";
    return false;
  }
  return true;
}

std::string Hex(const std::vector<uint8_t>& bytes) {
  std::string out;
  char b[3];
  for (uint8_t c : bytes) {
    std::snprintf(b, sizeof(b), "%02x", c);
    out += b;
  }
  return out;
}

// Little-endian u64 words, for values that are counters.
std::string Words(const std::vector<uint8_t>& bytes) {
  std::string out;
  for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    uint64_t w = 0;
    for (int j = 7; j >= 0; j--) w = (w << 8) | bytes[i + j];
    out += (out.empty() ? "" : ",") + std::to_string(w);
  }
  return out.empty() ? Hex(bytes) : out;
}

hu::Result<std::vector<uint8_t>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return hu::MakeError(hu::ErrorCode::kNotFound, "cannot read " + path);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

bool WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  return bool(out.flush());
}

// Printable annotation: what the daemon writes is text; anything else as hex.
std::string Printable(const std::vector<uint8_t>& bytes) {
  for (uint8_t c : bytes)
    if (c < 0x20 || c > 0x7e) return Hex(bytes);
  return std::string(bytes.begin(), bytes.end());
}

// The last HYPERUPCALL record (xen-patches/0031, type 0x48550001) of a
// save file or stream: its 8-byte header (type, length) followed by a blob
// whose own header repeats the length. A test's tool: it scans rather than
// parses the stream, so a guest could plant a look-alike in its memory.
hu::Result<std::vector<uint8_t>> StateFromStream(const std::string& path) {
  static const uint8_t kType[4] = {0x01, 0x00, 0x55, 0x48};  // 0x48550001, little-endian
  std::ifstream in(path, std::ios::binary);
  if (!in) return hu::MakeError(hu::ErrorCode::kNotFound, "cannot read " + path);
  std::vector<uint8_t> window, found;
  std::vector<char> chunk(1 << 20);
  for (;;) {
    in.read(chunk.data(), std::streamsize(chunk.size()));
    size_t got = size_t(in.gcount());
    if (!got) break;
    window.insert(window.end(), chunk.begin(), chunk.begin() + std::ptrdiff_t(got));
    // xl's own header is not 8-byte aligned: look at every offset.
    size_t keep =
        window.size() > 8 + sizeof(hu_xen_state) ? window.size() - 8 - sizeof(hu_xen_state) : 0;
    for (size_t i = 0; i < keep;) {
      auto* hit = static_cast<const uint8_t*>(
          memmem(window.data() + i, window.size() - i, kType, sizeof(kType)));
      if (!hit || size_t(hit - window.data()) >= keep) break;
      i = size_t(hit - window.data());
      uint32_t len;
      hu_xen_state h;
      std::memcpy(&len, &window[i + 4], 4);
      std::memcpy(&h, &window[i + 8], sizeof(h));
      if (h.magic == HU_XEN_STATE_MAGIC && h.size == len && len <= HU_XEN_STATE_MAX) {
        if (i + 8 + len > window.size()) {
          keep = i;  // the rest is in the next chunk
          break;
        }
        found.assign(window.begin() + std::ptrdiff_t(i + 8),
                     window.begin() + std::ptrdiff_t(i + 8 + len));
      }
      i++;
    }
    window.erase(window.begin(), window.begin() + std::ptrdiff_t(keep));
  }
  if (found.empty()) {
    return hu::MakeError(hu::ErrorCode::kNotFound, "no HYPERUPCALL record in " + path);
  }
  return found;
}

// r, w, gpa, protect, as abi.h's HU_REGION_* (unknown bits in hex).
std::string RegionFlags(uint32_t flags) {
  static const std::pair<uint32_t, const char*> kNames[] = {{HU_REGION_READ, "r"},
                                                            {HU_REGION_WRITE, "w"},
                                                            {HU_REGION_GPA, "gpa"},
                                                            {HU_REGION_PROTECT, "protect"}};
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if (!(flags & bit)) continue;
    out += (out.empty() ? "" : ",") + std::string(name);
    flags &= ~bit;
  }
  if (flags) {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "%#x", flags);
    out += (out.empty() ? "" : ",") + std::string(hex);
  }
  return out.empty() ? "none" : out;
}

// One line per program and per map entry, the entries as map-dump prints them.
void PrintState(const hu::xen::SavedState& s) {
  std::printf("hu-xenctl: state programs=%zu\n", s.programs.size());
  for (const auto& p : s.programs) {
    std::printf("hu-xenctl: state prog id=%" PRIu64
                " hook=%s insns=%zu maps=%zu regions=%zu"
                " budget=%" PRIu64 " max_grace_us=%u jit=%s runs=%" PRIu64 " errors=%" PRIu64
                " annotation=%s\n",
                p.id, hu::verifier::HookName(p.hook), p.insns.size(), p.maps.size(),
                p.regions.size(), p.budget, p.max_grace_us,
                !(p.jit & HU_XEN_JIT)        ? "off"
                : (p.jit & HU_XEN_JIT_PLAIN) ? "plain"
                                             : "on",
                p.stats.runs, p.stats.errors, Printable(p.annotation).c_str());
    // Regions as saved: a protected range travels here (flags p).
    for (const auto& r : p.regions) {
      std::printf("hu-xenctl: state region id=%" PRIu64 " start=%#" PRIx64 " len=%" PRIu64
                  " flags=%s\n",
                  p.id, r.start, r.len, RegionFlags(r.flags).c_str());
    }
    for (size_t m = 0; m < p.maps.size(); m++) {
      for (const auto& e : p.maps[m].entries) {
        std::printf("hu-xenctl: state map id=%" PRIu64 " map=%zu key=%s value=%s\n", p.id, m,
                    Hex(e.key).c_str(), Words(e.value).c_str());
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hu-xenctl: XEN_DOMCTL_hyperupcall from dom0"};
  app.require_subcommand(1);
  uint32_t domid = 0;
  uint64_t id = 0;

  auto* install = app.add_subcommand("install", "assemble, verify and install a program");
  std::string hook_name, asm_file;
  std::vector<std::string> map_specs, region_specs, sets;
  uint64_t budget = 0;
  bool no_verify = false;
  install->add_option("--dom", domid, "domain id")->required();
  install->add_option("--id", id, "program id (unique in the domain, not 0)")->required();
  install->add_option("--hook", hook_name, "trace.exit, mem.reclaim, ...")->required();
  install->add_option("--asm", asm_file, "program text (conformance syntax)")->required();
  install->add_option("--map", map_specs, "TYPE:KEY:VALUE:ENTRIES, in map index order");
  install->add_option("--region", region_specs, "START:LEN:FLAGS (r, w, p)");
  install->add_option("--set", sets, "NAME=VALUE, replaces ${NAME} in the text");
  install->add_option("--budget", budget, "instructions per run (0: Xen's default)");
  uint32_t max_grace_us = 0;
  install->add_option("--max-grace-us", max_grace_us,
                      "sched.preempt: cap on one grace period (0: Xen's, 500 us)");
  std::string jit = "off";
  install
      ->add_option("--jit", jit,
                   "engine: off (interpreter), on (x86-64 code, blinded), plain (unblinded)")
      ->check(CLI::IsMember({"off", "on", "plain"}));
  install->add_flag("--no-verify", no_verify,
                    "skip the verifier (tests that Xen bounds an unsafe program)");

  auto* verify = app.add_subcommand("verify", "assemble and verify only (no Xen needed)");
  verify->add_option("--hook", hook_name)->required();
  verify->add_option("--asm", asm_file)->required();
  verify->add_option("--map", map_specs);
  verify->add_option("--set", sets);

  auto* uninstall = app.add_subcommand("uninstall", "remove a program");
  uninstall->add_option("--dom", domid)->required();
  uninstall->add_option("--id", id)->required();

  auto* list = app.add_subcommand("list", "programs installed in a domain");
  list->add_option("--dom", domid)->required();

  auto* stats = app.add_subcommand("stats", "run statistics of a program");
  stats->add_option("--dom", domid)->required();
  stats->add_option("--id", id)->required();

  auto* dump = app.add_subcommand("map-dump", "every used slot of a map");
  uint32_t map_index = 0, key_size = 4, value_size = 8;
  dump->add_option("--dom", domid)->required();
  dump->add_option("--id", id)->required();
  dump->add_option("--map", map_index)->required();
  dump->add_option("--key-size", key_size);
  dump->add_option("--value-size", value_size, "bytes (x vCPUs for per-vCPU arrays)");

  auto* reclaim = app.add_subcommand("reclaim", "run the mem.reclaim scan over a range");
  uint64_t first = 0, count = 0;
  reclaim->add_option("--dom", domid)->required();
  reclaim->add_option("--id", id, "mem.reclaim program (0: any)");
  reclaim->add_option("--first", first, "first guest frame")->required();
  reclaim->add_option("--count", count, "frames")->required();

  auto* trace = app.add_subcommand("trace", "drain the domain's trace ring");
  trace->add_option("--dom", domid)->required();

  auto* save = app.add_subcommand("save", "the domain's programs, maps and statistics to a file");
  std::string state_file;
  save->add_option("--dom", domid)->required();
  save->add_option("--out", state_file, "blob file")->required();

  auto* load = app.add_subcommand("load", "make a domain's programs those of a saved blob");
  load->add_option("--dom", domid)->required();
  load->add_option("--in", state_file, "blob file")->required();

  auto* annotate = app.add_subcommand("annotate", "attach a note to a program (carried by save)");
  std::string note;
  annotate->add_option("--dom", domid)->required();
  annotate->add_option("--id", id)->required();
  annotate->add_option("--text", note, "the note (empty clears it)")->required();

  auto* state_dump = app.add_subcommand("state-dump", "print a saved blob (no Xen needed)");
  state_dump->add_option("--in", state_file, "blob file")->required();

  auto* from_stream =
      app.add_subcommand("state-from-stream", "the programs' blob in a save file (no Xen needed)");
  std::string stream_file;
  from_stream->add_option("--in", stream_file, "xl save file or migration stream")->required();
  from_stream->add_option("--out", state_file, "blob file")->required();

  auto* p2m = app.add_subcommand("p2m-type", "the p2m type of an HVM/PVH domain's frames");
  uint64_t gfn = 0, nr = 1;
  p2m->add_option("--dom", domid)->required();
  p2m->add_option("--gfn", gfn, "first guest frame")->required();
  p2m->add_option("--count", nr, "frames");

  CLI11_PARSE(app, argc, argv);

  if (p2m->parsed()) {
    for (uint64_t g = gfn; g < gfn + nr; g++) {
      auto t = hu::xen::P2mType(domid, g);
      if (!t) return Fail(t.error().message);
      std::printf("hu-xenctl: p2m dom=%u gfn=%#" PRIx64 " type=%s\n", domid, g, t->c_str());
    }
    return 0;
  }

  if (from_stream->parsed()) {
    auto blob = StateFromStream(stream_file);
    if (!blob) return Fail(blob.error().message);
    if (!WriteFile(state_file, *blob)) return Fail("cannot write " + state_file);
    std::printf("hu-xenctl: HYPERUPCALL record of %zu bytes in %s\n", blob->size(),
                stream_file.c_str());
    return 0;
  }
  if (state_dump->parsed()) {
    auto blob = ReadFile(state_file);
    if (!blob) return Fail(blob.error().message);
    auto state = hu::xen::ParseState(*blob);
    if (!state) return Fail(state_file + ": " + state.error().message);
    PrintState(*state);
    return 0;
  }

  if (install->parsed() || verify->parsed()) {
    std::ifstream in(asm_file);
    if (!in) return Fail("cannot read " + asm_file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string err;
    if (!Substitute(text, sets, err)) return Fail(err);
    hu_hook_id hook = hu::verifier::HookFromName(hook_name);
    if (hook == HU_HOOK_NONE) return Fail("unknown hook '" + hook_name + "'");
    std::vector<hu_map_def> maps(map_specs.size());
    for (size_t i = 0; i < maps.size(); i++)
      if (!ParseMap(map_specs[i], maps[i], err)) return Fail(err);
    std::vector<hu_region> regions(region_specs.size());
    for (size_t i = 0; i < regions.size(); i++)
      if (!ParseRegion(region_specs[i], regions[i], err)) return Fail(err);
    auto insns = hu::Assemble(text);
    if (!insns) return Fail(asm_file + ": " + insns.error().message);
    if (!no_verify || verify->parsed()) {
      hu::verifier::Options opts;
      opts.hook = hook;
      opts.maps = maps;
      auto report = hu::verifier::Verify(*insns, opts);
      if (!report.accepted) {
        std::printf("hu-xenctl: rejected %s: %s\n", asm_file.c_str(), report.error.c_str());
        return 3;
      }
      if (verify->parsed()) {
        std::printf("hu-xenctl: accepted %s (%zu insns)\n", asm_file.c_str(), insns->size());
        return 0;
      }
    }
    auto dc = Domctl::Open();
    if (!dc) return Fail(dc.error().message);
    auto st = (*dc)->Install(hu::xen::InstallArgs{domid, id, hook, *insns, maps, regions, budget,
                                                  max_grace_us, jit != "off", jit == "plain"});
    if (!st) return Fail(st.error().message);
    std::printf("hu-xenctl: installed dom=%u id=%" PRIu64 " hook=%s insns=%zu jit=%s\n", domid, id,
                hook_name.c_str(), insns->size(), jit.c_str());
    return 0;
  }

  auto dc = Domctl::Open();
  if (!dc) return Fail(dc.error().message);
  if (uninstall->parsed()) {
    if (auto st = (*dc)->Uninstall(domid, id); !st) return Fail(st.error().message);
    std::printf("hu-xenctl: uninstalled dom=%u id=%" PRIu64 "\n", domid, id);
  } else if (list->parsed()) {
    auto progs = (*dc)->List(domid);
    if (!progs) return Fail(progs.error().message);
    std::printf("hu-xenctl: dom=%u programs=%zu\n", domid, progs->size());
    for (const auto& p : *progs) {
      const char* engine = !(p.flags & HU_XEN_PROG_JIT)        ? "interpreter"
                           : (p.flags & HU_XEN_PROG_JIT_PLAIN) ? "jit-plain"
                                                               : "jit";
      std::printf("hu-xenctl: prog id=%" PRIu64
                  " hook=%s insns=%u maps=%u regions=%u engine=%s jit_bytes=%u\n",
                  p.id, hu::verifier::HookName(static_cast<hu_hook_id>(p.hook)), p.ninsns, p.nmaps,
                  p.nregions, engine, p.jit_bytes);
    }
  } else if (stats->parsed()) {
    auto s = (*dc)->Stats(domid, id);
    if (!s) return Fail(s.error().message);
    std::printf(
        "hu-xenctl: stats dom=%u id=%" PRIu64 " runs=%" PRIu64 " insns=%" PRIu64 " run_ns=%" PRIu64
        " budget_aborts=%" PRIu64 " errors=%" PRIu64 " last_result=%" PRIu64
        " last_err=%u last_err_pc=%u cycles=%" PRIu64 " cycles_per_run=%" PRIu64 " nested=%" PRIu64
        " acted=%" PRIu64 " acted_units=%" PRIu64 " overridden=%" PRIu64 " jit_runs=%" PRIu64 "\n",
        domid, id, s->runs, s->insns, s->run_ns, s->budget_aborts, s->errors, s->last_result,
        s->last_err, s->last_err_pc, s->cycles, s->runs ? s->cycles / s->runs : 0, s->nested,
        s->acted, s->acted_units, s->overridden, s->jit_runs);
  } else if (dump->parsed()) {
    auto slots = (*dc)->MapDump(domid, id, map_index, key_size, value_size);
    if (!slots) return Fail(slots.error().message);
    for (const auto& s : *slots) {
      std::printf("hu-xenctl: map dom=%u id=%" PRIu64 " map=%u key=%s value=%s\n", domid, id,
                  map_index, Hex(s.key).c_str(), Words(s.value).c_str());
    }
  } else if (reclaim->parsed()) {
    auto r = (*dc)->ReclaimScan(domid, id, first, count);
    if (!r) return Fail(r.error().message);
    std::printf("hu-xenctl: reclaim dom=%u first=%#" PRIx64 " count=%" PRIu64 " scanned=%" PRIu64
                " free=%" PRIu64 " errors=%" PRIu64 " bitmap=%s\n",
                domid, first, count, r->frames, r->nr_free, r->nr_errors, Hex(r->bitmap).c_str());
  } else if (save->parsed()) {
    auto blob = (*dc)->Save(domid);
    if (!blob) return Fail(blob.error().message);
    if (!WriteFile(state_file, *blob)) return Fail("cannot write " + state_file);
    auto state = hu::xen::ParseState(*blob);
    if (!state) return Fail("Xen's blob does not parse: " + state.error().message);
    std::printf("hu-xenctl: saved dom=%u programs=%zu bytes=%zu to %s\n", domid,
                state->programs.size(), blob->size(), state_file.c_str());
  } else if (load->parsed()) {
    auto blob = ReadFile(state_file);
    if (!blob) return Fail(blob.error().message);
    auto n = (*dc)->Load(domid, *blob);
    if (!n) return Fail(n.error().message);
    std::printf("hu-xenctl: loaded dom=%u programs=%u from %s\n", domid, *n, state_file.c_str());
  } else if (annotate->parsed()) {
    std::vector<uint8_t> bytes(note.begin(), note.end());
    if (auto st = (*dc)->Annotate(domid, id, bytes); !st) return Fail(st.error().message);
    std::printf("hu-xenctl: annotated dom=%u id=%" PRIu64 "\n", domid, id);
  } else if (trace->parsed()) {
    auto t = (*dc)->TraceRead(domid);
    if (!t) return Fail(t.error().message);
    std::printf("hu-xenctl: trace dom=%u records=%zu lost=%u\n", domid, t->records.size(), t->lost);
    for (const auto& r : t->records) {
      std::printf("hu-xenctl: trace id=%" PRIu64 " t=%" PRIu64 " data=%s\n", r.prog_id, r.time_ns,
                  Hex(r.data).c_str());
    }
  }
  return 0;
}
