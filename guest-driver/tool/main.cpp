// hyperupcall: the guest's tool for handing programs to dom0.
//   hyperupcall [--connect unix:PATH|hvc:/dev/hvcN] [--kallsyms FILE] [--timeout S] [--json]
//               load FILE.bpf.o [--hook H] [--region R]... [--manifest M] [--prog NAME]
//               verify FILE.bpf.o [--hook H] [--prog NAME] [--log N] [--budget N]
//               unload ID | list [--all] | map dump ID MAP
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "tool.hpp"

#ifndef HU_VERSION
#define HU_VERSION "unknown"
#endif

using namespace hu::guest::tool;

int main(int argc, char** argv) {
  Global g;
  const char* env = std::getenv("HYPERUPCALL_CONNECT");
  g.connect = env && *env ? env : "hvc:/dev/hvc1";

  CLI::App app{"hyperupcall: load verified eBPF programs (hyperupcalls) into the hypervisor"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("hyperupcall ") + HU_VERSION);
  app.add_option("--connect", g.connect,
                 "channel to hyperupcalld: unix:PATH (sim) or hvc:/dev/hvcN (Xen); default "
                 "$HYPERUPCALL_CONNECT, else hvc:/dev/hvc1")
      ->capture_default_str();
  app.add_option("--kallsyms", g.kallsyms, "kernel symbols for __ksym externs and regions")
      ->capture_default_str();
  app.add_option("--timeout", g.timeout_s,
                 "seconds to wait for the daemon, reconnecting if it restarts")
      ->capture_default_str();
  app.add_flag("--json", g.json, "machine-readable output");

  LoadOptions load;
  auto* load_cmd = app.add_subcommand("load", "load the programs of a BPF object file");
  load_cmd->add_option("file", load.file, "FILE.bpf.o from clang -target bpf -g")->required();
  load_cmd->add_option("--hook", load.hook,
                       "hook to attach to, instead of the one in SEC(\"hyperupcall/<hook>\")");
  load_cmd
      ->add_option("--region", load.regions,
                   "guest memory the program may read: SYMBOL[+OFF]:LEN[:rw], 0xADDR:LEN[:rw] "
                   "or gpa:0xADDR:LEN[:rw]; repeatable")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  load_cmd->add_option("--manifest", load.manifest,
                       "JSON file with \"hook\" and \"regions\" (see guest-driver/README.md)");
  load_cmd->add_option("--prog", load.prog, "load only this program of the file");
  load_cmd->add_flag("--json", g.json, "machine-readable output");

  VerifyArgs verify;
  auto* verify_cmd = app.add_subcommand(
      "verify", "check an object's programs here, with the daemon's verifier, without a daemon");
  verify_cmd->add_option("file", verify.file, "FILE.bpf.o from clang -target bpf -g")->required();
  verify_cmd->add_option("--hook", verify.hook, "verify for this hook instead of the SEC's");
  verify_cmd->add_option("--prog", verify.prog, "verify only this program of the file");
  verify_cmd->add_option("--log", verify.log_level,
                         "verifier log: 1 summary, 2 state at every instruction, with the "
                         "source lines");
  verify_cmd->add_option("--budget", verify.budget,
                         "instructions the verifier may process (default its own, 1000000; the "
                         "daemon uses the operator's verifier_budget)");
  verify_cmd->add_flag("--json", g.json, "machine-readable output");

  uint64_t id = 0;
  auto* unload_cmd = app.add_subcommand("unload", "remove one of this guest's programs");
  unload_cmd->add_option("id", id, "program id (from load or list)")->required();
  unload_cmd->add_flag("--json", g.json, "machine-readable output");

  bool all = false;
  auto* list_cmd = app.add_subcommand("list", "this guest's programs and their state");
  list_cmd->add_flag("--all", all, "also rejected and detached programs");
  list_cmd->add_flag("--json", g.json, "machine-readable output");

  std::string map_name;
  auto* map_cmd = app.add_subcommand("map", "maps of this guest's programs");
  map_cmd->require_subcommand(1);
  auto* dump_cmd = map_cmd->add_subcommand("dump", "print every entry of a program's map");
  dump_cmd->add_option("id", id, "program id")->required();
  dump_cmd->add_option("map", map_name, "map name (or index)")->required();
  dump_cmd->add_flag("--json", g.json, "machine-readable output");

  uint64_t stats_id = 0;
  auto* stats_cmd =
      app.add_subcommand("stats", "run statistics of this guest's installed programs");
  stats_cmd->add_option("--prog", stats_id, "only this program");
  stats_cmd->add_flag("--json", g.json, "machine-readable output");

  uint64_t since = 0;
  uint32_t count = 100;
  auto* trace_cmd =
      app.add_subcommand("trace", "trace_output records of this guest's programs, oldest first");
  trace_cmd->add_option("--since", since, "records after this seq (0: the oldest kept)");
  trace_cmd->add_option("--count", count, "at most N records (1..1000)")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  trace_cmd->add_flag("--json", g.json, "machine-readable output");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message and a hint
    return kExitUsage;
  }

  if (*load_cmd) return RunLoad(g, load, std::cout, std::cerr);
  if (*verify_cmd) return RunVerify(g, verify, std::cout, std::cerr);
  if (*unload_cmd) return RunUnload(g, id, std::cout, std::cerr);
  if (*list_cmd) return RunList(g, all, std::cout, std::cerr);
  if (*dump_cmd) return RunMapDump(g, id, map_name, std::cout, std::cerr);
  if (*stats_cmd) return RunStats(g, stats_id, std::cout, std::cerr);
  if (*trace_cmd) return RunTrace(g, since, count, std::cout, std::cerr);
  return kExitUsage;
}
