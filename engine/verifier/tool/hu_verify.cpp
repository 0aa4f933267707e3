// hu-verify: runs the verifier on a program from the command line, for
// policy authors and operators.
//   hu-verify --hook mem.reclaim prog.s                 (assembler text)
//   hu-verify --hook tlb.flush --raw prog.bin           (instruction bytes)
//   hu-verify --hook mem.reclaim --map 2:4:16:4 --log 2 prog.s
//   hu-verify policy.bpf.o [--hook H] [--prog NAME]     (an ELF object, as
//                                                        hyperupcall verify)
// Exit status 0 when accepted, 1 when rejected, 2 on bad input.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/decode.hpp"
#include "hyperupcall/guest/verify.hpp"
#include "hyperupcall/verifier.hpp"

namespace {

bool ParseMap(const std::string& s, hu_map_def* m) {
  unsigned t, k, v, e;
  char tail;
  if (std::sscanf(s.c_str(), "%u:%u:%u:%u%c", &t, &k, &v, &e, &tail) != 4) return false;
  *m = {t, k, v, e};
  return true;
}

bool IsElf(const std::string& bytes) {
  return bytes.rfind(
             "\x7f"
             "ELF",
             0) == 0;
}

// An ELF object: every program linked and verified with its source lines.
int VerifyElf(const std::string& path, const std::string& bytes, const std::string& hook,
              const std::string& prog, const std::string& kallsyms,
              const hu::verifier::Options& opts) {
  auto obj = hu::guest::BpfObject::FromBytes(
      {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, path);
  if (!obj.ok()) {
    std::fprintf(stderr, "hu-verify: %s\n", obj.error().message.c_str());
    return 2;
  }
  std::unique_ptr<hu::guest::LazyKallsyms> syms;
  if (!kallsyms.empty()) syms = std::make_unique<hu::guest::LazyKallsyms>(kallsyms);
  hu::guest::VerifyOptions vo{hook, prog, opts.log_level, opts.max_states};
  auto verified = hu::guest::VerifyObject(*obj, vo, syms.get());
  if (!verified.ok()) {
    std::fprintf(stderr, "hu-verify: %s\n", verified.error().message.c_str());
    return 2;
  }
  int rc = 0;
  for (const auto& v : *verified) {
    std::fputs(v.log.c_str(), stdout);
    std::fputs(hu::guest::VerdictText(v).c_str(), stdout);
    if (!v.report.accepted) rc = 1;
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Verify a hyperupcall program for a hook"};
  std::string path, hook, prog, kallsyms;
  std::vector<std::string> maps;
  bool raw = false;
  hu::verifier::Options opts;
  app.add_option("program", path,
                 "assembler text, instruction bytes with --raw, or a BPF ELF object")
      ->required();
  app.add_option("--hook", hook,
                 "mem.reclaim (default for text), tlb.flush, sched.preempt, trace.exit, "
                 "mem.protect; an ELF object's programs use their SEC's unless given");
  app.add_option("--map", maps, "a map as type:key_size:value_size:max_entries (repeatable)");
  app.add_flag("--raw", raw, "the file holds 8-byte instruction slots");
  app.add_option("--prog", prog, "ELF: verify only this program");
  app.add_option("--kallsyms", kallsyms,
                 "ELF: kernel symbols for __ksym externs (else placeholder addresses)");
  app.add_option("--log", opts.log_level, "0: errors, 1: summary, 2: state at every insn");
  app.add_option("--max-insns", opts.max_insns, "program size limit");
  app.add_option("--budget,--max-states", opts.max_states,
                 "instructions the verifier may process, loop iterations included (default "
                 "1000000; operator policy: verifier_budget)");
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "hu-verify: cannot read %s\n", path.c_str());
    return 2;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!raw && IsElf(bytes)) return VerifyElf(path, bytes, hook, prog, kallsyms, opts);

  opts.hook = hu::verifier::HookFromName(hook.empty() ? "mem.reclaim" : hook);
  if (opts.hook == HU_HOOK_NONE) {
    std::fprintf(stderr, "hu-verify: unknown hook '%s'\n", hook.c_str());
    return 2;
  }
  for (const auto& s : maps) {
    hu_map_def m;
    if (!ParseMap(s, &m)) {
      std::fprintf(stderr, "hu-verify: bad --map '%s' (type:key:value:entries)\n", s.c_str());
      return 2;
    }
    opts.maps.push_back(m);
  }
  auto insns = raw ? hu::DecodeBytes({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()})
                   : hu::Assemble(bytes);
  if (!insns.ok()) {
    std::fprintf(stderr, "hu-verify: %s: %s\n", path.c_str(), insns.error().message.c_str());
    return 2;
  }
  hu::verifier::Report r = hu::verifier::Verify(*insns, opts);
  std::fputs(r.log.c_str(), stdout);
  if (!r.accepted) {
    std::printf("rejected: %s\n", r.error.c_str());
    return 1;
  }
  std::printf(
      "accepted: %zu insns, %llu insns processed, %.3f ms, r0 in [%lld, %lld] (unsigned [%llu, "
      "%llu])\n",
      insns->size(), static_cast<unsigned long long>(r.insns_processed), r.elapsed_ms,
      static_cast<long long>(r.r0.smin), static_cast<long long>(r.r0.smax),
      static_cast<unsigned long long>(r.r0.umin), static_cast<unsigned long long>(r.r0.umax));
  std::printf("worst-case path: %llu insns per run\n",
              static_cast<unsigned long long>(r.worst_case_insns));
  return 0;
}
