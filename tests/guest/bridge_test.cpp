// gRPC over a console: the guest tool's hvc transport against a host-side
// bridge, on a pty pair standing in for the Xen console. The host end runs
// a small GuestService of the test's own; what is under test is the byte
// path and its handshake, not the daemon.
#include <fcntl.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_posix.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "hyperupcall/channel/console_bridge.hpp"
#include "hyperupcall/guest/client.hpp"

namespace hu::guest {
namespace {

using namespace ::hu::channel;

class OneProgramService final : public gv1::GuestService::Service {
 public:
  grpc::Status ListPrograms(grpc::ServerContext*, const gv1::ListProgramsRequest*,
                            gv1::ListProgramsResponse* resp) override {
    auto* p = resp->add_programs();
    p->set_id(42);
    p->set_name("over-the-console");
    p->set_hook("trace.exit");
    return grpc::Status::OK;
  }
};

// Every wait below has its own bound; this is the one for what is left (a
// destructor joining a thread, gRPC's Shutdown): a test that is still
// running after kLimit names itself and aborts instead of hanging CI.
class Watchdog {
 public:
  static constexpr auto kLimit = std::chrono::seconds(120);
  Watchdog() {
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    thread_ = std::thread([this] {
      std::unique_lock lk(mu_);
      if (!cv_.wait_for(lk, kLimit, [this] { return done_; })) {
        std::fprintf(stderr, "%s: still running after %llds: aborting\n", name_.c_str(),
                     static_cast<long long>(kLimit.count()));
        std::abort();
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// How long a test waits for any one thing the other side should do.
constexpr int kStepMs = 30000;
constexpr auto kCallTimeout = std::chrono::seconds(30);

struct Pty {
  int master = -1;
  std::string slave_path;
  int slave_keep = -1;  // keeps the pty alive between opens
  Pty() {
    char name[128];
    EXPECT_EQ(openpty(&master, &slave_keep, name, nullptr, nullptr), 0);
    slave_path = name;
    EXPECT_TRUE(ConsoleBridge::MakeRaw(slave_keep));
  }
  ~Pty() {
    if (slave_keep >= 0) close(slave_keep);
  }
};

// Reads from the console until one whole hello went by, and drops it: the
// bytes a console loses when the host opens it late.
void DropOneHello(int fd) {
  std::string seen;
  char c;
  while (seen.find(kConsoleHello) == std::string::npos) {
    pollfd pfd{fd, POLLIN, 0};
    ASSERT_EQ(poll(&pfd, 1, kStepMs), 1)
        << "no hello from the guest within " << kStepMs << " ms; saw '" << seen << "'";
    ASSERT_EQ(read(fd, &c, 1), 1);
    seen += c;
  }
}

TEST(ConsoleBridge, GrpcCallCrossesAPtyAfterAHandshakeWithALateHost) {
  Watchdog watchdog;
  Pty pty;
  OneProgramService service;
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_TRUE(server);

  // The guest starts first and says hello into the void.
  auto transport = OpenTransport("hvc:" + pty.slave_path);
  ASSERT_TRUE(transport.ok()) << transport.error().message;
  GuestClient client(std::move(transport).value(), kCallTimeout);
  // The call is bounded by the client's deadline; the future lets the test
  // say so instead of joining a thread that might not end.
  auto guest =
      std::async(std::launch::async, [&] { return client.List(gv1::ListProgramsRequest()); });

  DropOneHello(pty.master);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  ConsoleBridge host(BridgeRole::kHost, pty.master, sv[1]);
  // gRPC's server side, unlike its client side, does not make the fd
  // non-blocking itself; a blocking one stalls a poller thread in recvmsg.
  ASSERT_EQ(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK), 0);
  grpc::AddInsecureChannelFromFd(server.get(), sv[0]);
  host.Start();
  ASSERT_EQ(guest.wait_for(kCallTimeout + std::chrono::seconds(10)), std::future_status::ready)
      << "the guest's call outlived its own deadline";
  auto res = guest.get();

  ASSERT_FALSE(res.error) << res.error->message;
  const auto& got = res.value;
  ASSERT_EQ(got.programs_size(), 1);
  EXPECT_EQ(got.programs(0).id(), 42u);
  EXPECT_EQ(got.programs(0).name(), "over-the-console");
  EXPECT_TRUE(host.connected());
  // Connections over a console do not end by themselves: cancel them.
  server->Shutdown(std::chrono::system_clock::now());
}

TEST(ConsoleHost, ServesOneGuestSessionAfterAnother) {
  Watchdog watchdog;
  Pty pty;
  OneProgramService service;
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_TRUE(server);
  ConsoleHost host(pty.master, [&](int fd) { grpc::AddInsecureChannelFromFd(server.get(), fd); });
  host.Start();
  // Two runs of the guest tool, one after the other, on the same console:
  // the second's hello ends the first session and opens a new one.
  for (int run = 0; run < 2; ++run) {
    SCOPED_TRACE(run);
    auto transport = OpenTransport("hvc:" + pty.slave_path);
    ASSERT_TRUE(transport.ok());
    GuestClient client(std::move(transport).value(), kCallTimeout);
    auto res = client.List(gv1::ListProgramsRequest());
    ASSERT_FALSE(res.error) << res.error->message;
    ASSERT_EQ(res.value.programs_size(), 1);
    EXPECT_EQ(res.value.programs(0).id(), 42u);
  }
  EXPECT_GE(host.sessions(), 2);
  // The host first: shutting the server down closes the session's socket,
  // and a host still running would attach a new one to the dying server.
  host.Stop();
  // Connections over a console do not end by themselves: cancel them.
  server->Shutdown(std::chrono::system_clock::now());
}

// A guest that comes long after its session began, twice. The server here
// closes a connection idle for 300 ms (the daemon: after 30 s): a session
// whose socket the server held from before the hello would greet the
// guest with that GOAWAY. The first run's connection, idle after it, is
// closed too, and its GOAWAY reaches the console before the second run's
// handshake, which must leave it behind.
TEST(ConsoleHost, AGuestLongAfterItsSessionBeganIsServed) {
  Watchdog watchdog;
  Pty pty;
  OneProgramService service;
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 300);
  auto server = builder.BuildAndStart();
  ASSERT_TRUE(server);
  std::atomic<int> attached{0};
  ConsoleHost host(pty.master, [&](int fd) {
    ++attached;
    grpc::AddInsecureChannelFromFd(server.get(), fd);
  });
  host.Start();
  for (int run = 0; run < 2; ++run) {
    SCOPED_TRACE(run);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    // gRPC retries a call whose connection said GOAWAY before the call was
    // sent, which a slow guest's call is not: so the socket itself must
    // not have reached the server before this run's hello.
    EXPECT_EQ(attached.load(), run) << "a session's socket reached the server before a hello";
    auto transport = OpenTransport("hvc:" + pty.slave_path);
    ASSERT_TRUE(transport.ok());
    GuestClient client(std::move(transport).value(), kCallTimeout);
    auto res = client.List(gv1::ListProgramsRequest());
    ASSERT_FALSE(res.error) << res.error->message;
    ASSERT_EQ(res.value.programs_size(), 1);
  }
  host.Stop();
  server->Shutdown(std::chrono::system_clock::now());
}

TEST(ConsoleBridge, AConsoleThatCannotBeOpenedIsATransportErrorWithTheReason) {
  auto transport = OpenTransport("hvc:/nonexistent/hvc7");
  ASSERT_TRUE(transport.ok());
  // A long timeout: the client must not wait for it when the device is gone.
  GuestClient client(std::move(transport).value(), std::chrono::hours(1));
  auto res = client.List(gv1::ListProgramsRequest());
  ASSERT_TRUE(res.error);
  EXPECT_TRUE(res.error->transport);
  EXPECT_EQ(res.error->message,
            "list: cannot open console /nonexistent/hvc7: No such file or directory");
}

TEST(Transport, SpecsOtherThanUnixAndHvcAreUsageErrors) {
  auto t = OpenTransport("tcp:1.2.3.4:5");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message,
            "--connect 'tcp:1.2.3.4:5': want unix:PATH (sim) or hvc:/dev/hvcN (Xen console "
            "channel)");
}

}  // namespace
}  // namespace hu::guest
