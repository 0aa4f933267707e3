// hu_hostile: a guest that attacks the daemon's guest channel, for the
// hostile-guest integration tests. Each subcommand prints one JSON line.
//   hu_hostile --socket S hold --count N --seconds T   connections opened and held
//   hu_hostile --socket S churn --count N              connections opened and closed
//   hu_hostile --socket S raw --method M --hex BYTES    any bytes as a request
//   hu_hostile --socket S slow --wait-s T [--streams N] requests that never complete
//   hu_hostile --socket S silent --wait-s T            a connection that says nothing
//   hu_hostile --socket S burst --count N --channels C registrations all at once
//   hu_hostile --socket S cycle --threads T --seconds S --acks FILE
//       T guests' worth of load: each registers, then unloads its previous
//       program, until the daemon stops answering; every acknowledgement
//       goes to FILE ("R id" registered, "U id" unloaded), for a check
//       after the daemon was killed that nothing acknowledged was lost
#include <fcntl.h>
#include <fmt/format.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "hyperupcall/guest/v1/guest.grpc.pb.h"

namespace gv1 = hyperupcall::guest::v1;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Connects without blocking on a full backlog: -1 when it could not.
int Connect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Whether the daemon has closed its end (EOF or reset) of fd.
bool ClosedByPeer(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    // Data (the server's HTTP/2 preface): read on, it may be followed by EOF.
  }
}

int Hold(const std::string& path, int count, double seconds) {
  std::vector<int> fds;
  int failed = 0;
  for (int i = 0; i < count; ++i) {
    int fd = Connect(path);
    if (fd < 0) {
      ++failed;
    } else {
      fds.push_back(fd);
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  int closed = 0;
  for (int fd : fds) closed += ClosedByPeer(fd);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  int closed_later = 0;
  for (int fd : fds) closed_later += ClosedByPeer(fd);
  for (int fd : fds) ::close(fd);
  fmt::print("{}\n", json{{"tried", count},
                          {"connected", fds.size()},
                          {"connect_failed", failed},
                          {"closed_by_daemon", closed},
                          {"closed_by_daemon_later", closed_later}}
                         .dump());
  return 0;
}

int Churn(const std::string& path, int count) {
  int ok = 0;
  for (int i = 0; i < count; ++i) {
    int fd = Connect(path);
    if (fd >= 0) {
      ++ok;
      ::close(fd);
    }
  }
  fmt::print("{}\n", json{{"tried", count}, {"connected", ok}}.dump());
  return 0;
}

std::shared_ptr<grpc::Channel> Channel(const std::string& path, bool own_connection) {
  grpc::ChannelArguments args;
  if (own_connection) args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("unix:" + path, grpc::InsecureChannelCredentials(), args);
}

int Raw(const std::string& path, const std::string& method, const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  grpc::GenericStub stub(Channel(path, false));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Slice slice(bytes);
  grpc::ByteBuffer req(&slice, 1), resp;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/hyperupcall.guest.v1.GuestService/" + method, grpc::StubOptions(), &req,
                 &resp, [&](grpc::Status st) { done.set_value(st); });
  grpc::Status st = done.get_future().get();
  fmt::print("{}\n", json{{"ok", st.ok()},
                          {"code", static_cast<int>(st.error_code())},
                          {"message", st.error_message()},
                          {"response_bytes", resp.Length()}}
                         .dump());
  return 0;
}

// HTTP/2 by hand: a frame header, then the payload.
std::string Frame(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
  std::string f;
  const uint32_t n = static_cast<uint32_t>(payload.size());
  f += static_cast<char>(n >> 16);
  f += static_cast<char>(n >> 8);
  f += static_cast<char>(n);
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  f += static_cast<char>(stream >> 24);
  f += static_cast<char>(stream >> 16);
  f += static_cast<char>(stream >> 8);
  f += static_cast<char>(stream);
  return f + payload;
}

// An HPACK literal header field without indexing (no Huffman coding).
std::string Literal(const std::string& name, const std::string& value) {
  std::string h;
  h += '\0';
  h += static_cast<char>(name.size());
  h += name;
  h += static_cast<char>(value.size());
  h += value;
  return h;
}

// Reads frames until the server ends stream 1 or the connection, or
// `wait_s` passes. What ended it, and when.
json Watch(int fd, double wait_s, Clock::time_point start) {
  std::string buf;
  const auto until = start + std::chrono::duration<double>(wait_s);
  while (Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 1))) <= 0) continue;
    char tmp[4096];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    if (n <= 0) return {{"ended", true}, {"how", "eof"}, {"after_ms", ms}};
    buf.append(tmp, static_cast<size_t>(n));
    while (buf.size() >= 9) {
      const uint32_t len = (static_cast<uint8_t>(buf[0]) << 16) |
                           (static_cast<uint8_t>(buf[1]) << 8) | static_cast<uint8_t>(buf[2]);
      if (buf.size() < 9 + len) break;
      const uint8_t type = static_cast<uint8_t>(buf[3]), flags = static_cast<uint8_t>(buf[4]);
      const uint32_t stream = ((static_cast<uint8_t>(buf[5]) & 0x7f) << 24) |
                              (static_cast<uint8_t>(buf[6]) << 16) |
                              (static_cast<uint8_t>(buf[7]) << 8) | static_cast<uint8_t>(buf[8]);
      buf.erase(0, 9 + len);
      if (type == 7) return {{"ended", true}, {"how", "goaway"}, {"after_ms", ms}};
      if (stream == 1 && type == 3)
        return {{"ended", true}, {"how", "rst_stream"}, {"after_ms", ms}};
      if (stream == 1 && type == 1 && (flags & 1)) {
        return {{"ended", true}, {"how", "trailers"}, {"after_ms", ms}};
      }
    }
  }
  return {{"ended", false}};
}

std::string Preface() {
  return std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + Frame(4, 0, 0, "");
}

int Slow(const std::string& path, double wait_s, int streams) {
  int fd = Connect(path);
  if (fd < 0) {
    fmt::print("{}\n", json{{"error", "connect failed"}}.dump());
    return 1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const std::string headers =
      Literal(":method", "POST") + Literal(":scheme", "http") +
      Literal(":path", "/hyperupcall.guest.v1.GuestService/RegisterProgram") +
      Literal(":authority", "localhost") + Literal("content-type", "application/grpc") +
      Literal("te", "trailers");
  // A gRPC message header promising 1000 bytes, and only 10 of them.
  std::string data("\x00\x00\x00\x03\xe8", 5);
  data += std::string(10, '\x0a');
  std::string out = Preface();
  // Client streams have odd ids: each of them a call that is admitted and
  // then never completes.
  for (int i = 0; i < streams; ++i) {
    const uint32_t id = 1 + 2 * static_cast<uint32_t>(i);
    out += Frame(1, 4, id, headers) + Frame(0, 0, id, data);
  }
  const auto start = Clock::now();
  (void)!::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  json j = Watch(fd, wait_s, start);
  ::close(fd);
  fmt::print("{}\n", j.dump());
  return 0;
}

int Silent(const std::string& path, double wait_s) {
  int fd = Connect(path);
  if (fd < 0) {
    fmt::print("{}\n", json{{"error", "connect failed"}}.dump());
    return 1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  json j = Watch(fd, wait_s, Clock::now());
  ::close(fd);
  fmt::print("{}\n", j.dump());
  return 0;
}

// Unloads `id`, retried while the guest is past one of its limits (the
// burst and the flood before it leave it so). Its status: the daemon gone
// ends it.
grpc::Status Unload(gv1::GuestService::Stub& stub, uint64_t id) {
  grpc::Status st;
  do {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    gv1::UnregisterProgramRequest u;
    u.set_id(id);
    gv1::UnregisterProgramResponse r;
    st = stub.UnregisterProgram(&ctx, u, &r);
    if (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  } while (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  return st;
}

// `count` registrations of mov r0,0; exit all at once, spread over
// `channels` connections; then the unloads of those accepted.
int Burst(const std::string& path, int count, int channels) {
  std::vector<std::unique_ptr<gv1::GuestService::Stub>> stubs;
  for (int i = 0; i < channels; ++i)
    stubs.push_back(gv1::GuestService::NewStub(Channel(path, true)));
  gv1::RegisterProgramRequest req;
  req.set_hook("trace.exit");
  req.set_name("burst");
  const uint8_t insns[16] = {0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0};
  req.set_insns(std::string(reinterpret_cast<const char*>(insns), sizeof insns));
  struct Call {
    grpc::ClientContext ctx;
    gv1::RegisterProgramResponse resp;
    grpc::Status st;
    std::unique_ptr<grpc::ClientAsyncResponseReader<gv1::RegisterProgramResponse>> rpc;
  };
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < count; ++i) {
    auto c = std::make_unique<Call>();
    c->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    c->rpc = stubs[i % channels]->AsyncRegisterProgram(&c->ctx, req, &cq);
    c->rpc->Finish(&c->resp, &c->st, c.get());
    calls.push_back(std::move(c));
  }
  std::map<std::string, int> codes;
  std::map<std::string, std::string> messages;
  std::vector<uint64_t> accepted;
  for (int i = 0; i < count; ++i) {
    void* tag;
    bool ok;
    if (!cq.Next(&tag, &ok)) break;
    auto* c = static_cast<Call*>(tag);
    std::string code = c->st.ok() ? "OK" : std::to_string(static_cast<int>(c->st.error_code()));
    ++codes[code];
    if (!c->st.ok()) messages.emplace(code, c->st.error_message());
    if (c->st.ok() && c->resp.verdict().kind() == hyperupcall::common::v1::VERDICT_ACCEPTED) {
      accepted.push_back(c->resp.id());
    }
  }
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  for (uint64_t id : accepted) (void)Unload(*stubs[0], id);
  fmt::print("{}\n",
             json{{"codes", codes}, {"messages", messages}, {"accepted", accepted.size()}}.dump());
  return 0;
}

gv1::RegisterProgramRequest Trivial(const char* name) {
  gv1::RegisterProgramRequest req;
  req.set_hook("trace.exit");
  req.set_name(name);
  const uint8_t insns[16] = {0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0};
  req.set_insns(std::string(reinterpret_cast<const char*>(insns), sizeof insns));
  return req;
}

int Cycle(const std::string& path, int threads, double seconds, const std::string& acks) {
  std::mutex mu;
  std::ofstream out(acks, std::ios::trunc);
  std::atomic<uint64_t> registered{0}, unloaded{0};
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      auto stub = gv1::GuestService::NewStub(Channel(path, true));
      const auto req = Trivial("cycle");
      uint64_t previous = 0;
      while (Clock::now() < until) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        gv1::RegisterProgramResponse resp;
        const grpc::Status st = stub->RegisterProgram(&ctx, req, &resp);
        if (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));  // past a guest limit
          continue;
        }
        if (!st.ok()) return;  // the daemon is gone
        if (resp.verdict().kind() == hyperupcall::common::v1::VERDICT_ACCEPTED) {
          std::lock_guard lk(mu);
          out << "R " << resp.id() << "\n";
          ++registered;
        }
        if (previous) {
          {
            // An unload in flight when the daemon dies may or may not have
            // been committed: only an answered one must hold.
            std::lock_guard lk(mu);
            out << "T " << previous << "\n";
          }
          if (!Unload(*stub, previous).ok()) return;
          std::lock_guard lk(mu);
          out << "U " << previous << "\n";
          ++unloaded;
        }
        previous =
            resp.verdict().kind() == hyperupcall::common::v1::VERDICT_ACCEPTED ? resp.id() : 0;
      }
    });
  }
  for (auto& t : ts) t.join();
  out.close();
  fmt::print("{}\n", json{{"registered", registered.load()}, {"unloaded", unloaded.load()}}.dump());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket, method, hex, acks;
  int count = 1, channels = 1, threads = 4, streams = 1;
  double seconds = 1, wait_s = 30;
  CLI::App app{"hu_hostile: a hostile guest for the integration tests"};
  app.require_subcommand(1);
  app.add_option("--socket", socket)->required();
  auto* hold = app.add_subcommand("hold");
  hold->add_option("--count", count);
  hold->add_option("--seconds", seconds);
  auto* churn = app.add_subcommand("churn");
  churn->add_option("--count", count);
  auto* raw = app.add_subcommand("raw");
  raw->add_option("--method", method)->required();
  raw->add_option("--hex", hex);
  auto* slow = app.add_subcommand("slow");
  slow->add_option("--wait-s", wait_s);
  slow->add_option("--streams", streams);
  auto* silent = app.add_subcommand("silent");
  silent->add_option("--wait-s", wait_s);
  auto* burst = app.add_subcommand("burst");
  burst->add_option("--count", count);
  burst->add_option("--channels", channels);
  auto* cycle = app.add_subcommand("cycle");
  cycle->add_option("--threads", threads);
  cycle->add_option("--seconds", seconds);
  cycle->add_option("--acks", acks)->required();
  CLI11_PARSE(app, argc, argv);
  if (*cycle) return Cycle(socket, threads, seconds, acks);
  if (*hold) return Hold(socket, count, seconds);
  if (*churn) return Churn(socket, count);
  if (*raw) return Raw(socket, method, hex);
  if (*slow) return Slow(socket, wait_s, std::max(1, streams));
  if (*silent) return Silent(socket, wait_s);
  return Burst(socket, count, std::max(1, channels));
}
