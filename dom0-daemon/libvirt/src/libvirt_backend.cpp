#include "hyperupcall/daemon/libvirt_backend.hpp"

#include "hyperupcall/daemon/libvirt_bridge.hpp"

namespace hu::daemon {

LibvirtNamedBackend::LibvirtNamedBackend(Backend& inner, LibvirtMonitor& monitor)
    : inner_(inner), monitor_(monitor) {}

LibvirtNamedBackend::~LibvirtNamedBackend() { monitor_.Subscribe(nullptr); }

void LibvirtNamedBackend::SetLibvirtEventSink(std::function<void(const LibvirtEvent&)> sink) {
  libvirt_sink_ = std::move(sink);
}

std::string LibvirtNamedBackend::Name() const { return inner_.Name() + "+libvirt"; }

std::vector<DomainInfo> LibvirtNamedBackend::Domains() {
  std::vector<DomainInfo> out = inner_.Domains();
  // Without libvirt's answer the backend's names are still right enough.
  if (auto lv = monitor_.Domains(); lv.ok()) ApplyLibvirtNames(out, *lv);
  return out;
}

Status LibvirtNamedBackend::Install(const ProgramImage& image) { return inner_.Install(image); }

Status LibvirtNamedBackend::Uninstall(uint32_t domid, uint64_t prog_id) {
  return inner_.Uninstall(domid, prog_id);
}

Result<ProgramStats> LibvirtNamedBackend::Stats(uint32_t domid, uint64_t prog_id) {
  return inner_.Stats(domid, prog_id);
}

Result<std::vector<MapEntry>> LibvirtNamedBackend::MapDump(uint32_t domid, uint64_t prog_id,
                                                           uint32_t map_index) {
  return inner_.MapDump(domid, prog_id, map_index);
}

Status LibvirtNamedBackend::MapUpdate(uint32_t domid, uint64_t prog_id, uint32_t map_index,
                                      const MapEntry& entry) {
  return inner_.MapUpdate(domid, prog_id, map_index, entry);
}

std::vector<TraceRecord> LibvirtNamedBackend::DrainTrace() { return inner_.DrainTrace(); }

void LibvirtNamedBackend::SetDomainEventSink(std::function<void(const DomainEvent&)> sink) {
  sink_ = std::move(sink);
  inner_.SetDomainEventSink([this](const DomainEvent& ev) {
    DomainEvent named = ev;
    if (auto d = monitor_.Describe(ev.domain.domid); d.ok()) {
      named.domain.name = d->name;
      named.domain.uuid = d->uuid;
    }
    Forward(std::move(named));
  });
}

Status LibvirtNamedBackend::Start() {
  if (Status st = inner_.Start(); !st) return st;
  {
    std::lock_guard lock(mu_);
    for (const DomainInfo& d : inner_.Domains())
      if (d.running) running_.insert(d.domid);
  }
  monitor_.Subscribe([this](const LibvirtEvent& ev) { OnLibvirt(ev); });
  return Status::Ok();
}

void LibvirtNamedBackend::Stop() {
  monitor_.Subscribe(nullptr);
  inner_.Stop();
}

void LibvirtNamedBackend::Forward(DomainEvent ev) {
  {
    // The hypervisor backend and libvirt both see most transitions; the
    // daemon must act on each once.
    std::lock_guard lock(mu_);
    const bool started = ev.kind == DomainEvent::Kind::kStarted;
    if (started ? !running_.insert(ev.domain.domid).second : running_.erase(ev.domain.domid) == 0)
      return;
  }
  if (sink_) sink_(ev);
}

Status LibvirtNamedBackend::OnHook(const LibvirtHookMessage& m) {
  if (!m.domid) return Status::Ok();  // prepare: no id yet, nothing to act on
  DomainEvent ev;
  if (m.op == "started") {
    ev.kind = DomainEvent::Kind::kStarted;
  } else if (m.op == "stopped" || m.op == "release") {
    ev.kind = DomainEvent::Kind::kStopped;
  } else {
    return Status::Ok();
  }
  ev.domain.domid = *m.domid;
  ev.domain.name = m.name;
  ev.domain.uuid = m.uuid;
  ev.domain.running = ev.kind == DomainEvent::Kind::kStarted;
  Forward(std::move(ev));
  return Status::Ok();
}

void LibvirtNamedBackend::OnLibvirt(const LibvirtEvent& ev) {
  if (auto be = ToBackendDomainEvent(ev)) Forward(std::move(*be));
  if (libvirt_sink_) libvirt_sink_(ev);
}

}  // namespace hu::daemon
