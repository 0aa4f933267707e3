#include "xen_backend.hpp"

extern "C" {
#include <xenstore.h>
}

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "program_note.hpp"
#include "state_blob.hpp"

namespace hu::daemon {
namespace {

// Per-vCPU arrays come back as one value per vCPU; Xen caps vCPUs far
// below this, and says ENOBUFS rather than truncating.
constexpr uint32_t kMaxVcpusForMaps = 128;

xen::ProgramNote NoteOf(const ProgramImage& image, const std::string& host) {
  xen::ProgramNote note{image.name, {}, image.id, host};
  for (const auto& m : image.maps) note.maps.push_back(m.name);
  return note;
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1)) return "?";
  return name;
}

// What the stream says about one program: its note names it and its maps
// (a program installed without the daemon has none: named by its id).
ArrivingProgram Arriving(uint32_t domid, const xen::SavedProgram& p) {
  auto note = xen::DecodeNote(p.annotation);
  ArrivingProgram a;
  a.source_id = note.id ? note.id : p.id;
  a.origin = note.host.empty() ? "a host that did not say" : note.host;
  a.image.domid = domid;
  a.image.hook = p.hook;
  a.image.name = note.name.empty() ? fmt::format("prog-{}", p.id) : note.name;
  a.image.insns = p.insns;
  a.image.regions = p.regions;
  a.image.run_budget = p.budget;
  for (size_t i = 0; i < p.maps.size(); i++) {
    std::string name = note.maps.size() == p.maps.size() ? note.maps[i] : fmt::format("map{}", i);
    a.image.maps.push_back(MapSpec{name, p.maps[i].def});
  }
  return a;
}

std::string Read(xs_handle* xs, const std::string& path) {
  unsigned int len = 0;
  char* v = static_cast<char*>(xs_read(xs, XBT_NULL, path.c_str(), &len));
  if (!v) return {};
  std::string out(v, len);
  std::free(v);
  return out;
}

}  // namespace

Result<std::unique_ptr<XenBackend>> XenBackend::Open() {
  auto dc = xen::Domctl::Open();
  if (!dc) return dc.error();
  xs_handle* xs = xs_open(0);
  if (!xs) {
    return MakeError(ErrorCode::kUnavailable,
                     std::string("xs_open: ") + std::strerror(errno) + " (is xenstored running?)");
  }
  auto be = std::unique_ptr<XenBackend>(new XenBackend(std::move(*dc), xs));
  be->host_ = HostName();
  return be;
}

Result<uint32_t> XenBackend::Restore(uint32_t domid, const std::vector<uint8_t>& blob) {
  auto state = xen::ParseState(blob);
  if (!state) return MakeError(state.error().code, "the stream's " + state.error().message);
  if (!arrivals_) {
    return MakeError(ErrorCode::kUnavailable, "the daemon is not ready to adopt programs");
  }
  std::vector<ArrivingProgram> arriving;
  for (const auto& p : state->programs) arriving.push_back(Arriving(domid, p));
  // Policy and verifier first, without this backend's lock (they ask it
  // about domains): nothing the daemon refuses ever reaches Xen.
  auto images = arrivals_->Adopt(domid, arriving);
  if (!images) return images.error();
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < images->size(); i++) {
    const ProgramImage& img = (*images)[i];
    auto& p = state->programs[i];
    p.id = img.id;
    // This host's policy sets budget, grace cap and engine, as at install.
    p.budget = img.run_budget;
    p.max_grace_us = img.hook == HU_HOOK_SCHED_PREEMPT ? img.max_grace_us : 0;
    p.jit = img.jit != JitMode::kOff ? HU_XEN_JIT : 0;
    p.annotation = xen::EncodeNote(NoteOf(img, host_));
    ids.push_back(img.id);
  }
  Result<uint32_t> n = 0u;
  {
    std::lock_guard lock(mu_);
    n = dc_->Load(domid, xen::SerializeState(*state));
    if (n) {
      for (const auto& img : *images) programs_[{domid, img.id}] = img.maps;
    }
  }
  if (!n) arrivals_->AdoptionFailed(domid, ids, n.error().message);
  return n;
}

XenBackend::~XenBackend() {
  Stop();
  xs_close(xs_);
}

std::vector<DomainInfo> XenBackend::ReadDomains() {
  std::vector<DomainInfo> out;
  unsigned int n = 0;
  char** ids = xs_directory(xs_, XBT_NULL, "/local/domain", &n);
  if (!ids) return out;
  for (unsigned int i = 0; i < n; i++) {
    char* end = nullptr;
    unsigned long domid = std::strtoul(ids[i], &end, 10);
    if (*ids[i] == '\0' || *end != '\0' || domid == 0 || domid >= 0x7ff0) continue;  // dom0, junk
    std::string base = "/local/domain/" + std::string(ids[i]);
    DomainInfo d;
    d.domid = static_cast<uint32_t>(domid);
    d.name = Read(xs_, base + "/name");
    // "vm" is /vm/<uuid>: the toolstack's record, not the guest's claim.
    std::string vm = Read(xs_, base + "/vm");
    if (auto slash = vm.rfind('/'); slash != std::string::npos) d.uuid = vm.substr(slash + 1);
    unsigned int ncpu = 0;
    if (char** cpus = xs_directory(xs_, XBT_NULL, (base + "/cpu").c_str(), &ncpu)) {
      std::free(cpus);
      d.vcpus = ncpu;
    }
    d.memory_kib = std::strtoull(Read(xs_, base + "/memory/target").c_str(), nullptr, 10);
    d.running = true;
    out.push_back(std::move(d));
  }
  std::free(ids);
  return out;
}

std::vector<DomainInfo> XenBackend::Domains() {
  std::lock_guard lock(mu_);
  return ReadDomains();
}

Status XenBackend::Install(const ProgramImage& image) {
  std::vector<hu_map_def> defs;
  for (const auto& m : image.maps) defs.push_back(m.def);
  std::lock_guard lock(mu_);
  // The operator's grace cap means something to sched.preempt only; Xen
  // refuses it on any other hook.
  const uint32_t grace = image.hook == HU_HOOK_SCHED_PREEMPT ? image.max_grace_us : 0;
  // Policy jit=off keeps Xen's interpreter; auto and on ask for x86-64
  // code (Xen interprets what it cannot translate; list and stats say
  // which engine runs it).
  auto st = dc_->Install(xen::InstallArgs{image.domid, image.id, image.hook, image.insns, defs,
                                          image.regions, image.run_budget, grace,
                                          image.jit != JitMode::kOff});
  if (!st) return st;
  programs_[{image.domid, image.id}] = image.maps;
  // The note travels with the program through save and migration. Xen
  // without it (an older series) still runs the program: say so, go on.
  if (auto a = dc_->Annotate(image.domid, image.id, xen::EncodeNote(NoteOf(image, host_))); !a) {
    spdlog::warn("dom{}: program {}: no note for save/restore: {}", image.domid, image.id,
                 a.error().message);
  }
  return st;
}

Status XenBackend::Uninstall(uint32_t domid, uint64_t prog_id) {
  std::lock_guard lock(mu_);
  auto st = dc_->Uninstall(domid, prog_id);
  if (st || st.error().code == ErrorCode::kNotFound) programs_.erase({domid, prog_id});
  return st;
}

Result<ProgramStats> XenBackend::Stats(uint32_t domid, uint64_t prog_id) {
  std::lock_guard lock(mu_);
  auto s = dc_->Stats(domid, prog_id);
  if (!s) return s.error();
  ProgramStats out{s->runs,        s->insns,  s->run_ns, s->budget_aborts, s->errors,
                   s->last_result, s->cycles, s->acted,  s->acted_units,   s->overridden};
  out.jit_runs = s->jit_runs;
  return out;
}

Result<hu_map_def> XenBackend::MapDef(uint32_t domid, uint64_t prog_id, uint32_t map_index) {
  auto it = programs_.find({domid, prog_id});
  if (it == programs_.end()) {
    return MakeError(ErrorCode::kNotFound, "program " + std::to_string(prog_id) +
                                               " not installed by this daemon in domain " +
                                               std::to_string(domid));
  }
  if (map_index >= it->second.size()) {
    return MakeError(ErrorCode::kNotFound, "program " + std::to_string(prog_id) + " has " +
                                               std::to_string(it->second.size()) +
                                               " maps, no map " + std::to_string(map_index));
  }
  return it->second[map_index].def;
}

Result<std::vector<MapEntry>> XenBackend::MapDump(uint32_t domid, uint64_t prog_id,
                                                  uint32_t map_index) {
  std::lock_guard lock(mu_);
  auto def = MapDef(domid, prog_id, map_index);
  if (!def) return def.error();
  uint32_t value_size = def->value_size;
  if (def->type == HU_MAP_PERVCPU_ARRAY) value_size *= kMaxVcpusForMaps;
  auto slots = dc_->MapDump(domid, prog_id, map_index, def->key_size, value_size);
  if (!slots) return slots.error();
  std::vector<MapEntry> out;
  for (auto& s : *slots) out.push_back(MapEntry{std::move(s.key), std::move(s.value)});
  return out;
}

Status XenBackend::MapUpdate(uint32_t domid, uint64_t prog_id, uint32_t map_index,
                             const MapEntry& entry) {
  std::lock_guard lock(mu_);
  auto def = MapDef(domid, prog_id, map_index);
  if (!def) return def.error();
  if (entry.key.size() != def->key_size) {
    return MakeError(ErrorCode::kInvalidArgument, "map " + std::to_string(map_index) + ": key is " +
                                                      std::to_string(entry.key.size()) +
                                                      " bytes, the map's keys are " +
                                                      std::to_string(def->key_size));
  }
  // Per-vCPU arrays take one value per vCPU; Xen checks the total.
  if (entry.value.empty() || entry.value.size() % def->value_size != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "map " + std::to_string(map_index) + ": value is " +
                         std::to_string(entry.value.size()) + " bytes, not a multiple of " +
                         std::to_string(def->value_size));
  }
  return dc_->MapUpdate(domid, prog_id, map_index, entry.key, entry.value, HU_ANY);
}

std::vector<TraceRecord> XenBackend::DrainTrace() {
  std::lock_guard lock(mu_);
  std::vector<uint32_t> domains;
  for (const auto& [key, maps] : programs_) {
    if (domains.empty() || domains.back() != key.first) domains.push_back(key.first);
  }
  std::vector<TraceRecord> out;
  for (uint32_t domid : domains) {
    auto batch = dc_->TraceRead(domid);
    if (!batch) continue;  // domain gone; the watcher reports it
    // Xen drops whole records when the ring is full and counts them; say
    // so, or a reader of the event stream would take a gap for silence.
    if (batch->lost) {
      trace_lost_ += batch->lost;
      spdlog::warn("dom{}: Xen's trace ring was full: {} records lost since the last drain", domid,
                   batch->lost);
    }
    for (auto& r : batch->records) {
      out.push_back(TraceRecord{domid, r.prog_id, r.time_ns, std::move(r.data)});
    }
  }
  return out;
}

Result<std::vector<uint64_t>> XenBackend::ReclaimScan(uint32_t domid, uint64_t first_gfn,
                                                      uint64_t count) {
  // The sim backend's cap, so operators see one rule whatever the backend.
  constexpr uint64_t kMaxScan = 1u << 20;
  if (count == 0 || count > kMaxScan) {
    return MakeError(ErrorCode::kInvalidArgument, "reclaim scan of " + std::to_string(count) +
                                                      " frames; 1.." + std::to_string(kMaxScan) +
                                                      " per call");
  }
  if (first_gfn + count < first_gfn) {
    return MakeError(ErrorCode::kInvalidArgument, "reclaim scan: frame range wraps");
  }
  std::lock_guard lock(mu_);
  // Xen knows which programs sit on the hook, including ones installed by
  // another tool; ask it rather than this daemon's bookkeeping. With
  // several, the newest (ids only grow) answers.
  auto progs = dc_->List(domid);
  if (!progs) return progs.error();
  const hu_xen_prog_info* prog = nullptr;
  for (const auto& p : *progs) {
    if (p.hook == HU_HOOK_MEM_RECLAIM && (!prog || p.id > prog->id)) prog = &p;
  }
  if (!prog) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "domain " + std::to_string(domid) + " has no mem.reclaim program installed");
  }
  std::vector<uint64_t> free_gfns;
  for (uint64_t gfn = first_gfn, left = count; left > 0;) {
    uint64_t ask = std::min<uint64_t>(left, HU_XEN_RECLAIM_MAX);
    auto r = dc_->ReclaimScan(domid, prog->id, gfn, ask);
    if (!r) return r.error();
    if (r->frames == 0) {
      return MakeError(ErrorCode::kInternal,
                       "reclaim scan: Xen scanned no frames at gfn " + std::to_string(gfn));
    }
    for (uint64_t i = 0; i < r->frames; i++) {
      if (r->bitmap[i / 8] & (1u << (i % 8))) free_gfns.push_back(gfn + i);
    }
    gfn += r->frames;
    left -= r->frames;
  }
  return free_gfns;
}

Result<ReclaimReport> XenBackend::Reclaim(uint32_t domid, uint64_t max_frames) {
  if (max_frames == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "reclaim of 0 frames");
  }
  std::lock_guard lock(mu_);
  // Xen walks the guest's frame numbers from 0 up, in bounded calls, until
  // enough are back or it reports nothing left to walk; each call pauses
  // the domain only for its short batches. Xen picks the program (any
  // mem.reclaim one): the same choice it makes for a hook.
  ReclaimReport rep;
  for (uint64_t gfn = 0; rep.reclaimed < max_frames;) {
    auto r = dc_->ReclaimFrames(domid, 0, gfn, HU_XEN_RECLAIM_MAX, max_frames - rep.reclaimed);
    if (!r) {
      if (r.error().code == ErrorCode::kNotFound) {
        return MakeError(
            ErrorCode::kFailedPrecondition,
            "domain " + std::to_string(domid) + " has no mem.reclaim program installed");
      }
      return r.error();
    }
    rep.reclaimed += r->reclaimed;
    rep.kept += r->kept;
    rep.busy += r->busy;
    rep.errors += r->errors;
    rep.walked += r->walked;
    if (r->walked == 0) break;  // past the domain's memory
    gfn += r->walked;
  }
  return rep;
}

void XenBackend::SetDomainEventSink(std::function<void(const DomainEvent&)> sink) {
  sink_ = std::move(sink);
}

void XenBackend::JoinGuestChannels(std::string guest_socket_dir, std::string channel_name) {
  std::lock_guard lock(mu_);
  relay_dir_ = std::move(guest_socket_dir);
  channel_name_ = std::move(channel_name);
}

std::string XenBackend::ChannelPath(uint32_t domid) {
  const std::string base = "/local/domain/0/backend/console/" + std::to_string(domid);
  unsigned int n = 0;
  char** devs = xs_directory(xs_, XBT_NULL, base.c_str(), &n);
  if (!devs) return {};
  std::string path;
  for (unsigned int i = 0; i < n && path.empty(); i++) {
    const std::string dev = base + "/" + devs[i];
    if (Read(xs_, dev + "/name") == channel_name_ && Read(xs_, dev + "/connection") == "socket") {
      path = Read(xs_, dev + "/path");
    }
  }
  std::free(devs);
  return path;
}

void XenBackend::SyncRelaysLocked() {
  if (relay_dir_.empty()) return;
  for (auto it = relays_.begin(); it != relays_.end();) {
    if (known_.count(it->first)) {
      ++it;
      continue;
    }
    spdlog::info("dom{}: gone, its guest channel relay stops", it->first);
    it = relays_.erase(it);  // joins the relay's thread
  }
  for (const auto& [domid, d] : known_) {
    if (relays_.count(domid)) continue;
    std::string channel = ChannelPath(domid);
    if (channel.empty()) continue;  // none, or not written yet: a later watch event
    const std::string daemon_socket = relay_dir_ + "/" + std::to_string(domid) + ".sock";
    spdlog::info("dom{}: guest channel {} joined to {}", domid, channel, daemon_socket);
    auto relay = std::make_unique<xen::ChannelRelay>(
        channel, domid, daemon_socket,
        [domid](const std::string& line) { spdlog::info("dom{}: channel: {}", domid, line); });
    // qemu, the channel's backend, starts after the nodes are written.
    relay->Start(300);
    relays_.emplace(domid, std::move(relay));
  }
}

Status XenBackend::Start() {
  {
    std::lock_guard lock(mu_);
    for (auto& d : ReadDomains()) known_[d.domid] = d;
    if (!xs_watch(xs_, "@introduceDomain", "hu") || !xs_watch(xs_, "@releaseDomain", "hu")) {
      return MakeError(ErrorCode::kUnavailable, std::string("xs_watch: ") + std::strerror(errno));
    }
    // Channel nodes may be written after the domain is introduced.
    if (!relay_dir_.empty() && !xs_watch(xs_, "/local/domain/0/backend/console", "hu")) {
      return MakeError(ErrorCode::kUnavailable, std::string("xs_watch: ") + std::strerror(errno));
    }
    SyncRelaysLocked();
  }
  if (!toolstack_path_.empty()) {
    xen::ToolstackHandlers h;
    h.leaving = [this](uint32_t domid, const std::string& dest) {
      if (arrivals_) arrivals_->Leaving(domid, dest);
    };
    h.stayed = [this](uint32_t domid) {
      if (arrivals_) arrivals_->Stayed(domid);
    };
    h.restore = [this](uint32_t domid, const std::vector<uint8_t>& state) {
      return Restore(domid, state);
    };
    auto server = xen::ToolstackServer::Listen(toolstack_path_, std::move(h));
    if (!server) return server.error();
    toolstack_ = std::move(*server);
    spdlog::info("toolstack socket {}: save, restore and migration of programs", toolstack_path_);
  }
  stop_ = false;
  watcher_ = std::thread([this] { WatchLoop(); });
  return Status::Ok();
}

void XenBackend::Stop() {
  toolstack_.reset();
  stop_ = true;
  if (watcher_.joinable()) watcher_.join();
  std::lock_guard lock(mu_);
  relays_.clear();
}

// Each watch event re-reads the domain list and reports the difference:
// xenstore says that something changed, not what.
void XenBackend::WatchLoop() {
  while (!stop_) {
    pollfd p{xs_fileno(xs_), POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    unsigned int n = 0;
    char** ev = xs_read_watch(xs_, &n);
    if (!ev) continue;
    std::free(ev);

    std::vector<DomainEvent> events;
    {
      std::lock_guard lock(mu_);
      std::map<uint32_t, DomainInfo> now;
      for (auto& d : ReadDomains()) now[d.domid] = d;
      for (const auto& [id, d] : now) {
        if (!known_.count(id)) events.push_back(DomainEvent{DomainEvent::Kind::kStarted, d});
      }
      for (const auto& [id, d] : known_) {
        if (now.count(id)) continue;
        DomainInfo gone = d;
        gone.running = false;
        events.push_back(DomainEvent{DomainEvent::Kind::kStopped, gone});
        // Xen released its programs with the domain.
        for (auto it = programs_.begin(); it != programs_.end();) {
          it = it->first.first == id ? programs_.erase(it) : std::next(it);
        }
      }
      known_ = std::move(now);
      SyncRelaysLocked();
    }
    if (sink_) {
      for (const auto& e : events) sink_(e);
    }
  }
}

}  // namespace hu::daemon
