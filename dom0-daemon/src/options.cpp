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
      ->check(CLI::Range(1u, kMaxSimGuests))
      ->excludes(cfg);
  app.add_option("--sim-kallsyms-dir", o->backend_cfg.sim_kallsyms_dir,
                 "sim: where each guest's kallsyms is written, DIR/<domid>/kallsyms "
                 "(default: STATE/kallsyms)");
  o->backend_cfg.toolstack_socket = "/run/hyperupcall/toolstack.sock";
  app.add_option("--toolstack-socket", o->backend_cfg.toolstack_socket,
                 "xen: where the patched libxenguest hands over the programs of a restored or "
                 "migrated domain (mode 0600, root only); empty: no save/restore of programs")
      ->capture_default_str();
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
  // What one guest may take of the daemon (guest_limits.hpp), and how the
  // state database is written (group commit, retention).
  GuestLimits& gl = o->guest_limits;
  app.add_option("--guest-max-connections", gl.max_connections,
                 "connections a guest may hold open at once; more are closed at accept")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  app.add_option("--guest-streams", gl.streams_per_connection,
                 "calls at once on one guest connection (HTTP/2; the client queues the rest)")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  app.add_option("--guest-max-inflight", gl.max_inflight,
                 "calls a guest may have in flight over all its connections; more are "
                 "RESOURCE_EXHAUSTED")
      ->check(CLI::Range(1u, 65536u))
      ->capture_default_str();
  app.add_option("--guest-rate", gl.rate, "requests per second a guest may send (0: no limit)")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--guest-burst", gl.burst, "requests a guest may send at once above its rate")
      ->check(CLI::Range(1.0, 1e9))
      ->capture_default_str();
  app.add_option("--guest-request-timeout-ms", gl.request_timeout_ms,
                 "time for a call's request to arrive, and for its answer to be read")
      ->check(CLI::Range(100u, 3600000u))
      ->capture_default_str();
  app.add_option("--guest-idle-timeout-ms", gl.idle_timeout_ms,
                 "a guest connection without calls is closed after this")
      ->check(CLI::Range(100u, 86400000u))
      ->capture_default_str();
  app.add_option("--workers", gl.workers,
                 "threads that verify guests' programs, taking guests in turn (0: 2 per CPU, "
                 "at least 4)")
      ->check(CLI::Range(0u, 256u))
      ->capture_default_str();
  app.add_option("--commit-batch", o->core.commit_batch,
                 "decisions committed (fsync'd) together at most; 1 commits each alone")
      ->check(CLI::Range(size_t{1}, size_t{65536}))
      ->capture_default_str();
  app.add_option("--audit-keep", o->core.audit_keep, "audit rows kept, the oldest dropped")
      ->check(CLI::Range(uint64_t{1000}, uint64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--finished-keep", o->core.max_finished_kept,
                 "programs no longer live (rejected, detached, failed) kept per domain")
      ->check(CLI::Range(size_t{1}, size_t{100000}))
      ->capture_default_str();
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
  gl.reply_timeout_ms = gl.request_timeout_ms;
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
  const GuestLimits &ga = a.guest_limits, &gb = b.guest_limits;
  cmp("guest-max-connections", ga.max_connections, gb.max_connections);
  cmp("guest-streams", ga.streams_per_connection, gb.streams_per_connection);
  cmp("guest-max-inflight", ga.max_inflight, gb.max_inflight);
  cmp("guest-rate", ga.rate, gb.rate);
  cmp("guest-burst", ga.burst, gb.burst);
  cmp("guest-request-timeout-ms", ga.request_timeout_ms, gb.request_timeout_ms);
  cmp("guest-idle-timeout-ms", ga.idle_timeout_ms, gb.idle_timeout_ms);
  cmp("workers", ga.workers, gb.workers);
  cmp("commit-batch", a.core.commit_batch, b.core.commit_batch);
  cmp("audit-keep", a.core.audit_keep, b.core.audit_keep);
  cmp("finished-keep", a.core.max_finished_kept, b.core.max_finished_kept);
  return out;
}

}  // namespace hu::daemon
