// The libvirt connection: identity lookups, policy metadata, and domain
// events turned into LibvirtEvents with the ids libvirt forgets on stop.
#include "hyperupcall/daemon/libvirt_monitor.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "domain_events.hpp"
#include "event_loop.hpp"

namespace hu::daemon {
namespace {

using libvirt_internal::TranslateLifecycle;

struct DomainFree {
  void operator()(virDomain* d) const { virDomainFree(d); }
};
using DomainRef = std::unique_ptr<virDomain, DomainFree>;

std::string LastError() {
  const char* m = virGetLastErrorMessage();
  return m ? m : "unknown libvirt error";
}

Error LibvirtError(ErrorCode code, const std::string& what) {
  return MakeError(code, what + ": " + LastError());
}

std::string UuidOf(virDomainPtr d) {
  char buf[VIR_UUID_STRING_BUFLEN] = {};
  if (virDomainGetUUIDString(d, buf) < 0) return "";
  return buf;
}

std::optional<uint32_t> IdOf(virDomainPtr d) {
  unsigned int id = virDomainGetID(d);
  if (id == static_cast<unsigned int>(-1)) return std::nullopt;
  return id;
}

LibvirtDomain Snapshot(virDomainPtr d) {
  LibvirtDomain out;
  const char* name = virDomainGetName(d);
  out.name = name ? name : "";
  out.uuid = UuidOf(d);
  out.active = virDomainIsActive(d) == 1;
  out.persistent = virDomainIsPersistent(d) == 1;
  if (out.active) out.domid = IdOf(d);
  return out;
}

bool LooksLikeUuid(std::string_view s) {
  size_t hex = 0;
  for (char c : s) {
    if (std::isxdigit(static_cast<unsigned char>(c)))
      hex++;
    else if (c != '-')
      return false;
  }
  return hex == 32;
}

std::optional<uint32_t> AsNumber(std::string_view s) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// What the monitor remembers of a domain between events.
struct Known {
  std::string name;
  std::optional<uint32_t> domid;       // while running
  std::optional<uint32_t> last_domid;  // the id it had when it last ran
  bool active = false;
  bool persistent = false;
};

// Shared with libvirt's callbacks, which may outlive the monitor object
// until libvirt calls their free function.
struct MonitorState {
  mutable std::mutex mu;
  std::map<std::string, Known> known;               // by UUID
  std::map<std::string, std::string> gone_by_name;  // undefined: name -> UUID
  std::vector<LibvirtIdentityChange> history;
  LibvirtMonitor::EventSink sink;
  // The reconnect thread waits on cv for `lost` (set by the close
  // callback) or `stop` (monitor destroyed).
  std::condition_variable cv;
  bool lost = false;
  bool stop = false;

  void MarkLost() {
    {
      std::lock_guard lock(mu);
      lost = true;
    }
    cv.notify_all();
  }

  // Records a history entry and returns it for the event.
  LibvirtIdentityChange Record(LibvirtIdentityChange::Kind kind, std::string old_name,
                               std::string new_name, std::string old_uuid, std::string new_uuid) {
    history.push_back({kind, std::move(old_name), std::move(new_name), std::move(old_uuid),
                       std::move(new_uuid), std::chrono::system_clock::now()});
    return history.back();
  }

  void Remember(const LibvirtDomain& d) {
    Known& k = known[d.uuid];
    k.name = d.name;
    k.domid = d.domid;
    if (d.domid) k.last_domid = d.domid;
    k.active = d.active;
    k.persistent = d.persistent;
  }

  void Deliver(const LibvirtEvent& ev) {
    LibvirtMonitor::EventSink s;
    {
      std::lock_guard lock(mu);
      s = sink;
    }
    if (s) s(ev);
  }

  void OnLifecycle(virDomainPtr dom, int event, int detail);
  void OnMetadata(virDomainPtr dom, int type, const char* nsuri);
};

void MonitorState::OnLifecycle(virDomainPtr dom, int event, int detail) {
  using Kind = LibvirtEvent::Kind;
  auto t = TranslateLifecycle(event, detail);
  LibvirtEvent ev;
  ev.detail = t.detail;
  const char* name = virDomainGetName(dom);
  ev.domain.name = name ? name : "";
  ev.domain.uuid = UuidOf(dom);
  // The id carried by the event, not a fresh query: the domain may be gone.
  std::optional<uint32_t> id = IdOf(dom);
  {
    std::lock_guard lock(mu);
    auto it = known.find(ev.domain.uuid);
    Known prev = it != known.end() ? it->second : Known{};
    bool was_known = it != known.end();
    if (t.rename_old_half) {
      // Keep the old name until the DEFINED/RENAMED half names the new one.
      if (!was_known) known[ev.domain.uuid] = Known{ev.domain.name, {}, {}, false, true};
      return;
    }
    if (!t.kind) return;
    ev.kind = *t.kind;
    ev.domain.persistent = prev.persistent;
    ev.domain.active = prev.active;
    ev.domain.domid = prev.domid;
    switch (ev.kind) {
      case Kind::kStarted:
      case Kind::kResumed:
      case Kind::kSuspended:
        ev.domain.active = true;
        if (id) ev.domain.domid = id;
        ev.domid = ev.domain.domid;
        break;
      case Kind::kStopped:
      case Kind::kCrashed:
        ev.domid = id ? id : (prev.domid ? prev.domid : prev.last_domid);
        // A crash kept for a dump (CRASHED event) still runs; STOPPED/CRASHED does not.
        if (event == VIR_DOMAIN_EVENT_STOPPED) {
          ev.domain.active = false;
          ev.domain.domid.reset();
        }
        break;
      case Kind::kRenamed:
        ev.old_name = was_known ? prev.name : "";
        ev.domain.persistent = true;
        if (!ev.old_name.empty() && ev.old_name != ev.domain.name)
          ev.identity_change = Record(LibvirtIdentityChange::Kind::kRenamed, ev.old_name,
                                      ev.domain.name, ev.domain.uuid, ev.domain.uuid);
        break;
      case Kind::kDefined: {
        ev.domain.persistent = true;
        auto gone = gone_by_name.find(ev.domain.name);
        if (gone != gone_by_name.end()) {
          if (gone->second != ev.domain.uuid) {
            ev.previous_uuid = gone->second;
            ev.identity_change = Record(LibvirtIdentityChange::Kind::kUuidChanged, ev.domain.name,
                                        ev.domain.name, gone->second, ev.domain.uuid);
          }
          gone_by_name.erase(gone);
        }
        break;
      }
      case Kind::kUndefined:
        ev.domain.persistent = false;
        break;
      default:
        break;
    }
    if (ev.kind == Kind::kUndefined && !ev.domain.active) {
      gone_by_name[ev.domain.name] = ev.domain.uuid;
      known.erase(ev.domain.uuid);
    } else {
      Known& k = known[ev.domain.uuid];
      std::optional<uint32_t> last = k.last_domid;
      Remember(ev.domain);
      if (!ev.domain.domid) known[ev.domain.uuid].last_domid = ev.domid ? ev.domid : last;
    }
  }
  Deliver(ev);
}

void MonitorState::OnMetadata(virDomainPtr dom, int type, const char* nsuri) {
  if (type != VIR_DOMAIN_METADATA_ELEMENT || !nsuri ||
      std::string_view(nsuri) != kLibvirtPolicyNamespace)
    return;
  LibvirtEvent ev;
  ev.kind = LibvirtEvent::Kind::kMetadataChanged;
  const char* name = virDomainGetName(dom);
  ev.domain.name = name ? name : "";
  ev.domain.uuid = UuidOf(dom);
  ev.detail = nsuri;
  {
    std::lock_guard lock(mu);
    auto it = known.find(ev.domain.uuid);
    if (it != known.end()) {
      ev.domain.domid = it->second.domid;
      ev.domain.active = it->second.active;
      ev.domain.persistent = it->second.persistent;
    }
    ev.domid = ev.domain.domid;
  }
  Deliver(ev);
}

using StateRef = std::shared_ptr<MonitorState>;

void FreeStateRef(void* opaque) { delete static_cast<StateRef*>(opaque); }
MonitorState& StateOf(void* opaque) { return **static_cast<StateRef*>(opaque); }

void LifecycleCb(virConnectPtr, virDomainPtr dom, int event, int detail, void* opaque) {
  StateOf(opaque).OnLifecycle(dom, event, detail);
}

void MetadataCb(virConnectPtr, virDomainPtr dom, int type, const char* nsuri, void* opaque) {
  StateOf(opaque).OnMetadata(dom, type, nsuri);
}

void CloseCb(virConnectPtr, int reason, void* opaque) {
  LibvirtEvent ev;
  ev.kind = LibvirtEvent::Kind::kDisconnected;
  switch (reason) {
    case VIR_CONNECT_CLOSE_REASON_EOF:
      ev.detail = "eof";
      break;
    case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
      ev.detail = "keepalive timeout";
      break;
    case VIR_CONNECT_CLOSE_REASON_ERROR:
      ev.detail = "error";
      break;
    default:
      ev.detail = "closed by client";
      break;
  }
  // Wake the reconnect thread first: the sink may take its time.
  StateOf(opaque).MarkLost();
  StateOf(opaque).Deliver(ev);
}

struct ConnClose {
  void operator()(virConnect* c) const { virConnectClose(c); }
};
using ConnRef = std::unique_ptr<virConnect, ConnClose>;

}  // namespace

struct LibvirtMonitor::Impl {
  std::string uri;
  std::shared_ptr<MonitorState> state = std::make_shared<MonitorState>();
  // conn is replaced by the reconnect thread; users take a reference of
  // their own (Conn()) so a swap never closes one under them.
  mutable std::mutex conn_mu;
  virConnectPtr conn = nullptr;  // null while disconnected
  std::vector<int> callbacks;
  bool close_cb = false;
  std::unique_ptr<StateRef> close_ref;  // outlives conn: destroyed after ~Impl's body
  std::thread reconnector;

  ~Impl() {
    {
      std::lock_guard lock(state->mu);
      state->stop = true;
    }
    state->cv.notify_all();
    if (reconnector.joinable()) reconnector.join();
    Disconnect();
    libvirt_internal::ReleaseEventLoop();
  }

  ConnRef Conn() const {
    std::lock_guard lock(conn_mu);
    if (!conn || virConnectRef(conn) < 0) return nullptr;
    return ConnRef(conn);
  }

  Error NotConnected() const {
    return MakeError(ErrorCode::kUnavailable,
                     "libvirt: not connected to " + uri + " (reconnecting)");
  }

  // Opens the connection and subscribes to its events.
  Status Connect();
  // Unsubscribes and closes; a dead connection's deregistrations may fail.
  void Disconnect();
  // Listing after a reconnect: what changed while nobody listened.
  void Reconcile(int attempts);
  void ReconnectLoop();

  Result<DomainRef> Find(std::string_view who) {
    auto c = Conn();
    if (!c) return NotConnected();
    std::string w(who);
    virDomainPtr d = nullptr;
    if (LooksLikeUuid(w)) d = virDomainLookupByUUIDString(c.get(), w.c_str());
    if (!d)
      if (auto n = AsNumber(w)) d = virDomainLookupByID(c.get(), int(*n));
    if (!d) d = virDomainLookupByName(c.get(), w.c_str());
    if (!d)
      return MakeError(ErrorCode::kNotFound,
                       "libvirt (" + uri + ") knows no domain with name, UUID or id '" + w + "'");
    return DomainRef(d);
  }
};

Status LibvirtMonitor::Impl::Connect() {
  virConnectPtr c = virConnectOpen(uri.c_str());
  if (!c) return LibvirtError(ErrorCode::kUnavailable, "libvirt: cannot open " + uri);
  // Remote drivers (xen:///system goes through libvirtd) notice a dead
  // daemon through keepalives; local ones say "unsupported", which is fine.
  virConnectSetKeepAlive(c, 5, 3);
  virResetLastError();

  std::vector<int> ids;
  // libvirt frees the opaque only for a registration that succeeded.
  auto* ref = new StateRef(state);
  int id =
      virConnectDomainEventRegisterAny(c, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                       VIR_DOMAIN_EVENT_CALLBACK(LifecycleCb), ref, FreeStateRef);
  if (id < 0) {
    delete ref;
    Error e =
        LibvirtError(ErrorCode::kUnavailable, "libvirt: cannot subscribe to events of " + uri);
    virConnectClose(c);
    return e;
  }
  ids.push_back(id);
  ref = new StateRef(state);
  id = virConnectDomainEventRegisterAny(c, nullptr, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                        VIR_DOMAIN_EVENT_CALLBACK(MetadataCb), ref, FreeStateRef);
  // Older drivers lack metadata events; lifecycle events are what matter.
  if (id >= 0)
    ids.push_back(id);
  else
    delete ref;
  // Drivers without close callbacks (test) accept the registration and
  // never free the opaque, so the monitor owns it (freed after close).
  if (!close_ref) close_ref = std::make_unique<StateRef>(state);
  bool has_close = virConnectRegisterCloseCallback(c, CloseCb, close_ref.get(), nullptr) == 0;
  virResetLastError();
  std::lock_guard lock(conn_mu);
  conn = c;
  callbacks = std::move(ids);
  close_cb = has_close;
  return Status::Ok();
}

void LibvirtMonitor::Impl::Disconnect() {
  virConnectPtr c;
  std::vector<int> ids;
  bool had_close;
  {
    std::lock_guard lock(conn_mu);
    c = conn;
    conn = nullptr;
    ids = std::move(callbacks);
    callbacks.clear();
    had_close = close_cb;
    close_cb = false;
  }
  if (!c) return;
  for (int id : ids) virConnectDomainEventDeregisterAny(c, id);
  if (had_close) virConnectUnregisterCloseCallback(c, CloseCb);
  virConnectClose(c);
  virResetLastError();
}

void LibvirtMonitor::Impl::ReconnectLoop() {
  for (;;) {
    {
      std::unique_lock lock(state->mu);
      state->cv.wait(lock, [&] { return state->lost || state->stop; });
      if (state->stop) return;
      state->lost = false;  // a close of the next connection sets it again
    }
    Disconnect();
    auto delay = kReconnectFirst;
    int attempts = 0;
    for (;;) {
      attempts++;
      if (Connect()) break;
      std::unique_lock lock(state->mu);
      if (state->cv.wait_for(lock, delay, [&] { return state->stop; })) return;
      delay = std::min(delay * 2, kReconnectMax);
    }
    Reconcile(attempts);
  }
}

void LibvirtMonitor::Impl::Reconcile(int attempts) {
  using Kind = LibvirtEvent::Kind;
  std::vector<LibvirtDomain> now;
  if (auto c = Conn()) {
    virDomainPtr* doms = nullptr;
    int n = virConnectListAllDomains(c.get(), &doms, 0);
    if (n < 0) {
      state->MarkLost();  // gone again at once: the loop tries anew
      return;
    }
    for (int i = 0; i < n; i++) {
      now.push_back(Snapshot(doms[i]));
      virDomainFree(doms[i]);
    }
    free(doms);
  }
  std::vector<LibvirtEvent> stops, changes, starts;
  auto make = [](Kind kind, LibvirtDomain d) {
    LibvirtEvent ev;
    ev.kind = kind;
    ev.domain = std::move(d);
    ev.detail = "while disconnected";
    return ev;
  };
  {
    std::lock_guard lock(state->mu);
    std::map<std::string, const LibvirtDomain*> by_uuid;
    std::map<std::string, const LibvirtDomain*> by_name;  // for names that left
    for (const auto& d : now) {
      by_uuid[d.uuid] = &d;
      by_name[d.name] = &d;
    }
    std::map<std::string, std::string> names;
    for (const auto& [uuid, k] : state->known) names[uuid] = k.name;
    for (auto& c : DiffLibvirtIdentities(names, now, std::chrono::system_clock::now())) {
      const bool renamed = c.kind == LibvirtIdentityChange::Kind::kRenamed;
      auto ev = make(renamed ? Kind::kRenamed : Kind::kDefined, *by_uuid.at(c.new_uuid));
      if (renamed)
        ev.old_name = c.old_name;
      else
        ev.previous_uuid = c.old_uuid;
      state->history.push_back(c);
      ev.identity_change = std::move(c);
      changes.push_back(std::move(ev));
    }
    for (auto it = state->known.begin(); it != state->known.end();) {
      const auto& [uuid, k] = *it;
      auto cur = by_uuid.find(uuid);
      const LibvirtDomain* d = cur != by_uuid.end() ? cur->second : nullptr;
      if (k.domid && (!d || d->domid != k.domid)) {
        auto ev = make(Kind::kStopped, d ? *d : LibvirtDomain{k.name, uuid, {}, false, false});
        ev.domid = k.domid;
        stops.push_back(std::move(ev));
      }
      if (d) {
        ++it;
        continue;
      }
      if (!by_name.count(k.name)) state->gone_by_name[k.name] = uuid;
      it = state->known.erase(it);
    }
    for (const auto& d : now) {
      auto k = state->known.find(d.uuid);
      if (d.domid && (k == state->known.end() || k->second.domid != d.domid)) {
        auto ev = make(Kind::kStarted, d);
        ev.domid = d.domid;
        starts.push_back(std::move(ev));
      }
      state->Remember(d);
    }
  }
  for (auto* group : {&stops, &changes, &starts})
    for (const auto& ev : *group) state->Deliver(ev);
  LibvirtEvent done;
  done.kind = Kind::kReconnected;
  done.detail = "after " + std::to_string(attempts) + " attempt" + (attempts == 1 ? "" : "s");
  state->Deliver(done);
}

std::vector<LibvirtIdentityChange> DiffLibvirtIdentities(
    const std::map<std::string, std::string>& name_by_uuid, const std::vector<LibvirtDomain>& now,
    std::chrono::system_clock::time_point when) {
  using K = LibvirtIdentityChange::Kind;
  std::map<std::string, const LibvirtDomain*> by_name;
  std::vector<LibvirtIdentityChange> out;
  for (const auto& d : now) {
    by_name[d.name] = &d;
    auto was = name_by_uuid.find(d.uuid);
    if (was != name_by_uuid.end() && was->second != d.name)
      out.push_back({K::kRenamed, was->second, d.name, d.uuid, d.uuid, when});
  }
  for (const auto& [uuid, name] : name_by_uuid) {
    if (std::any_of(now.begin(), now.end(), [&](const auto& d) { return d.uuid == uuid; }))
      continue;
    // Gone: its name defined under a UUID the snapshot did not have is a UUID change.
    auto same = by_name.find(name);
    if (same != by_name.end() && !name_by_uuid.count(same->second->uuid))
      out.push_back({K::kUuidChanged, name, name, uuid, same->second->uuid, when});
  }
  return out;
}

LibvirtMonitor::LibvirtMonitor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LibvirtMonitor::~LibvirtMonitor() = default;

const char* LibvirtEventKindName(LibvirtEvent::Kind kind) {
  using Kind = LibvirtEvent::Kind;
  switch (kind) {
    case Kind::kDefined:
      return "defined";
    case Kind::kUndefined:
      return "undefined";
    case Kind::kStarted:
      return "started";
    case Kind::kStopped:
      return "stopped";
    case Kind::kCrashed:
      return "crashed";
    case Kind::kSuspended:
      return "suspended";
    case Kind::kResumed:
      return "resumed";
    case Kind::kRenamed:
      return "renamed";
    case Kind::kMetadataChanged:
      return "metadata-changed";
    case Kind::kDisconnected:
      return "disconnected";
    case Kind::kReconnected:
      return "reconnected";
  }
  return "unknown";
}

Result<std::unique_ptr<LibvirtMonitor>> LibvirtMonitor::Open(const std::string& uri) {
  libvirt_internal::AcquireEventLoop();
  auto impl = std::make_unique<Impl>();  // releases the loop on every path
  impl->uri = uri;
  if (auto st = impl->Connect(); !st) return st.error();

  // Seed the id table before events arrive, so a stop seen later still
  // knows which id the domain ran under.
  virDomainPtr* doms = nullptr;
  int n = virConnectListAllDomains(impl->conn, &doms, 0);
  if (n < 0) return LibvirtError(ErrorCode::kUnavailable, "libvirt: cannot list domains of " + uri);
  {
    std::lock_guard lock(impl->state->mu);
    for (int i = 0; i < n; i++) {
      impl->state->Remember(Snapshot(doms[i]));
      virDomainFree(doms[i]);
    }
  }
  free(doms);
  impl->reconnector = std::thread([p = impl.get()] { p->ReconnectLoop(); });
  return std::unique_ptr<LibvirtMonitor>(new LibvirtMonitor(std::move(impl)));
}

std::unique_ptr<LibvirtMonitor> LibvirtMonitor::OpenDisconnected(const std::string& uri) {
  // Registered before any virConnectOpen, as libvirt requires.
  libvirt_internal::AcquireEventLoop();
  auto impl = std::make_unique<Impl>();
  impl->uri = uri;
  impl->reconnector = std::thread([p = impl.get()] { p->ReconnectLoop(); });
  return std::unique_ptr<LibvirtMonitor>(new LibvirtMonitor(std::move(impl)));
}

void LibvirtMonitor::ConnectInBackground() {
  if (!connected()) impl_->state->MarkLost();
}

const std::string& LibvirtMonitor::uri() const { return impl_->uri; }

bool LibvirtMonitor::connected() const {
  std::lock_guard lock(impl_->conn_mu);
  return impl_->conn != nullptr;
}

Result<std::vector<LibvirtDomain>> LibvirtMonitor::Domains() {
  auto c = impl_->Conn();
  if (!c) return impl_->NotConnected();
  virDomainPtr* doms = nullptr;
  int n = virConnectListAllDomains(c.get(), &doms, 0);
  if (n < 0) {
    Error e = LibvirtError(ErrorCode::kUnavailable, "libvirt: cannot list domains");
    // A connection without a close callback dies silently: notice it here.
    if (virConnectIsAlive(c.get()) == 0) impl_->state->MarkLost();
    return e;
  }
  std::vector<LibvirtDomain> out;
  for (int i = 0; i < n; i++) {
    out.push_back(Snapshot(doms[i]));
    virDomainFree(doms[i]);
  }
  free(doms);
  std::lock_guard lock(impl_->state->mu);
  for (const auto& d : out) impl_->state->Remember(d);
  return out;
}

Result<LibvirtDomain> LibvirtMonitor::Lookup(std::string_view who) {
  auto d = impl_->Find(who);
  if (!d) return d.error();
  return Snapshot(d->get());
}

Result<uint32_t> LibvirtMonitor::ResolveDomid(std::string_view who) {
  auto d = Lookup(who);
  if (!d) return d.error();
  if (!d->domid)
    return MakeError(ErrorCode::kFailedPrecondition,
                     "domain '" + d->name + "' (" + d->uuid + ") is not running");
  return *d->domid;
}

Result<LibvirtDomain> LibvirtMonitor::Describe(uint32_t domid) {
  if (auto c = impl_->Conn()) {
    if (virDomainPtr d = virDomainLookupByID(c.get(), int(domid))) {
      DomainRef ref(d);
      return Snapshot(d);
    }
  }
  std::lock_guard lock(impl_->state->mu);
  for (const auto& [uuid, k] : impl_->state->known) {
    if (k.last_domid == domid)
      return LibvirtDomain{k.name, uuid, std::nullopt, k.active, k.persistent};
  }
  return MakeError(ErrorCode::kNotFound,
                   "libvirt (" + impl_->uri + ") knows no domain with id " + std::to_string(domid));
}

Result<std::optional<LibvirtPolicy>> LibvirtMonitor::ReadPolicy(std::string_view who) {
  auto d = impl_->Find(who);
  if (!d) return d.error();
  char* xml = virDomainGetMetadata(d->get(), VIR_DOMAIN_METADATA_ELEMENT, kLibvirtPolicyNamespace,
                                   VIR_DOMAIN_AFFECT_CURRENT);
  if (!xml) {
    if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN_METADATA) return std::optional<LibvirtPolicy>();
    return LibvirtError(ErrorCode::kUnavailable,
                        "libvirt: cannot read metadata of '" + std::string(who) + "'");
  }
  std::string text(xml);
  free(xml);
  auto p = ParseLibvirtPolicy(text);
  if (!p) {
    const char* name = virDomainGetName(d->get());
    return MakeError(ErrorCode::kInvalidArgument, "domain '" + std::string(name ? name : "") +
                                                      "' (" + UuidOf(d->get()) +
                                                      "): " + p.error().message);
  }
  return std::optional<LibvirtPolicy>(std::move(*p));
}

namespace {

Status SetMetadata(virDomainPtr d, const char* xml, std::string_view who) {
  // The running definition and, for a defined domain, the persistent one.
  unsigned int flags = 0;
  if (virDomainIsActive(d) == 1) flags |= VIR_DOMAIN_AFFECT_LIVE;
  if (virDomainIsPersistent(d) == 1) flags |= VIR_DOMAIN_AFFECT_CONFIG;
  if (virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml,
                           xml ? kLibvirtPolicyPrefix : nullptr, kLibvirtPolicyNamespace,
                           flags) < 0)
    return LibvirtError(ErrorCode::kUnavailable,
                        "libvirt: cannot write metadata of '" + std::string(who) + "'");
  return Status::Ok();
}

}  // namespace

Status LibvirtMonitor::WritePolicy(std::string_view who, const LibvirtPolicy& policy) {
  auto d = impl_->Find(who);
  if (!d) return d.error();
  std::string xml = FormatLibvirtPolicy(policy);
  return SetMetadata(d->get(), xml.c_str(), who);
}

Status LibvirtMonitor::ClearPolicy(std::string_view who) {
  auto d = impl_->Find(who);
  if (!d) return d.error();
  return SetMetadata(d->get(), nullptr, who);
}

void LibvirtMonitor::Subscribe(EventSink sink) {
  std::lock_guard lock(impl_->state->mu);
  impl_->state->sink = std::move(sink);
}

std::vector<LibvirtIdentityChange> LibvirtMonitor::History(std::string_view uuid) const {
  std::lock_guard lock(impl_->state->mu);
  std::vector<LibvirtIdentityChange> out;
  for (const auto& h : impl_->state->history)
    if (uuid.empty() || h.old_uuid == uuid || h.new_uuid == uuid) out.push_back(h);
  return out;
}

void LibvirtMonitor::SeedHistory(std::vector<LibvirtIdentityChange> earlier) {
  std::lock_guard lock(impl_->state->mu);
  auto& h = impl_->state->history;
  h.insert(h.begin(), std::make_move_iterator(earlier.begin()),
           std::make_move_iterator(earlier.end()));
}

}  // namespace hu::daemon
