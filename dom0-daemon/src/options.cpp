#include "options.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "names.hpp"

#ifndef HU_VERSION
#define HU_VERSION "unknown"
#endif

namespace hu::daemon {

int ParseOptions(int argc, char** argv, DaemonOptions* o, std::string* error) {
  *o = DaemonOptions{};
  o->op.unix_socket = "/run/hyperupcall/operator.sock";
  CLI::App app{
      "hyperupcalld: verifies guests' hyperupcall programs and installs them into the "
      "hypervisor"};
  app.set_version_flag("--version", std::string("hyperupcalld ") + HU_VERSION);
  // Flags and the file are one set of names: `operator-socket = "/x"`.
  app.allow_config_extras(false);
  app.set_config("--config", kDefaultConfigFile,
                 "configuration file (name = value, flag names without dashes); the command "
                 "line wins. SIGHUP reads it again",
                 false);
  app.add_option("--backend", o->backend, "hypervisor backend")
      ->check(CLI::IsMember(BackendNames()))
      ->capture_default_str();
  app.add_option("--state", o->state_dir, "state directory (SQLite database)")
      ->capture_default_str();
  app.add_option("--operator-socket", o->op.unix_socket,
                 "operator API unix socket (mode 0660); empty to serve TCP only")
      ->capture_default_str();
  app.add_option("--operator-socket-group", o->op.socket_group,
                 "group of the operator socket (and its folder): its members may operate");
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
  app.add_option("--log-level", o->log.level, "trace, debug, info, warn, error (SIGHUP applies it)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--log-format", o->log.format,
                 "text or json (one object per line); timestamps carry their UTC offset")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-file", o->log.file,
                 "append the log to FILE instead of stderr; SIGHUP reopens it (logrotate)");
  app.add_option("--verifier-log-level", o->verifier_log_level,
                 "verifier log kept per program: 0 errors, 1 summary, 2 every insn")
      ->check(CLI::Range(0, 2))
      ->capture_default_str();
  fleet::AddFleetOptions(app, o->fleet);
  app.add_option("--metrics-address", o->metrics_address,
                 "serve Prometheus metrics on http://ADDR:PORT/metrics (e.g. 127.0.0.1:9472)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a bad flag, config key or value is
    // usage (64, the exit-code table in README.md).
    if (!error) return app.exit(e) == 0 ? 0 : kExitUsage;
    *error = e.what();
    return e.get_exit_code() == 0 ? 0 : kExitUsage;
  }
  if (auto* c = app.get_config_ptr(); c && c->count()) o->config_file = c->as<std::string>();
  o->backend_cfg.state_dir = o->state_dir;
  o->backend_cfg.guest_socket_dir = o->guest_socket_dir;
  if (o->backend_cfg.sim_kallsyms_dir.empty()) {
    o->backend_cfg.sim_kallsyms_dir = o->state_dir + "/kallsyms";
  }
  return -1;
}

std::vector<std::string> OptionsNeedingRestart(const DaemonOptions& a, const DaemonOptions& b) {
  std::vector<std::string> out;
  auto cmp = [&out](const char* name, const auto& x, const auto& y) {
    if (x != y) out.push_back(name);
  };
  cmp("backend", a.backend, b.backend);
  cmp("state", a.state_dir, b.state_dir);
  cmp("guest-socket-dir", a.guest_socket_dir, b.guest_socket_dir);
  cmp("operator-socket", a.op.unix_socket, b.op.unix_socket);
  cmp("operator-socket-group", a.op.socket_group, b.op.socket_group);
  cmp("operator-tcp", a.op.tcp_address, b.op.tcp_address);
  cmp("tls-cert", a.op.tls_cert, b.op.tls_cert);
  cmp("tls-key", a.op.tls_key, b.op.tls_key);
  cmp("tls-ca", a.op.tls_ca, b.op.tls_ca);
  cmp("sim-config", a.backend_cfg.sim_config, b.backend_cfg.sim_config);
  cmp("sim-guests", a.backend_cfg.sim_guests, b.backend_cfg.sim_guests);
  cmp("sim-kallsyms-dir", a.backend_cfg.sim_kallsyms_dir, b.backend_cfg.sim_kallsyms_dir);
  cmp("libvirt-uri", a.libvirt_uri, b.libvirt_uri);
  cmp("libvirt-hook-socket", a.libvirt_hook_socket, b.libvirt_hook_socket);
  cmp("verifier-log-level", a.verifier_log_level, b.verifier_log_level);
  cmp("metrics-address", a.metrics_address, b.metrics_address);
  cmp("fleet-etcd", a.fleet.etcd, b.fleet.etcd);
  cmp("fleet-host", a.fleet.host, b.fleet.host);
  cmp("fleet-prefix", a.fleet.prefix, b.fleet.prefix);
  cmp("fleet-advertise", a.fleet.advertise, b.fleet.advertise);
  cmp("fleet-lease-ttl", a.fleet.lease_ttl_s, b.fleet.lease_ttl_s);
  return out;
}

}  // namespace hu::daemon
