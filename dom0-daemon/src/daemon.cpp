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
  EventBus bus;
  CoreConfig ccfg;
  ccfg.verifier_log_level = o.verifier_log_level;
  Core core(**backend, **store, bus, ccfg);
  GuestEndpoints endpoints(core, o.guest_socket_dir);
  Pump pump(**backend, core, endpoints);
  (*backend)->SetDomainEventSink([&pump](const DomainEvent& ev) { pump.OnDomainEvent(ev); });
  if (auto st = (*backend)->Start(); !st) {
    spdlog::error("backend {} did not start: {}", o.backend, st.error().message);
    return 1;
  }
  if (auto st = core.Restore(); !st) {
    spdlog::error("restoring state from {}: {}", o.state_dir, st.error().message);
    (*backend)->Stop();
    return 1;
  }

  grpc::EnableDefaultHealthCheckService(true);
  for (const auto& d : (*backend)->Domains()) {
    if (!d.running) continue;
    if (auto st = endpoints.Open(d.domid); !st) {
      spdlog::error("dom{}: {}", d.domid, st.error().message);
      (*backend)->Stop();
      return 1;
    }
  }
  OperatorService op(core, bus);
  auto server = StartOperatorServer(o.op, &op);
  if (!server) {
    spdlog::error("{}", server.error().message);
    endpoints.CloseAll();
    (*backend)->Stop();
    return 1;
  }
  if (auto* health = (*server)->GetHealthCheckService()) health->SetServingStatus(true);
  pump.Start();
  spdlog::info("hyperupcalld ready: backend {}, {} domains, state {}", (*backend)->Name(),
               (*backend)->Domains().size(), o.state_dir);

  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("signal {}: shutting down", sig);
  op.Stop();
  bus.CloseAll();
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  endpoints.CloseAll();
  pump.Stop();
  (*backend)->Stop();
  if (!o.op.unix_socket.empty()) ::unlink(o.op.unix_socket.c_str());
  spdlog::info("stopped");
  return 0;
}

}  // namespace hu::daemon
