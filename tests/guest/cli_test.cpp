// The `hyperupcall` tool as a guest admin runs it: real processes, the real
// hyperupcalld on the sim backend with two guests, real unix sockets.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Outcome {
  int rc = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& out, const std::string& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hu-guest-cli-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    dir_ = tmpl;
    fs::create_directories(dir_ + "/guests");
  }
  void TearDown() override {
    StopDaemon();
    fs::remove_all(dir_);
  }

  std::string Sock(int domid) const { return dir_ + "/guests/" + std::to_string(domid) + ".sock"; }

  void StartDaemon() {
    daemon_ = Spawn({HU_HYPERUPCALLD, "--backend", "sim", "--sim-guests", "2", "--state",
                     dir_ + "/state", "--guest-socket-dir", dir_ + "/guests", "--operator-socket",
                     dir_ + "/operator.sock", "--log-level", "warn"},
                    dir_ + "/daemon.out", dir_ + "/daemon.err");
    ASSERT_GT(daemon_, 0);
  }
  // Ready when both guests' sockets are there; bounded so a daemon that
  // dies shows its log instead of hanging the test.
  void WaitForSockets() {
    for (int i = 0; i < 600; ++i) {
      if (fs::exists(Sock(1)) && fs::exists(Sock(2))) return;
      int status;
      if (waitpid(daemon_, &status, WNOHANG) == daemon_) {
        daemon_ = -1;
        FAIL() << "hyperupcalld exited: " << Slurp(dir_ + "/daemon.err");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "no guest sockets: " << Slurp(dir_ + "/daemon.err");
  }
  void StopDaemon() {
    if (daemon_ <= 0) return;
    kill(daemon_, SIGKILL);
    waitpid(daemon_, nullptr, 0);
    daemon_ = -1;
  }

  std::vector<std::string> Tool(int domid, std::vector<std::string> args) {
    std::vector<std::string> argv = {
        HU_HYPERUPCALL,
        "--connect",
        "unix:" + Sock(domid),
        "--kallsyms",
        dir_ + "/state/kallsyms/" + std::to_string(domid) + "/kallsyms",
        "--timeout",
        "20"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  Outcome Wait(pid_t pid) {
    Outcome r;
    int status = 0;
    waitpid(pid, &status, 0);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = Slurp(dir_ + "/tool.out");
    r.err = Slurp(dir_ + "/tool.err");
    return r;
  }
  Outcome Exec(const std::vector<std::string>& argv) {
    return Wait(Spawn(argv, dir_ + "/tool.out", dir_ + "/tool.err"));
  }

  std::string Policy(const std::string& name) const {
    return std::string(HU_POLICIES_BUILD_DIR) + "/" + name;
  }

  std::string dir_;
  pid_t daemon_ = -1;
};

TEST_F(CliTest, LoadListDumpUnload) {
  StartDaemon();
  WaitForSockets();
  Outcome load = Exec(Tool(
      1, {"load", Policy("trace.bpf.o"), "--manifest", Policy("trace.manifest.json"), "--json"}));
  ASSERT_EQ(load.rc, 0) << load.out << load.err;
  json j = json::parse(load.out);
  ASSERT_EQ(j["programs"].size(), 1u);
  const auto& p = j["programs"][0];
  EXPECT_EQ(p["hook"], "trace.exit");
  EXPECT_EQ(p["name"], "trace");
  const std::string verdict = p["verdict"];
  EXPECT_TRUE(verdict == "accepted" || verdict == "pending_approval") << load.out;
  const uint64_t id = p["id"];

  Outcome list = Exec(Tool(1, {"list", "--json"}));
  ASSERT_EQ(list.rc, 0) << list.err;
  json l = json::parse(list.out);
  ASSERT_EQ(l["programs"].size(), 1u);
  EXPECT_EQ(l["programs"][0]["id"], id);
  EXPECT_EQ(l["programs"][0]["maps"][0]["name"], "exit_counts");

  if (verdict == "accepted") {
    Outcome dump = Exec(Tool(1, {"map", "dump", std::to_string(id), "exit_counts", "--json"}));
    ASSERT_EQ(dump.rc, 0) << dump.err;
    json d = json::parse(dump.out);
    EXPECT_EQ(d["map"]["name"], "exit_counts");
    EXPECT_EQ(d["map"]["type"], "hash");
  }

  Outcome unload = Exec(Tool(1, {"unload", std::to_string(id)}));
  ASSERT_EQ(unload.rc, 0) << unload.err;
  EXPECT_EQ(unload.out, "program " + std::to_string(id) + " unloaded\n");
  Outcome again = Exec(Tool(1, {"unload", std::to_string(id)}));
  EXPECT_EQ(again.rc, 1) << again.err;  // refused by the daemon: not a live program
}

TEST_F(CliTest, AnUnsafeProgramIsRejectedWithTheDaemonsReason) {
  StartDaemon();
  WaitForSockets();
  Outcome load = Exec(Tool(1, {"load", std::string(HU_GUEST_BPF_DIR) + "/unsafe.bpf.o"}));
  EXPECT_EQ(load.rc, 1) << load.out << load.err;
  EXPECT_NE(load.out.find("unsafe (trace.exit, "), std::string::npos) << load.out;
  EXPECT_NE(load.out.find("rejected"), std::string::npos) << load.out;
  EXPECT_NE(load.out.find("insn "), std::string::npos) << load.out;
  // The daemon names the instruction, the tool the C source it came from.
  EXPECT_NE(load.out.find("\n  in unsafe() at unsafe.bpf.c:4\n  ; SEC(\"hyperupcall/trace.exit\") "
                          "int unsafe(void* ctx) { return *(u64*)((char*)ctx + 4096); } @ "
                          "unsafe.bpf.c:4"),
            std::string::npos)
      << load.out;
}

// `hyperupcall verify` needs no daemon: the daemon's verifier runs in the
// tool, and a rejection names the function, file, line and source text.
TEST_F(CliTest, VerifyChecksAnObjectWithoutADaemon) {
  const std::string probe = std::string(HU_GUEST_BPF_DIR) + "/probe.bpf.o";
  Outcome bad = Exec({HU_HYPERUPCALL, "verify", probe, "--prog", "probe"});
  EXPECT_EQ(bad.rc, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("probe (trace.exit, 12 insns): rejected: insn 7 `ldxdw %r1, [%r0]`: "
                         "possible NULL dereference"),
            std::string::npos)
      << bad.out;
  EXPECT_NE(bad.out.find("  in probe() at probe.bpf.c:22\n  ; *v += 1; @ probe.bpf.c:22\n"),
            std::string::npos)
      << bad.out;

  Outcome log = Exec({HU_HYPERUPCALL, "verify", probe, "--prog", "probe", "--log", "2"});
  EXPECT_NE(log.out.find("; *v += 1; @ probe.bpf.c:22\n7: ldxdw %r1, [%r0]"), std::string::npos)
      << log.out;

  Outcome j = Exec({HU_HYPERUPCALL, "verify", probe, "--json"});
  EXPECT_EQ(j.rc, 1);
  auto doc = json::parse(j.out);
  ASSERT_EQ(doc["programs"].size(), 2u) << j.out;
  EXPECT_EQ(doc["programs"][0]["verdict"], "rejected");
  EXPECT_EQ(doc["programs"][0]["source"], "; *v += 1; @ probe.bpf.c:22");
  EXPECT_EQ(doc["programs"][1]["where"], "in twice() at probe.bpf.c:15");

  for (const char* policy : {"reclaim", "tlb", "preempt", "trace", "protect"}) {
    Outcome ok = Exec({HU_HYPERUPCALL, "verify", Policy(std::string(policy) + ".bpf.o")});
    EXPECT_EQ(ok.rc, 0) << policy << ": " << ok.out << ok.err;
    EXPECT_NE(ok.out.find("accepted"), std::string::npos) << ok.out;
  }
  Outcome hook = Exec({HU_HYPERUPCALL, "verify", Policy("trace.bpf.o"), "--hook", "mem.reclaim"});
  EXPECT_EQ(hook.rc, 1) << hook.out;
  EXPECT_NE(hook.out.find("trace (mem.reclaim, "), std::string::npos) << hook.out;
  Outcome usage = Exec({HU_HYPERUPCALL, "verify", dir_ + "/missing.bpf.o"});
  EXPECT_EQ(usage.rc, 64) << usage.out << usage.err;
}

// hu-verify reads ELF objects the same way.
TEST_F(CliTest, HuVerifyReadsElfObjects) {
  const std::string probe = std::string(HU_GUEST_BPF_DIR) + "/probe.bpf.o";
  Outcome bad = Exec({HU_HU_VERIFY, probe, "--prog", "deep"});
  EXPECT_EQ(bad.rc, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("  in twice() at probe.bpf.c:15\n  ; sum += p[n + 64]; @ probe.bpf.c:15"),
            std::string::npos)
      << bad.out;
  Outcome ok = Exec({HU_HU_VERIFY, Policy("reclaim.bpf.o")});
  EXPECT_EQ(ok.rc, 0) << ok.out << ok.err;
}

TEST_F(CliTest, HookOverrideIsVerifiedAgainstTheNewHook) {
  StartDaemon();
  WaitForSockets();
  // trace.bpf.o reads trace.exit's context, which is larger than
  // mem.reclaim's: the daemon must refuse it there, naming the hook.
  Outcome load = Exec(Tool(1, {"load", Policy("trace.bpf.o"), "--hook", "mem.reclaim"}));
  EXPECT_EQ(load.rc, 1) << load.out << load.err;
  EXPECT_NE(load.out.find("trace (mem.reclaim, "), std::string::npos) << load.out;
  EXPECT_NE(load.out.find("rejected"), std::string::npos) << load.out;
  EXPECT_NE(load.out.find("mem.reclaim"), std::string::npos) << load.out;
}

TEST_F(CliTest, AGuestSeesAndTouchesOnlyItsOwnPrograms) {
  StartDaemon();
  WaitForSockets();
  Outcome load = Exec(Tool(
      1, {"load", Policy("trace.bpf.o"), "--manifest", Policy("trace.manifest.json"), "--json"}));
  ASSERT_EQ(load.rc, 0) << load.out << load.err;
  const uint64_t id = json::parse(load.out)["programs"][0]["id"];
  Outcome list2 = Exec(Tool(2, {"list", "--json", "--all"}));
  ASSERT_EQ(list2.rc, 0) << list2.err;
  EXPECT_EQ(json::parse(list2.out)["programs"].size(), 0u);
  Outcome unload2 = Exec(Tool(2, {"unload", std::to_string(id)}));
  EXPECT_EQ(unload2.rc, 1) << unload2.err;
  Outcome dump2 = Exec(Tool(2, {"map", "dump", std::to_string(id), "exit_counts"}));
  EXPECT_EQ(dump2.rc, 1) << dump2.err;
  Outcome list1 = Exec(Tool(1, {"list", "--json"}));
  EXPECT_EQ(json::parse(list1.out)["programs"].size(), 1u);
}

TEST_F(CliTest, TheToolWaitsForADaemonThatStartsLateAndOneThatRestarts) {
  // Started before the daemon exists: waits (bounded by --timeout).
  pid_t early = Spawn(Tool(1, {"load", Policy("trace.bpf.o"), "--manifest",
                               Policy("trace.manifest.json"), "--json"}),
                      dir_ + "/tool.out", dir_ + "/tool.err");
  ASSERT_GT(early, 0);
  StartDaemon();
  Outcome load = Wait(early);
  ASSERT_EQ(load.rc, 0) << load.out << load.err;
  const uint64_t id = json::parse(load.out)["programs"][0]["id"];

  StopDaemon();  // kill -9
  StartDaemon();
  Outcome list = Exec(Tool(1, {"list", "--json"}));
  ASSERT_EQ(list.rc, 0) << list.err;
  json l = json::parse(list.out);
  ASSERT_EQ(l["programs"].size(), 1u);
  EXPECT_EQ(l["programs"][0]["id"], id);
}

TEST_F(CliTest, NoDaemonIsATransportFailure) {
  auto argv = Tool(1, {"list"});
  argv[6] = "0.5";  // --timeout
  Outcome r = Exec(argv);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("no answer from hyperupcalld at unix:" + Sock(1) +
                       " within 0.5s (channel failing to connect): no socket"),
            std::string::npos)
      << r.err;
}

TEST_F(CliTest, UsageErrors) {
  Outcome bad_region = Exec(Tool(1, {"load", Policy("trace.bpf.o"), "--region", "runqueues"}));
  EXPECT_EQ(bad_region.rc, 64);
  EXPECT_NE(bad_region.err.find("region 'runqueues': want SYMBOL[+OFF]:LEN[:rw]"),
            std::string::npos)
      << bad_region.err;
  Outcome no_cmd = Exec({HU_HYPERUPCALL});
  EXPECT_EQ(no_cmd.rc, 64);
  Outcome bad_hook = Exec(Tool(1, {"load", Policy("trace.bpf.o"), "--hook", "mem.recalim"}));
  EXPECT_EQ(bad_hook.rc, 64);
  EXPECT_NE(bad_hook.err.find("--hook 'mem.recalim' is not a hook"), std::string::npos);
  Outcome missing = Exec(Tool(1, {"load", "/nonexistent.bpf.o"}));
  EXPECT_EQ(missing.rc, 64);
  Outcome local_reject =
      Exec(Tool(1, {"load", std::string(HU_GUEST_BPF_DIR) + "/global_data.bpf.o"}));
  EXPECT_EQ(local_reject.rc, 1);
  EXPECT_NE(local_reject.err.find("global data"), std::string::npos) << local_reject.err;
}

}  // namespace
