// The JIT under the systemd unit's MemoryDenyWriteExecute=yes
// (dom0-daemon/systemd/hyperupcalld.service.in). In a child process, the
// same denials are put in place as systemd 252 (Debian 12) does for that
// option, with libseccomp and systemd's rules: mmap with PROT_WRITE and
// PROT_EXEC together, mprotect and pkey_mprotect adding PROT_EXEC, shmat
// with SHM_EXEC all fail with EPERM. Newer systemd and kernels (6.3+) use
// the kernel's own prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN), which is
// applied too where the kernel has it. Under both, the JIT must still
// compile and run programs (its memfd is mapped read+write to write the
// code and read+execute to run it, never both, and never mprotect'ed),
// while a writable and executable mapping is really refused.
#include <errno.h>
#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <vector>

#include "hyperupcall/asm.hpp"
#include "hyperupcall/interp.h"
#include "hyperupcall/jit.hpp"

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

namespace {

uint64_t Add(hu_run*, uint64_t a, uint64_t b, uint64_t, uint64_t, uint64_t) { return a + b; }
const std::array<hu_helper_fn, 2> kHelpers{nullptr, Add};

// Exit codes of the child, each a distinct failure.
enum : int {
  kOk = 0,
  kSeccompFailed = 10,
  kWxAllowed = 11,
  kExecGainAllowed = 12,
  kCompileFailed = 13,
  kRunFailed = 14,
  kWrongResult = 15,
  kAsmFailed = 16,
};

// systemd 252's seccomp_memory_deny_write_execute(), rule for rule.
bool DenyWriteExecuteAsSystemd() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return false;
  const uint32_t deny = SCMP_ACT_ERRNO(EPERM);
  bool ok = seccomp_rule_add(
                ctx, deny, SCMP_SYS(mmap), 1,
                SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC | PROT_WRITE)) == 0 &&
            seccomp_rule_add(ctx, deny, SCMP_SYS(mprotect), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)) == 0 &&
            seccomp_rule_add(ctx, deny, SCMP_SYS(pkey_mprotect), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)) == 0 &&
            seccomp_rule_add(ctx, deny, SCMP_SYS(shmat), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC)) == 0 &&
            seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) == 0 && seccomp_load(ctx) == 0;
  seccomp_release(ctx);
  return ok;
}

// In the child: the denials, proof they hold, then the JIT.
int UnderMdwe(bool kernel_mdwe) {
  auto prog = hu::Assemble("mov %r1, 40\nmov %r2, 2\ncall 1\nexit");
  if (!prog.ok()) return kAsmFailed;
  if (!DenyWriteExecuteAsSystemd()) return kSeccompFailed;
  if (kernel_mdwe) (void)prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0);

  void* wx =
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (wx != MAP_FAILED) return kWxAllowed;
  void* rw = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (rw != MAP_FAILED && mprotect(rw, 4096, PROT_READ | PROT_EXEC) == 0) return kExecGainAllowed;

  auto img = hu::jit::Image::Compile(*prog, kHelpers.data(), kHelpers.size());
  if (!img.ok()) {
    std::fprintf(stderr, "jit under MDWE: %s\n", img.error().message.c_str());
    return kCompileFailed;
  }
  alignas(16) static std::array<uint8_t, HU_STACK_FRAME * HU_MAX_CALL_DEPTH> stack{};
  hu_run run{};
  run.stack = stack.data();
  run.stack_size = stack.size();
  run.helpers = kHelpers.data();
  run.nhelpers = kHelpers.size();
  run.budget = 1000;
  if (img->Run(&run, 0) != HU_RUN_OK) return kRunFailed;
  return run.r0 == 42 ? kOk : kWrongResult;
}

int InChild(bool kernel_mdwe) {
  const pid_t pid = fork();
  if (pid == 0) _exit(UnderMdwe(kernel_mdwe));
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(JitUnderMemoryDenyWriteExecute, SystemdSeccompRules) {
  EXPECT_EQ(InChild(false), kOk) << "see the exit codes in " __FILE__;
}

TEST(JitUnderMemoryDenyWriteExecute, SystemdRulesAndTheKernelsMdwe) {
  EXPECT_EQ(InChild(true), kOk) << "see the exit codes in " __FILE__;
}

}  // namespace
