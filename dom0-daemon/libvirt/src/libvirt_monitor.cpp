// The libvirt connection: identity lookups, policy metadata, and domain
// events turned into LibvirtEvents with the ids libvirt forgets on stop.
#include "hyperupcall/daemon/libvirt_monitor.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <mutex>

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
          history.push_back({LibvirtIdentityChange::Kind::kRenamed, ev.old_name, ev.domain.name,
                             ev.domain.uuid, ev.domain.uuid, std::chrono::system_clock::now()});
        break;
      case Kind::kDefined: {
        ev.domain.persistent = true;
        auto gone = gone_by_name.find(ev.domain.name);
        if (gone != gone_by_name.end()) {
          if (gone->second != ev.domain.uuid) {
            ev.previous_uuid = gone->second;
            history.push_back({LibvirtIdentityChange::Kind::kUuidChanged, ev.domain.name,
                               ev.domain.name, gone->second, ev.domain.uuid,
                               std::chrono::system_clock::now()});
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
  StateOf(opaque).Deliver(ev);
}

}  // namespace

struct LibvirtMonitor::Impl {
  std::string uri;
  virConnectPtr conn = nullptr;
  std::shared_ptr<MonitorState> state = std::make_shared<MonitorState>();
  std::vector<int> callbacks;
  bool close_cb = false;
  std::unique_ptr<StateRef> close_ref;  // outlives conn: destroyed after ~Impl's body

  ~Impl() {
    if (conn) {
      for (int id : callbacks) virConnectDomainEventDeregisterAny(conn, id);
      if (close_cb) virConnectUnregisterCloseCallback(conn, CloseCb);
      virConnectClose(conn);
    }
    libvirt_internal::ReleaseEventLoop();
  }

  Result<DomainRef> Find(std::string_view who) {
    std::string w(who);
    virDomainPtr d = nullptr;
    if (LooksLikeUuid(w)) d = virDomainLookupByUUIDString(conn, w.c_str());
    if (!d)
      if (auto n = AsNumber(w)) d = virDomainLookupByID(conn, int(*n));
    if (!d) d = virDomainLookupByName(conn, w.c_str());
    if (!d)
      return MakeError(ErrorCode::kNotFound,
                       "libvirt (" + uri + ") knows no domain with name, UUID or id '" + w + "'");
    return DomainRef(d);
  }
};

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
  }
  return "unknown";
}

Result<std::unique_ptr<LibvirtMonitor>> LibvirtMonitor::Open(const std::string& uri) {
  libvirt_internal::AcquireEventLoop();
  auto impl = std::make_unique<Impl>();  // releases the loop on every path
  impl->uri = uri;
  impl->conn = virConnectOpen(uri.c_str());
  if (!impl->conn) return LibvirtError(ErrorCode::kUnavailable, "libvirt: cannot open " + uri);
  // Remote drivers (xen:///system goes through libvirtd) notice a dead
  // daemon through keepalives; local ones say "unsupported", which is fine.
  virConnectSetKeepAlive(impl->conn, 5, 3);
  virResetLastError();

  // Seed the id table before events arrive, so a stop seen later still
  // knows which id the domain ran under.
  virDomainPtr* doms = nullptr;
  int n = virConnectListAllDomains(impl->conn, &doms, 0);
  if (n < 0) return LibvirtError(ErrorCode::kUnavailable, "libvirt: cannot list domains of " + uri);
  for (int i = 0; i < n; i++) {
    impl->state->Remember(Snapshot(doms[i]));
    virDomainFree(doms[i]);
  }
  free(doms);

  // libvirt frees the opaque only for a registration that succeeded.
  auto opaque = [&] { return new StateRef(impl->state); };
  StateRef* ref = opaque();
  int id =
      virConnectDomainEventRegisterAny(impl->conn, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                       VIR_DOMAIN_EVENT_CALLBACK(LifecycleCb), ref, FreeStateRef);
  if (id < 0) {
    delete ref;
    return LibvirtError(ErrorCode::kUnavailable, "libvirt: cannot subscribe to events of " + uri);
  }
  impl->callbacks.push_back(id);
  ref = opaque();
  id = virConnectDomainEventRegisterAny(impl->conn, nullptr, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                        VIR_DOMAIN_EVENT_CALLBACK(MetadataCb), ref, FreeStateRef);
  // Older drivers lack metadata events; lifecycle events are what matter.
  if (id >= 0)
    impl->callbacks.push_back(id);
  else
    delete ref;
  // Drivers without close callbacks (test) accept the registration and
  // never free the opaque, so the monitor owns it (freed after close).
  impl->close_ref = std::make_unique<StateRef>(impl->state);
  if (virConnectRegisterCloseCallback(impl->conn, CloseCb, impl->close_ref.get(), nullptr) == 0)
    impl->close_cb = true;
  virResetLastError();
  return std::unique_ptr<LibvirtMonitor>(new LibvirtMonitor(std::move(impl)));
}

const std::string& LibvirtMonitor::uri() const { return impl_->uri; }

Result<std::vector<LibvirtDomain>> LibvirtMonitor::Domains() {
  virDomainPtr* doms = nullptr;
  int n = virConnectListAllDomains(impl_->conn, &doms, 0);
  if (n < 0) return LibvirtError(ErrorCode::kUnavailable, "libvirt: cannot list domains");
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
  if (virDomainPtr d = virDomainLookupByID(impl_->conn, int(domid))) {
    DomainRef ref(d);
    return Snapshot(d);
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

}  // namespace hu::daemon
