// The dom0 pieces of save/restore and migration that need no Xen: the note
// a program carries through a stream, where a stream goes (read from this
// process's own /proc), and the toolstack socket's protocol.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "domctl_abi.h"
#include "program_note.hpp"
#include "stream_peer.hpp"
#include "toolstack_server.hpp"

namespace hu::xen {
namespace {

std::vector<uint8_t> Text(const std::string& s) { return {s.begin(), s.end()}; }

TEST(ProgramNote, RoundTrips) {
  ProgramNote n{"trace", {"exit_counts", "per_cpu"}, 42, "host-a"};
  auto back = DecodeNote(EncodeNote(n));
  EXPECT_EQ(back.name, "trace");
  EXPECT_EQ(back.maps, n.maps);
  EXPECT_EQ(back.id, 42u);
  EXPECT_EQ(back.host, "host-a");
}

TEST(ProgramNote, AlwaysFitsXensLimit) {
  ProgramNote n{std::string(64, 'n'), std::vector<std::string>(16, std::string(64, 'm')), 7,
                std::string(64, 'h')};
  auto bytes = EncodeNote(n);
  EXPECT_LE(bytes.size(), HU_XEN_ANNOTATION_MAX);
  auto back = DecodeNote(bytes);
  EXPECT_EQ(back.id, 7u);
  EXPECT_TRUE(back.maps.empty());  // dropped first, all together
  EXPECT_FALSE(back.name.empty());
}

// A stream can be tampered with: what is not well-formed is dropped.
TEST(ProgramNote, HostileNotesYieldNothingUnsafe) {
  for (const char* s : {"", "not json", "[1,2]", "{\"n\":5}", "{\"n\":\"a b\"}",
                        "{\"n\":\"x\\u0001\"}", "{\"m\":[\"ok\",7]}", "{\"i\":-3}",
                        "{\"n\":\""
                        "0123456789012345678901234567890123456789012345678901234567890123"
                        "4\"}"}) {
    auto n = DecodeNote(Text(s));
    EXPECT_TRUE(n.name.empty()) << s;
    EXPECT_TRUE(n.maps.empty()) << s;
    EXPECT_EQ(n.id, 0u) << s;
  }
}

TEST(StreamPeer, AFileIsNamedByItsPath) {
  auto path = std::filesystem::temp_directory_path() / ("hu-peer-" + std::to_string(getpid()));
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(DescribeStreamPeer(getpid(), fd), "file " + path.string());
  close(fd);
  std::filesystem::remove(path);
}

TEST(StreamPeer, ATcpSocketIsNamedByItsPeer) {
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(srv, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ASSERT_EQ(listen(srv, 1), 0);
  socklen_t len = sizeof(sa);
  getsockname(srv, reinterpret_cast<sockaddr*>(&sa), &len);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  EXPECT_EQ(DescribeStreamPeer(getpid(), c), "tcp 127.0.0.1:" + std::to_string(ntohs(sa.sin_port)));
  close(c);
  close(srv);
}

// xl migrate writes into a pipe whose reader is `ssh host xl migrate-receive`.
TEST(StreamPeer, APipeIsNamedByItsReader) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t child = fork();
  if (child == 0) {
    close(p[1]);
    execlp("sleep", "sleep", "30", nullptr);
    _exit(127);
  }
  close(p[0]);
  std::string got;
  for (int i = 0; i < 100 && got.find("sleep") == std::string::npos; i++) {
    usleep(20000);  // until the child has exec'd
    got = DescribeStreamPeer(getpid(), p[1]);
  }
  EXPECT_EQ(got, "pipe to `sleep 30` (pid " + std::to_string(child) + ")");
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(p[1]);
}

// xl migrate-receive and the libxl-save-helper it starts both read the
// stream: every reader is named, in pid order.
TEST(StreamPeer, EveryReaderOfAPipeIsNamed) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < 2; i++) {
    pid_t child = fork();
    if (child == 0) {
      close(p[1]);
      execlp("sleep", "sleep", "30", nullptr);
      _exit(127);
    }
    children.push_back(child);
  }
  close(p[0]);
  std::sort(children.begin(), children.end());
  const std::string want =
      fmt::format("pipe to `sleep 30` (pid {}), `sleep 30` (pid {})", children[0], children[1]);
  std::string got;
  for (int i = 0; i < 100 && got != want; i++) {
    usleep(20000);  // until both children have exec'd
    got = DescribeStreamPeer(getpid(), p[1]);
  }
  EXPECT_EQ(got, want);
  for (pid_t c : children) {
    kill(c, SIGKILL);
    waitpid(c, nullptr, 0);
  }
  close(p[1]);
}

TEST(StreamPeer, WhatProcDoesNotShowIsUnknown) {
  EXPECT_NE(DescribeStreamPeer(getpid(), 9999).find("unknown"), std::string::npos);
}

struct Recorded {
  std::vector<std::pair<uint32_t, std::string>> leaving;
  std::vector<uint32_t> stayed;
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> restored;
};

std::unique_ptr<ToolstackServer> Serve(const std::string& path, Recorded& r) {
  ToolstackHandlers h;
  h.leaving = [&r](uint32_t d, const std::string& dest) { r.leaving.emplace_back(d, dest); };
  h.stayed = [&r](uint32_t d) { r.stayed.push_back(d); };
  h.restore = [&r](uint32_t d, const std::vector<uint8_t>& s) -> Result<uint32_t> {
    r.restored.emplace_back(d, s);
    if (s.size() == 3)
      return MakeError(ErrorCode::kPermissionDenied, "program 'x': policy: no\nmore");
    return 2u;
  };
  auto s = ToolstackServer::Listen(path, std::move(h));
  EXPECT_TRUE(s.ok());
  return s.ok() ? std::move(*s) : nullptr;
}

std::string Path(const char* tag) {
  return (std::filesystem::temp_directory_path() /
          ("hu-ts-" + std::to_string(getpid()) + "-" + tag + "/toolstack.sock"))
      .string();
}

std::string Ask(ToolstackServer& s, const std::string& line, std::string payload = "") {
  return s.Handle(line, getpid(), [&payload](std::vector<uint8_t>& b, size_t n) {
    if (payload.size() < n) return false;
    b.assign(payload.begin(), payload.begin() + n);
    return true;
  });
}

TEST(ToolstackServer, SpeaksTheProtocol) {
  Recorded r;
  auto path = Path("proto");
  auto s = Serve(path, r);
  ASSERT_TRUE(s);
  int fd = open("/dev/null", O_WRONLY);
  EXPECT_EQ(Ask(*s, "HYPERUPCALL 1 SAVE 5 " + std::to_string(fd)), "OK");
  ASSERT_EQ(r.leaving.size(), 1u);
  EXPECT_EQ(r.leaving[0], (std::pair<uint32_t, std::string>{5, "file /dev/null"}));
  close(fd);
  EXPECT_EQ(Ask(*s, "HYPERUPCALL 1 RESUME 5"), "OK");
  EXPECT_EQ(r.stayed, std::vector<uint32_t>{5});
  EXPECT_EQ(Ask(*s, "HYPERUPCALL 1 RESTORE 6 4", "abcd"), "OK 2");
  EXPECT_EQ(r.restored.at(0).second, Text("abcd"));
  EXPECT_EQ(Ask(*s, "HYPERUPCALL 1 RESTORE 6 3", "abc"), "REFUSED program 'x': policy: no\nmore");
}

TEST(ToolstackServer, RefusesWhatIsNotARequest) {
  Recorded r;
  auto s = Serve(Path("bad"), r);
  ASSERT_TRUE(s);
  for (const char* line :
       {"", "HELLO", "HYPERUPCALL 2 RESUME 5", "HYPERUPCALL 1 RESUME x", "HYPERUPCALL 1 RESUME 5 6",
        "HYPERUPCALL 1 RESUME -1", "HYPERUPCALL 1 SAVE 5", "HYPERUPCALL 1 RESTORE 5 99999999999",
        "HYPERUPCALL 1 RESUME 4294967296"}) {
    EXPECT_EQ(Ask(*s, line).rfind("REFUSED ", 0), 0u) << line;
  }
  EXPECT_EQ(Ask(*s, "HYPERUPCALL 1 RESTORE 5 " + std::to_string(HU_XEN_STATE_MAX + 1))
                .rfind("REFUSED ", 0),
            0u);
  EXPECT_EQ(Ask(*s, "HYPERUPCALL 1 RESTORE 5 10", "short"),
            "REFUSED the program state was cut short");
  EXPECT_TRUE(r.leaving.empty() && r.stayed.empty() && r.restored.empty());
}

// Over the socket itself: one line each way, the reason kept on one line;
// the socket is root's alone.
TEST(ToolstackServer, AnswersOnItsSocket) {
  Recorded r;
  auto path = Path("socket");
  auto s = Serve(path, r);
  ASSERT_TRUE(s);
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  std::string req = "HYPERUPCALL 1 RESTORE 9 3\nabc";
  ASSERT_EQ(write(c, req.data(), req.size()), ssize_t(req.size()));
  std::string answer;
  char ch;
  while (read(c, &ch, 1) == 1 && ch != '\n') answer.push_back(ch);
  close(c);
  if (geteuid() == 0) {
    EXPECT_EQ(answer, "REFUSED program 'x': policy: no more");
    ASSERT_EQ(r.restored.size(), 1u);
    EXPECT_EQ(r.restored[0].first, 9u);
  } else {
    EXPECT_EQ(answer, "REFUSED only root may talk to hyperupcalld's toolstack socket");
    EXPECT_TRUE(r.restored.empty());
  }
  s.reset();
  EXPECT_FALSE(std::filesystem::exists(path));
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

}  // namespace
}  // namespace hu::xen
