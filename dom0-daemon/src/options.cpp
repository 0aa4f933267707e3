#include "options.hpp"

#include <CLI/CLI.hpp>

#include "names.hpp"

namespace hu::daemon {

int ParseOptions(int argc, char** argv, DaemonOptions* o) {
  o->op.unix_socket = "/run/hyperupcall/operator.sock";
  CLI::App app{
      "hyperupcalld: verifies guests' hyperupcall programs and installs them into the "
      "hypervisor"};
  app.add_option("--backend", o->backend, "hypervisor backend")
      ->check(CLI::IsMember(BackendNames()))
      ->capture_default_str();
  app.add_option("--state", o->state_dir, "state directory (SQLite database)")
      ->capture_default_str();
  app.add_option("--operator-socket", o->op.unix_socket,
                 "operator API unix socket (mode 0660); empty to serve TCP only")
      ->capture_default_str();
  app.add_option(
      "--operator-tcp", o->op.tcp_address,
      "also serve the operator API on TCP ADDR:PORT (needs --tls-cert/--tls-key/--tls-ca)");
  app.add_option("--tls-cert", o->op.tls_cert, "server certificate (PEM) for --operator-tcp");
  app.add_option("--tls-key", o->op.tls_key, "server private key (PEM) for --operator-tcp");
  app.add_option("--tls-ca", o->op.tls_ca, "CA (PEM) that client certificates must chain to");
  app.add_option("--guest-socket-dir", o->guest_socket_dir,
                 "sim: one guest channel per domain, DIR/<domid>.sock")
      ->capture_default_str();
  auto* cfg = app.add_option("--sim-config", o->backend_cfg.sim_config,
                             "sim: JSON file with host and guests")
                  ->check(CLI::ExistingFile);
  app.add_option("--sim-guests", o->backend_cfg.sim_guests, "sim: N guests, domids 1..N")
      ->check(CLI::Range(1, 64))
      ->excludes(cfg);
  app.add_option("--sim-kallsyms-dir", o->backend_cfg.sim_kallsyms_dir,
                 "sim: where each guest's kallsyms is written, DIR/<domid>/kallsyms "
                 "(default: STATE/kallsyms)");
  app.add_option("--libvirt-uri", o->libvirt_uri,
                 "libvirt connection (xen:///system; test:///default in tests): names, UUIDs, "
                 "lifecycle and per-domain policy from the domain XML");
  app.add_option("--libvirt-hook-socket", o->libvirt_hook_socket,
                 "unix socket the libvirt libxl hook script reports to "
                 "(/run/hyperupcall/libvirt-hook.sock)");
  app.add_option("--log-level", o->log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--verifier-log-level", o->verifier_log_level,
                 "verifier log kept per program: 0 errors, 1 summary, 2 every insn")
      ->check(CLI::Range(0, 2))
      ->capture_default_str();
  fleet::AddFleetOptions(app, o->fleet);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  o->backend_cfg.state_dir = o->state_dir;
  o->backend_cfg.guest_socket_dir = o->guest_socket_dir;
  if (o->backend_cfg.sim_kallsyms_dir.empty()) {
    o->backend_cfg.sim_kallsyms_dir = o->state_dir + "/kallsyms";
  }
  return -1;
}

}  // namespace hu::daemon
