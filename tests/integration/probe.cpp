// hu_guest_probe: a deliberately low-level guest for the integration tests.
// It sends what the real guest tool never would (hand-assembled programs,
// unknown hooks, oversized regions, requests cut off mid-way) so the tests
// can check the daemon's answers to hostile input.
//   hu_guest_probe --socket PATH register --hook H --name N --asm TEXT
//                  [--map name:type:key:value:entries]... [--region start:len:flags]...
//                  [--request-id TOKEN]
//   hu_guest_probe --socket PATH list | unregister ID | health [--service NAME]
//   hu_guest_probe --socket PATH flood BYTES     (one huge request; for kill -9 mid-send)
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "grpc/health/v1/health.grpc.pb.h"
#include "hyperupcall/asm.hpp"
#include "hyperupcall/decode.hpp"
#include "hyperupcall/guest/v1/guest.grpc.pb.h"

namespace gv1 = hyperupcall::guest::v1;
using json = nlohmann::json;

namespace {

int PrintStatus(const grpc::Status& st) {
  json j = {{"ok", st.ok()},
            {"code", static_cast<int>(st.error_code())},
            {"message", st.error_message()}};
  fmt::print("{}\n", j.dump());
  return st.ok() ? 0 : 1;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p - start));
    if (p == std::string::npos) return out;
    start = p + 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket, hook, name, asm_text;
  std::vector<std::string> maps, regions;
  uint64_t id = 0, flood_bytes = 0;
  CLI::App app{"hu_guest_probe"};
  app.require_subcommand(1);
  app.add_option("--socket", socket)->required();
  auto* reg = app.add_subcommand("register");
  reg->add_option("--hook", hook)->required();
  reg->add_option("--name", name)->required();
  reg->add_option("--asm", asm_text)->required();
  reg->add_option("--map", maps);
  reg->add_option("--region", regions);
  std::string request_id;
  reg->add_option("--request-id", request_id);
  auto* list = app.add_subcommand("list");
  auto* unreg = app.add_subcommand("unregister");
  unreg->add_option("ID", id)->required();
  auto* health = app.add_subcommand("health");
  std::string service;  // "": the server as a whole
  health->add_option("--service", service, "one service's status, e.g. hyperupcall.fleet");
  auto* flood = app.add_subcommand("flood");
  flood->add_option("BYTES", flood_bytes)->required();
  CLI11_PARSE(app, argc, argv);

  auto ch = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  auto stub = gv1::GuestService::NewStub(ch);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));

  if (*reg || *flood) {
    gv1::RegisterProgramRequest req;
    req.set_hook(hook);
    req.set_name(name);
    req.set_request_id(request_id);
    if (*flood) {
      req.set_hook("trace.exit");
      req.set_name("flood");
      req.set_insns(std::string(flood_bytes, '\x95'));
      fmt::print("sending\n");
      std::fflush(stdout);
    } else {
      auto insns = hu::Assemble(asm_text);
      if (!insns) {
        fmt::print(stderr, "probe: {}\n", insns.error().message);
        return 2;
      }
      auto bytes = hu::EncodeBytes(*insns);
      req.set_insns(std::string(bytes.begin(), bytes.end()));
    }
    for (const auto& m : maps) {
      auto f = Split(m, ':');
      if (f.size() != 5) return 2;
      auto* pm = req.add_maps();
      pm->set_name(f[0]);
      pm->set_type(std::stoul(f[1]));
      pm->set_key_size(std::stoul(f[2]));
      pm->set_value_size(std::stoul(f[3]));
      pm->set_max_entries(std::stoul(f[4]));
    }
    for (const auto& r : regions) {
      auto f = Split(r, ':');
      if (f.size() != 3) return 2;
      auto* pr = req.add_regions();
      pr->set_start(std::stoull(f[0], nullptr, 0));
      pr->set_len(std::stoull(f[1], nullptr, 0));
      pr->set_flags(std::stoul(f[2], nullptr, 0));
    }
    gv1::RegisterProgramResponse resp;
    auto st = stub->RegisterProgram(&ctx, req, &resp);
    if (!st.ok()) return PrintStatus(st);
    const auto& v = resp.verdict();
    json j = {{"ok", true},
              {"id", resp.id()},
              {"verdict", hyperupcall::common::v1::VerdictKind_Name(v.kind())},
              {"stage", v.stage()},
              {"message", v.message()},
              {"code", v.code()},
              {"error_pc", v.error_pc()}};
    fmt::print("{}\n", j.dump());
    return 0;
  }
  if (*list) {
    gv1::ListProgramsRequest req;
    req.set_all(true);
    gv1::ListProgramsResponse resp;
    auto st = stub->ListPrograms(&ctx, req, &resp);
    if (!st.ok()) return PrintStatus(st);
    json a = json::array();
    for (const auto& p : resp.programs()) {
      a.push_back({{"id", p.id()}, {"domid", p.domid()}, {"name", p.name()}, {"state", p.state()}});
    }
    fmt::print("{}\n", a.dump());
    return 0;
  }
  if (*unreg) {
    gv1::UnregisterProgramRequest req;
    req.set_id(id);
    gv1::UnregisterProgramResponse resp;
    return PrintStatus(stub->UnregisterProgram(&ctx, req, &resp));
  }
  if (*health) {
    auto hs = grpc::health::v1::Health::NewStub(ch);
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    req.set_service(service);
    auto st = hs->Check(&ctx, req, &resp);
    if (!st.ok()) return PrintStatus(st);
    fmt::print("{}\n", grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status()));
    return 0;
  }
  return 2;
}
