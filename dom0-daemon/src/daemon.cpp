#include "daemon.hpp"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "core.hpp"
#include "events.hpp"
#include "fleet_agent.hpp"
#include "guest_endpoints.hpp"
#include "hyperupcall/daemon/libvirt_backend.hpp"
#include "hyperupcall/daemon/libvirt_bridge.hpp"
#include "hyperupcall/daemon/libvirt_hook.hpp"
#include "metrics.hpp"
#include "operator_service.hpp"
#include "pump.hpp"
#include "service_notify.hpp"
#include "socket_claim.hpp"
#include "state_lock.hpp"
#include "store.hpp"

namespace hu::daemon {

namespace {

bool MakeDir(const std::string& dir, std::filesystem::perms perms) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    spdlog::error("cannot create {}: {}", dir, ec.message());
    return false;
  }
  std::filesystem::permissions(dir, perms, ec);
  return true;
}

// The domain XML's policy over the default, as the domain's own, unless an
// operator override recorded over this same XML stands (ChooseXmlPolicy);
// malformed XML changes nothing and is logged with its line.
void ApplyXmlPolicy(Core& core, Store& store, LibvirtMonitor& lv, const std::string& uuid,
                    uint32_t domid) {
  auto x = lv.ReadPolicy(uuid);
  if (!x) {
    spdlog::error("libvirt: {}", x.error().message);
    return;
  }
  if (!x->has_value()) return;
  const std::string fp = LibvirtPolicyFingerprint(**x);
  auto src = store.ScopedPolicySource(core.PolicyScopeOf(domid));
  if (!src) {
    spdlog::error("libvirt policy of dom{}: {}", domid, src.error().message);
    return;
  }
  auto choice = *src ? ChooseXmlPolicy((*src)->origin, (*src)->xml_fingerprint, fp)
                     : ChooseXmlPolicy("", "", fp);
  if (!choice.apply) {
    spdlog::info("dom{} ({}): {}", domid, uuid, choice.why);
    return;
  }
  Policy p = OverlayLibvirtPolicy(core.GetPolicy(std::nullopt).policy, **x);
  if (auto v = core.SetPolicy(domid, p, "libvirt XML <metadata> of " + uuid + "; " + choice.why,
                              PolicySource{"xml", fp});
      !v) {
    spdlog::error("libvirt policy of dom{}: {}", domid, v.error().message);
  }
}

const char* IdentityKindName(LibvirtIdentityChange::Kind k) {
  return k == LibvirtIdentityChange::Kind::kRenamed ? "renamed" : "uuid-changed";
}

void PersistIdentityChange(Store& store, const LibvirtIdentityChange& c) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(c.when.time_since_epoch()).count();
  spdlog::info("libvirt: domain {} '{}' -> {} '{}' ({})", c.old_uuid, c.old_name, c.new_uuid,
               c.new_name, IdentityKindName(c.kind));
  if (auto st = store.AddIdentityChange(
          {ms, IdentityKindName(c.kind), c.old_name, c.new_name, c.old_uuid, c.new_uuid});
      !st) {
    spdlog::error("libvirt identity history: {}", st.error().message);
  }
}

// libvirt's names as they are now, for the next start's comparison.
void SaveLibvirtNames(Store& store, const std::vector<LibvirtDomain>& domains) {
  std::map<std::string, std::string> names;
  for (const auto& d : domains) names[d.uuid] = d.name;
  if (auto st = store.SaveLibvirtNames(names); !st) {
    spdlog::error("libvirt names: {}", st.error().message);
  }
}

// The monitor's history starts where the state database's ends.
Status SeedIdentityHistory(Store& store, LibvirtMonitor& lv) {
  auto rows = store.IdentityChanges();
  if (!rows) return rows.error();
  std::vector<LibvirtIdentityChange> h;
  for (const auto& r : *rows) {
    h.push_back({r.kind == "renamed" ? LibvirtIdentityChange::Kind::kRenamed
                                     : LibvirtIdentityChange::Kind::kUuidChanged,
                 r.old_name, r.new_name, r.old_uuid, r.new_uuid,
                 std::chrono::system_clock::time_point(std::chrono::milliseconds(r.time_ms))});
  }
  lv.SeedHistory(std::move(h));
  return Status::Ok();
}

// At the daemon's first connection to libvirt (at start, or later when
// libvirt was unreachable then): what changed while the daemon was down
// (libvirt's names now against those stored at the last run) goes to the
// history.
void CatchUpIdentities(Store& store, LibvirtMonitor& lv) {
  auto before = store.LibvirtNames();
  auto now = lv.Domains();
  if (!before || !now) {
    spdlog::warn("libvirt: renames while the daemon was down not checked: {}",
                 !before ? before.error().message : now.error().message);
    return;
  }
  std::vector<LibvirtIdentityChange> h;
  for (auto& c : DiffLibvirtIdentities(*before, *now, std::chrono::system_clock::now())) {
    PersistIdentityChange(store, c);
    h.push_back(std::move(c));
  }
  SaveLibvirtNames(store, *now);
  if (!h.empty()) lv.SeedHistory(std::move(h));
}

// A libvirt domain now runs under domid: its policy is the one kept under
// its UUID (said in the audit log when it has one); a domid-scoped row from
// before (older database, or the daemon's first connection) moves to the
// UUID when `adopt`.
void BindLibvirtDomain(Core& core, PolicyScopes& scopes, const LibvirtDomain& d, uint32_t domid,
                       bool adopt) {
  scopes.Bind(domid, d.uuid);
  if (adopt) {
    if (auto st = core.AdoptDomidPolicy(domid); !st) {
      spdlog::error("policy of dom{}: {}", domid, st.error().message);
    }
  }
  if (auto v = core.GetPolicy(domid); !v.inherited) {
    core.AuditNote(domid, "policy-applied",
                   fmt::format("libvirt domain '{}' ({}) runs as domain {}: its stored policy "
                               "applies: {}",
                               d.name, d.uuid, domid, PolicyToJson(v.policy).dump()));
  }
}

// The running libvirt domains' domids bound to their UUIDs before the core
// restores its programs, so they are re-verified under their domain's own
// policy; a domid-scoped row of such a domain (a database from before
// policies followed the UUID) moves to the UUID first.
void BindRunningDomains(Store& store, PolicyScopes& scopes, LibvirtMonitor& lv) {
  auto all = lv.Domains();
  if (!all) {
    spdlog::warn("libvirt: {}", all.error().message);
    return;
  }
  for (const auto& d : *all) {
    if (!d.domid) continue;
    scopes.Bind(*d.domid, d.uuid);
    auto row = store.ScopedPolicySource(DomainPolicyScope(*d.domid));
    auto own = store.ScopedPolicySource(LibvirtPolicyScope(d.uuid));
    if (!row || !own || !row->has_value()) continue;
    if (auto desc = MoveDomidPolicyToUuid(store, *d.domid, d.uuid, own->has_value()); !desc) {
      spdlog::error("policy of dom{}: {}", *d.domid, desc.error().message);
    } else {
      spdlog::info("{}", *desc);
    }
  }
}

}  // namespace

// SIGHUP: the configuration read again; the log takes its new level,
// format and file (reopened, for logrotate); what needs a restart is said.
static void Reload(const DaemonOptions& running, const ReadOptions& reread) {
  NotifyReloading();
  std::string why;
  auto next = reread(&why);
  if (!next) {
    spdlog::error("SIGHUP: configuration not reloaded, the running one stays: {}", why);
  } else {
    if (auto st = ConfigureLogging(next->log); !st) {
      spdlog::error("SIGHUP: {}", st.error().message);
    }
    auto restart = OptionsNeedingRestart(running, *next);
    spdlog::info("SIGHUP: configuration reloaded from {}, log reopened (level {}, format {}){}",
                 next->config_file, next->log.level, next->log.format,
                 restart.empty() ? ""
                                 : fmt::format("; changed but needing a restart: {}",
                                               fmt::join(restart, ", ")));
  }
  NotifyReady("serving");
}

int RunDaemon(const DaemonOptions& o, const ReadOptions& reread) {
  using std::filesystem::perms;
  const auto dir_perms = perms::owner_all | perms::group_read | perms::group_exec;
  if (!MakeDir(o.state_dir, perms::owner_all) || !MakeDir(o.guest_socket_dir, dir_perms) ||
      !MakeDir(o.backend_cfg.sim_kallsyms_dir, dir_perms)) {
    return 1;
  }
  if (!o.op.unix_socket.empty()) {
    auto parent = std::filesystem::path(o.op.unix_socket).parent_path();
    if (!parent.empty() && !MakeDir(parent.string(), dir_perms)) return 1;
  }
  // Before anything touches the state or a socket: a second daemon on the
  // same state stops here, naming the first.
  auto lock = StateLock::Acquire(o.state_dir);
  if (!lock) {
    spdlog::error("{}", lock.error().message);
    return 1;
  }
  if (auto st = ValidateOperatorEndpoint(o.op); !st) {
    spdlog::error("{}", st.error().message);
    return kExitUsage;
  }
  // Sockets are created by bind() under this mask: no window in which one
  // is reachable by others before its chmod to 0660.
  ::umask(0007);

  // Signals are taken synchronously by this thread; every other thread
  // inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto store = Store::Open(o.state_dir + "/state.db");
  if (!store) {
    spdlog::error("{}", store.error().message);
    return 1;
  }
  auto backend = MakeBackend(o.backend, o.backend_cfg);
  if (!backend) {
    spdlog::error("backend {}: {}", o.backend, backend.error().message);
    return 1;
  }
  // With --libvirt-uri the core sees the backend through libvirt's eyes.
  std::unique_ptr<LibvirtMonitor> libvirt;
  std::unique_ptr<LibvirtNamedBackend> named;
  Backend* be = backend->get();
  PolicyScopes scopes;
  if (!o.libvirt_uri.empty()) {
    // An unreachable libvirt (libvirtd not up yet) does not keep the daemon
    // from serving: it runs on the backend's names and connects when it can.
    if (auto m = LibvirtMonitor::Open(o.libvirt_uri)) {
      libvirt = std::move(*m);
    } else {
      spdlog::warn("{}; serving with the backend's names, connecting in the background",
                   m.error().message);
      libvirt = LibvirtMonitor::OpenDisconnected(o.libvirt_uri);
    }
    named = std::make_unique<LibvirtNamedBackend>(*be, *libvirt);
    be = named.get();
  }
  EventBus bus;
  CoreConfig ccfg = o.core;
  ccfg.verifier_log_level = o.verifier_log_level;
  Core core(*be, **store, bus, ccfg);
  if (libvirt) {
    core.SetPolicyScopes(&scopes);
    if (libvirt->connected()) BindRunningDomains(**store, scopes, *libvirt);
  }
  // The fleet's last known state is in force before the first program is
  // restored or registered.
  std::unique_ptr<fleet::Agent> fleet;
  if (o.fleet.enabled()) {
    auto a =
        fleet::Agent::Create(o.fleet, o.state_dir, o.op, **backend, libvirt ? &scopes : nullptr);
    if (!a) {
      spdlog::error("fleet: {}", a.error().message);
      return 2;
    }
    fleet = std::move(*a);
    core.SetFleet(fleet.get());
  }
  GuestEndpoints endpoints(core, o.guest_socket_dir, o.guest_limits);
  Pump pump(*be, core, endpoints);
  be->SetDomainEventSink([&pump](const DomainEvent& ev) { pump.OnDomainEvent(ev); });
  be->SetArrivalPolicy(&core);
  if (auto st = be->Start(); !st) {
    spdlog::error("backend {} did not start: {}", o.backend, st.error().message);
    return 1;
  }
  if (auto st = core.Restore(); !st) {
    spdlog::error("restoring state from {}: {}", o.state_dir, st.error().message);
    be->Stop();
    return 1;
  }

  std::unique_ptr<LibvirtHookListener> hook;
  if (libvirt) {
    if (auto st = SeedIdentityHistory(**store, *libvirt); !st) {
      spdlog::error("{}", st.error().message);
      be->Stop();
      return 1;
    }
    const bool connected_at_start = libvirt->connected();
    // Until the first connection is reconciled, domains reported running
    // are those found at the daemon's start: their domid rows are adopted.
    auto first_sync = std::make_shared<std::atomic<bool>>(!connected_at_start);
    named->SetLibvirtEventSink([&core, &scopes, first_sync, &st = **store,
                                &lv = *libvirt](const LibvirtEvent& ev) {
      using K = LibvirtEvent::Kind;
      if (ev.identity_change) PersistIdentityChange(st, *ev.identity_change);
      if (ev.kind == K::kDisconnected) {
        spdlog::warn("libvirt: connection to {} lost ({}); reconnecting", lv.uri(), ev.detail);
      } else if (ev.kind == K::kReconnected) {
        spdlog::info("libvirt: {} {} {}", first_sync->load() ? "connected to" : "reconnected to",
                     lv.uri(), ev.detail);
        if (first_sync->exchange(false)) CatchUpIdentities(st, lv);
      } else if (ev.detail == "while disconnected") {
        spdlog::info("libvirt: domain '{}' {} while disconnected", ev.domain.name,
                     LibvirtEventKindName(ev.kind));
      }
      if (ev.kind == K::kDefined || ev.kind == K::kRenamed || ev.kind == K::kReconnected) {
        if (auto all = lv.Domains(); all.ok()) SaveLibvirtNames(st, *all);
      }
      if ((ev.kind == K::kStopped || ev.kind == K::kCrashed) && ev.domid) {
        scopes.Unbind(*ev.domid, ev.domain.uuid);
      }
      if (ev.kind == K::kStarted && ev.domid) {
        BindLibvirtDomain(core, scopes, ev.domain, *ev.domid, first_sync->load());
      }
      const auto domid = ev.kind == K::kDefined ? ev.domain.domid : ev.domid;
      if ((ev.kind == K::kStarted || ev.kind == K::kDefined || ev.kind == K::kMetadataChanged) &&
          domid) {
        ApplyXmlPolicy(core, st, lv, ev.domain.uuid, *domid);
      }
    });
    if (connected_at_start) {
      CatchUpIdentities(**store, *libvirt);
      if (auto all = libvirt->Domains(); all.ok()) {
        for (const auto& d : *all) {
          if (!d.domid) continue;
          BindLibvirtDomain(core, scopes, d, *d.domid, true);
          ApplyXmlPolicy(core, **store, *libvirt, d.uuid, *d.domid);
        }
      }
    } else {
      libvirt->ConnectInBackground();
    }
    if (!o.libvirt_hook_socket.empty()) {
      if (auto st = ClaimSocketPath(o.libvirt_hook_socket, "libvirt hook socket"); !st) {
        spdlog::error("{}", st.error().message);
        be->Stop();
        return 1;
      }
      auto l = LibvirtHookListener::Listen(
          o.libvirt_hook_socket, [&named, &scopes](const LibvirtHookMessage& m) {
            spdlog::info("libvirt hook: {} {} {}", m.name, m.op, m.sub_op);
            // The hook comes before libvirt's event: the domain's policy
            // is its UUID's from the first program it can load.
            if (m.domid && !m.uuid.empty()) {
              if (m.op == "start" || m.op == "started") scopes.Bind(*m.domid, m.uuid);
              if (m.op == "stopped" || m.op == "release") scopes.Unbind(*m.domid, m.uuid);
            }
            return named->OnHook(m);
          });
      if (!l) {
        spdlog::error("{}", l.error().message);
        be->Stop();
        return 1;
      }
      hook = std::move(*l);
    }
  }
  grpc::EnableDefaultHealthCheckService(true);
  for (const auto& d : be->Domains()) {
    if (!d.running) continue;
    if (auto st = endpoints.Open(d.domid); !st) {
      spdlog::error("dom{}: {}", d.domid, st.error().message);
      be->Stop();
      return 1;
    }
  }
  OperatorService op(core, bus, libvirt.get());
  op.SetPeerLookup(
      [&endpoints](std::string_view peer) { return endpoints.OperatorPeer(std::string(peer)); });
  std::vector<grpc::Service*> more;
  if (fleet) more.push_back(fleet->service());
  auto server = StartOperatorServer(
      o.op, &op, more,
      [&endpoints](const std::string& path, grpc::Server* s, const PrepareSocket& prepare) {
        return endpoints.ListenOperator(path, s, prepare);
      });
  if (!server) {
    spdlog::error("{}", server.error().message);
    endpoints.CloseAll();
    be->Stop();
    return 1;
  }
  if (auto* health = server->server->GetHealthCheckService()) health->SetServingStatus(true);
  if (fleet) fleet->Start(core, server->server->GetHealthCheckService());
  MetricsSources sources;
  sources.guest_channels = [&endpoints] { return endpoints.Count(); };
  if (fleet) sources.fleet_degraded = [&fleet] { return fleet->Report().degraded(); };
  Metrics metrics(core, bus, *be, std::move(sources));
  metrics.Start();
  std::unique_ptr<MetricsServer> metrics_server;
  if (!o.metrics_address.empty()) {
    auto m = MetricsServer::Start(o.metrics_address, metrics);
    if (!m) {
      spdlog::error("{}", m.error().message);
      metrics.Stop();
      if (fleet) fleet->Stop();
      endpoints.CloseAll();
      server->server->Shutdown();
      server->socket.RemoveIfOurs();
      be->Stop();
      return 1;
    }
    metrics_server = std::move(*m);
  }
  pump.Start();
  spdlog::info("hyperupcalld ready: backend {}, {} domains, state {}", be->Name(),
               be->Domains().size(), o.state_dir);
  NotifyReady(fmt::format("serving: backend {}, {} domains", be->Name(), be->Domains().size()));

  int sig = 0;
  for (;;) {
    sigwait(&sigs, &sig);
    if (sig != SIGHUP) break;
    Reload(o, reread);
  }
  spdlog::info("signal {} ({}): shutting down", sig, strsignal(sig));
  NotifyStopping();
  if (fleet) fleet->Stop();
  metrics_server.reset();
  op.Stop();
  bus.CloseAll();
  // The acceptor (in endpoints) feeds both servers: it stops first.
  endpoints.CloseAll();
  server->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  pump.Stop();
  metrics.Stop();
  be->Stop();
  // Only sockets this daemon created: one a later daemon made is its own.
  server->socket.RemoveIfOurs();
  spdlog::info("stopped");
  return 0;
}

}  // namespace hu::daemon
