// The libvirt hook script (dom0-daemon/libvirt/hooks/libxl) run as libvirt
// runs it, against the daemon side (LibvirtHookListener) on a test socket;
// the line protocol; and the installer.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "hyperupcall/daemon/libvirt_hook.hpp"

namespace hu::daemon {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUuid = "c7a5fdbd-cdaf-9455-926a-d65c16db1809";

std::string Unique(const std::string& stem) {
  static std::atomic<int> n{0};
  return "/tmp/hu-" + stem + "-" + std::to_string(getpid()) + "-" + std::to_string(n++);
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct HookRun {
  int exit_code = -1;
  std::string err;
};

// libvirt's calling convention: args, the domain XML on stdin.
HookRun RunHook(const std::string& socket, const std::string& args, const std::string& xml,
                const std::string& extra_env = "") {
  std::string in = Unique("stdin"), err = Unique("stderr");
  std::ofstream(in) << xml;
  std::string cmd = "env -i PATH=/usr/bin:/bin HU_LIBVIRT_HOOK_SOCKET='" + socket + "' " +
                    extra_env + " " + HU_HOOK_SCRIPT + " " + args + " <" + in + " 2>" + err;
  int status = std::system(cmd.c_str());
  HookRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = Slurp(err);
  fs::remove(in);
  fs::remove(err);
  return r;
}

std::string Xml(const std::string& id) {
  return "<domain type='xen'" + (id.empty() ? "" : " id='" + id + "'") + "><name>vm1</name><uuid>" +
         kUuid + "</uuid><memory>1024</memory></domain>";
}

class HookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = Unique("hook") + ".sock";
    auto l = LibvirtHookListener::Listen(path_, [this](const LibvirtHookMessage& m) -> Status {
      std::lock_guard lock(mu_);
      got_.push_back(m);
      if (m.name == "refused") return MakeError(ErrorCode::kPermissionDenied, "not today");
      return Status::Ok();
    });
    ASSERT_TRUE(l.ok()) << l.error().message;
    listener_ = std::move(*l);
  }
  std::vector<LibvirtHookMessage> Got() {
    std::lock_guard lock(mu_);
    return got_;
  }

  std::mutex mu_;
  std::vector<LibvirtHookMessage> got_;
  std::string path_;
  // Last, so it is destroyed first: its thread is joined before got_ goes.
  std::unique_ptr<LibvirtHookListener> listener_;
};

TEST_F(HookTest, PrepareReachesTheDaemonBeforeTheScriptReturns) {
  HookRun r = RunHook(path_, "vm1 prepare begin -", Xml("-1"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
  auto got = Got();  // the script waits for the reply, so this is settled
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].driver, "libxl");
  EXPECT_EQ(got[0].op, "prepare");
  EXPECT_EQ(got[0].sub_op, "begin");
  EXPECT_EQ(got[0].name, "vm1");
  EXPECT_EQ(got[0].uuid, kUuid);
  EXPECT_FALSE(got[0].domid);  // no id before the domain exists
}

TEST_F(HookTest, EveryLifecycleOperationCarriesTheId) {
  const std::pair<const char*, const char*> ops[] = {{"start", "begin"},
                                                     {"started", "begin"},
                                                     {"stopped", "end"},
                                                     {"release", "end"},
                                                     {"reconnect", "begin"}};
  for (auto [op, sub] : ops) {
    HookRun r = RunHook(path_, std::string("vm1 ") + op + " " + sub + " -", Xml("7"));
    EXPECT_EQ(r.exit_code, 0) << op;
  }
  auto got = Got();
  ASSERT_EQ(got.size(), 5u);
  for (size_t i = 0; i < got.size(); i++) {
    EXPECT_EQ(got[i].op, ops[i].first);
    EXPECT_EQ(got[i].sub_op, ops[i].second);
    EXPECT_EQ(got[i].domid, 7u);
  }
}

TEST_F(HookTest, OtherOperationsDoNotBotherTheDaemon) {
  EXPECT_EQ(RunHook(path_, "vm1 migrate begin -", Xml("7")).exit_code, 0);
  EXPECT_EQ(RunHook(path_, "vm1", "").exit_code, 0);  // too few args: logged, still 0
  EXPECT_TRUE(Got().empty());
}

TEST_F(HookTest, UnreadableXmlStillSendsTheName) {
  HookRun r = RunHook(path_, "vm1 release end -", "<domain><uuid>");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.err.find("domain XML unreadable"), std::string::npos) << r.err;
  auto got = Got();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "vm1");
  EXPECT_EQ(got[0].uuid, "");
}

TEST_F(HookTest, DaemonRefusalIsLoggedNotFatal) {
  HookRun r = RunHook(path_, "refused start begin -", Xml("3"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.err.find("daemon replied 'error not today'"), std::string::npos) << r.err;
}

TEST(HookScript, NoDaemonMeansExitZero) {
  HookRun r = RunHook(Unique("absent") + ".sock", "vm1 prepare begin -", Xml(""));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
}

TEST(HookScript, SilentDaemonTimesOutAndExitsZero) {
  // Accepts (the kernel does, from the backlog) but never answers.
  std::string path = Unique("silent") + ".sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  HookRun r = RunHook(path, "vm1 start begin -", Xml("4"), "HU_LIBVIRT_HOOK_TIMEOUT=0.2");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.err.find("vm1 start begin: TimeoutError"), std::string::npos) << r.err;
  close(fd);
  fs::remove(path);
}

// Talks to the listener the way a broken client would.
std::string Exchange(const std::string& path, const std::string& bytes) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "connect failed";
  if (write(fd, bytes.data(), bytes.size()) != ssize_t(bytes.size())) return "write failed";
  shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[512];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) reply.append(buf, size_t(n));
  close(fd);
  return reply;
}

TEST_F(HookTest, ListenerAnswersGarbageWithAnErrorAndCarriesOn) {
  EXPECT_EQ(Exchange(path_, "hello\n"), "error libvirt hook message: not valid JSON\n");
  EXPECT_EQ(Exchange(path_, "{\"v\":1}"), "error libvirt hook message: no newline\n");
  EXPECT_EQ(Exchange(path_, std::string(kLibvirtHookMaxLine + 10, 'x')),
            "error libvirt hook message: line too long\n");
  EXPECT_TRUE(Got().empty());
  EXPECT_EQ(Exchange(path_,
                     R"({"v":1,"driver":"libxl","op":"started","sub_op":"begin","name":"a","id":2})"
                     "\n"),
            "ok\n");
  ASSERT_EQ(Got().size(), 1u);
}

TEST_F(HookTest, ListenerKeepsALiveSocketAndReplacesAStaleOne) {
  auto second =
      LibvirtHookListener::Listen(path_, [](const LibvirtHookMessage&) { return Status::Ok(); });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(second.error().message,
            "libvirt hook socket '" + path_ + "' is in use by another process");

  std::string stale = Unique("stale") + ".sock";
  {
    auto first =
        LibvirtHookListener::Listen(stale, [](const LibvirtHookMessage&) { return Status::Ok(); });
    ASSERT_TRUE(first.ok());
  }
  // Leave a dead socket file behind, as a crashed daemon would.
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, stale.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  close(fd);
  auto again =
      LibvirtHookListener::Listen(stale, [](const LibvirtHookMessage&) { return Status::Ok(); });
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(fs::status(stale).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  again->reset();
  EXPECT_FALSE(fs::exists(stale));

  std::string file = Unique("plainfile");
  std::ofstream(file) << "x";
  auto not_sock =
      LibvirtHookListener::Listen(file, [](const LibvirtHookMessage&) { return Status::Ok(); });
  ASSERT_FALSE(not_sock.ok());
  EXPECT_EQ(not_sock.error().message,
            "libvirt hook socket path '" + file + "' exists and is not a socket");
  fs::remove(file);
}

TEST(HookLine, AcceptsWhatTheScriptSends) {
  auto m = ParseLibvirtHookLine(
      R"({"v": 1, "driver": "libxl", "op": "stopped", "sub_op": "end", "name": "vm 1", "uuid": "c7a5fdbd-cdaf-9455-926a-d65c16db1809", "id": 12})");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->name, "vm 1");
  EXPECT_EQ(m->domid, 12u);
}

TEST(HookLine, RejectsPrecisely) {
  const std::pair<const char*, const char*> cases[] = {
      {"[1]", "not a JSON object"},
      {R"({"v":2,"driver":"libxl","op":"start","sub_op":"begin","name":"a"})",
       "field 'v' must be 1 (protocol version)"},
      {R"({"v":1,"driver":"libxl","op":"start","sub_op":"begin","name":"a","x":1})",
       "unknown field 'x'"},
      {R"({"v":1,"driver":"qemu","op":"start","sub_op":"begin","name":"a"})",
       "unknown driver 'qemu' (known: libxl)"},
      {R"({"v":1,"driver":"libxl","op":"migrate","sub_op":"begin","name":"a"})",
       "unknown op 'migrate'"},
      {R"({"v":1,"driver":"libxl","op":"start","sub_op":"middle","name":"a"})",
       "unknown sub_op 'middle'"},
      {R"({"v":1,"driver":"libxl","op":"start","sub_op":"begin"})", "missing field 'name'"},
      {R"({"v":1,"driver":"libxl","op":"start","sub_op":"begin","name":7})",
       "field 'name' is not a string"},
      {R"({"v":1,"driver":"libxl","op":"start","sub_op":"begin","name":"a\nb"})",
       "field 'name' has a control byte"},
      {R"({"v":1,"driver":"libxl","op":"start","sub_op":"begin","name":"a","uuid":"xyz"})",
       "field 'uuid' is not a UUID"},
      {R"({"v":1,"driver":"libxl","op":"start","sub_op":"begin","name":"a","id":32752})",
       "field 'id' is not a domain id (0..32751)"},
      {R"({"v":1,"driver":"libxl","op":"start","sub_op":"begin","name":"a","id":-1})",
       "field 'id' is not a domain id (0..32751)"},
  };
  for (auto [line, msg] : cases) {
    auto m = ParseLibvirtHookLine(line);
    ASSERT_FALSE(m.ok()) << line;
    EXPECT_EQ(m.error().message, std::string("libvirt hook message: ") + msg) << line;
  }
}

TEST(HookInstaller, IsIdempotentAndRespectsAForeignHook) {
  std::string root = Unique("root");
  std::string cmd = std::string("bash ") + HU_HOOK_INSTALLER + " --root " + root + " >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string hook = root + "/etc/libvirt/hooks/libxl";
  ASSERT_TRUE(fs::exists(hook));
  EXPECT_EQ(Slurp(hook), Slurp(HU_HOOK_SCRIPT));
  EXPECT_NE(fs::status(hook).permissions() & fs::perms::owner_exec, fs::perms::none);
  ASSERT_EQ(std::system(cmd.c_str()), 0);  // again: nothing changes
  EXPECT_EQ(Slurp(hook), Slurp(HU_HOOK_SCRIPT));
  EXPECT_FALSE(fs::exists(root + "/etc/libvirt/hooks/libxl.d"));

  // Someone else's hook stays; ours goes beside it, where libvirt also looks.
  std::string other = Unique("root");
  fs::create_directories(other + "/etc/libvirt/hooks");
  std::ofstream(other + "/etc/libvirt/hooks/libxl") << "#!/bin/sh\nexit 0\n";
  std::string cmd2 = std::string("bash ") + HU_HOOK_INSTALLER + " --root " + other + " >/dev/null";
  ASSERT_EQ(std::system(cmd2.c_str()), 0);
  ASSERT_EQ(std::system(cmd2.c_str()), 0);
  EXPECT_EQ(Slurp(other + "/etc/libvirt/hooks/libxl"), "#!/bin/sh\nexit 0\n");
  EXPECT_EQ(Slurp(other + "/etc/libvirt/hooks/libxl.d/hyperupcall"), Slurp(HU_HOOK_SCRIPT));
  fs::remove_all(root);
  fs::remove_all(other);
}

}  // namespace
}  // namespace hu::daemon
