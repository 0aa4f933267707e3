#include "daemon.hpp"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "core.hpp"
#include "events.hpp"
#include "guest_endpoints.hpp"
#include "hyperupcall/daemon/libvirt_backend.hpp"
#include "hyperupcall/daemon/libvirt_bridge.hpp"
#include "hyperupcall/daemon/libvirt_hook.hpp"
#include "operator_service.hpp"
#include "pump.hpp"
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

// The domain XML's policy over the default, as the domain's own; malformed
// XML changes nothing and is logged with its line.
void ApplyXmlPolicy(Core& core, LibvirtMonitor& lv, const std::string& uuid, uint32_t domid) {
  auto x = lv.ReadPolicy(uuid);
  if (!x) {
    spdlog::error("libvirt: {}", x.error().message);
    return;
  }
  if (!x->has_value()) return;
  Policy p = OverlayLibvirtPolicy(core.GetPolicy(std::nullopt).policy, **x);
  if (auto v = core.SetPolicy(domid, p, "libvirt XML <metadata> of " + uuid); !v) {
    spdlog::error("libvirt policy of dom{}: {}", domid, v.error().message);
  }
}

}  // namespace

int RunDaemon(const DaemonOptions& o) {
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
  if (auto st = ValidateOperatorEndpoint(o.op); !st) {
    spdlog::error("{}", st.error().message);
    return 2;
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
  if (!o.libvirt_uri.empty()) {
    auto m = LibvirtMonitor::Open(o.libvirt_uri);
    if (!m) {
      spdlog::error("{}", m.error().message);
      return 1;
    }
    libvirt = std::move(*m);
    named = std::make_unique<LibvirtNamedBackend>(*be, *libvirt);
    be = named.get();
  }
  EventBus bus;
  CoreConfig ccfg;
  ccfg.verifier_log_level = o.verifier_log_level;
  Core core(*be, **store, bus, ccfg);
  GuestEndpoints endpoints(core, o.guest_socket_dir);
  Pump pump(*be, core, endpoints);
  be->SetDomainEventSink([&pump](const DomainEvent& ev) { pump.OnDomainEvent(ev); });
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
    named->SetLibvirtEventSink([&core, &lv = *libvirt](const LibvirtEvent& ev) {
      using K = LibvirtEvent::Kind;
      if ((ev.kind == K::kStarted || ev.kind == K::kMetadataChanged) && ev.domid) {
        ApplyXmlPolicy(core, lv, ev.domain.uuid, *ev.domid);
      } else if (ev.kind == K::kRenamed) {
        spdlog::info("libvirt: domain {} renamed '{}' -> '{}'", ev.domain.uuid, ev.old_name,
                     ev.domain.name);
      }
    });
    if (auto all = libvirt->Domains(); all.ok()) {
      for (const auto& d : *all) {
        if (d.domid) ApplyXmlPolicy(core, *libvirt, d.uuid, *d.domid);
      }
    }
    if (!o.libvirt_hook_socket.empty()) {
      auto l =
          LibvirtHookListener::Listen(o.libvirt_hook_socket, [&named](const LibvirtHookMessage& m) {
            spdlog::info("libvirt hook: {} {} {}", m.name, m.op, m.sub_op);
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
  auto server = StartOperatorServer(o.op, &op);
  if (!server) {
    spdlog::error("{}", server.error().message);
    endpoints.CloseAll();
    be->Stop();
    return 1;
  }
  if (auto* health = (*server)->GetHealthCheckService()) health->SetServingStatus(true);
  pump.Start();
  spdlog::info("hyperupcalld ready: backend {}, {} domains, state {}", be->Name(),
               be->Domains().size(), o.state_dir);

  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("signal {}: shutting down", sig);
  op.Stop();
  bus.CloseAll();
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  endpoints.CloseAll();
  pump.Stop();
  be->Stop();
  if (!o.op.unix_socket.empty()) ::unlink(o.op.unix_socket.c_str());
  spdlog::info("stopped");
  return 0;
}

}  // namespace hu::daemon
