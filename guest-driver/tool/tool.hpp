// The `hyperupcall` command: what each subcommand does, apart from parsing
// its command line (main.cpp), so tests can call it directly.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "hyperupcall/guest/client.hpp"
#include "hyperupcall/guest/kallsyms.hpp"
#include "hyperupcall/guest/loader.hpp"
#include "hyperupcall/guest/region.hpp"

namespace hu::guest::tool {

// Exit codes: a refusal is not a broken connection is not a typo.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;   // the daemon (or the loader) refused
inline constexpr int kExitTransport = 2;  // no answer from the daemon
inline constexpr int kExitUsage = 64;     // EX_USAGE: bad command line or input file

struct Global {
  std::string connect;
  std::string kallsyms = "/proc/kallsyms";
  double timeout_s = 10;
  bool json = false;
};

struct LoadOptions {
  std::string file;
  std::string hook;
  std::vector<std::string> regions;
  std::string manifest;
  std::string prog;
};

struct VerifyArgs {
  std::string file;
  std::string hook;
  std::string prog;
  int log_level = 0;
  uint64_t budget = 0;
};

// A failure before or instead of an answer, with the exit code it means.
struct Failure {
  int exit_code = kExitUsage;
  std::string message;
};

// The requests `load` sends, one per selected program; resolves regions
// and ksyms through `ksyms`.
struct Prepared {
  std::vector<gv1::RegisterProgramRequest> requests;
  std::vector<Program> programs;                   // same order
  std::vector<std::vector<std::string>> warnings;  // same order
};

// What the loader notices but the daemon would not refuse (warnings.cpp):
// a BTF context type that is not the hook's, a kernel symbol the program
// uses that no region covers (its reads there would fail).
std::vector<std::string> LoadWarnings(const Program& prog, hu_hook_id hook,
                                      const std::vector<hu_region>& regions);
Prepared PrepareLoad(const LoadOptions& opts, SymbolResolver& ksyms, Failure* failure);

int RunLoad(const Global& g, const LoadOptions& opts, std::ostream& out, std::ostream& err);
int RunUnload(const Global& g, uint64_t id, std::ostream& out, std::ostream& err);
int RunList(const Global& g, bool all, std::ostream& out, std::ostream& err);
// Verifies an object here, with no daemon: 0 all accepted, 1 one rejected.
int RunVerify(const Global& g, const VerifyArgs& args, std::ostream& out, std::ostream& err);
// This guest's own run statistics and trace records (stats.cpp).
int RunStats(const Global& g, uint64_t id, std::ostream& out, std::ostream& err);
int RunTrace(const Global& g, uint64_t since, uint32_t count, std::ostream& out, std::ostream& err);
int RunMapDump(const Global& g, uint64_t id, const std::string& map, std::ostream& out,
               std::ostream& err);

// Shared by the commands.
int Fail(const Global& g, const Failure& f, std::ostream& out, std::ostream& err);
std::unique_ptr<GuestClient> Connect(const Global& g, Failure* failure);
int ExitFor(const CallError& e);

}  // namespace hu::guest::tool
