// fleet_propagation: how long a fleet policy change takes to reach every
// host. A load tool (not Google Benchmark: one sample is one change seen by
// N separate daemons). It follows each host's operator Events stream, writes
// the fleet-wide policy to etcd (compare-and-swap, as hyperupcallctl does)
// and times, per host, from just before the write until that host announces
// it applied that revision (its "fleet: ... at etcd revision R" event).
//
//   fleet_propagation --etcd HOST:PORT,... --sockets FILE --changes K
//                     [--interval-ms MS] [--prefix P] [--hosts N]
// FILE: one operator socket per line; --hosts N uses the first N of them.
// Prints one JSON object: samples per host and per change, percentiles.
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "etcd_client.hpp"
#include "fleet_keys.hpp"
#include "hyperupcall/operator_api/v1/operator.grpc.pb.h"

namespace opv1 = hyperupcall::operator_api::v1;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {

struct Seen {
  std::mutex mu;
  std::condition_variable cv;
  // revision -> host -> when that host announced it
  std::map<int64_t, std::map<size_t, Clock::time_point>> at;
  std::set<size_t> streaming;  // hosts whose Events stream is open
};

void Follow(size_t host, const std::string& socket, Seen& seen, grpc::ClientContext& ctx) {
  auto stub = opv1::OperatorService::NewStub(
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));
  opv1::EventsRequest req;
  req.set_no_trace(true);
  auto reader = stub->Events(&ctx, req);
  const std::regex rev("^fleet: fleet-wide policy set at etcd revision ([0-9]+)");
  {
    std::lock_guard lk(seen.mu);
    seen.streaming.insert(host);
  }
  seen.cv.notify_all();
  opv1::Event ev;
  while (reader->Read(&ev)) {
    if (ev.kind() != opv1::EVENT_KIND_POLICY_CHANGED) continue;
    std::smatch m;
    const std::string msg = ev.message();
    if (!std::regex_search(msg, m, rev)) continue;
    const auto now = Clock::now();
    std::lock_guard lk(seen.mu);
    seen.at[std::stoll(m[1])].emplace(host, now);
    seen.cv.notify_all();
  }
  (void)reader->Finish();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * v.size()));
  return v[i];
}

json Summary(const std::vector<double>& v) {
  return {{"n", v.size()},
          {"p50_ms", Percentile(v, 50)},
          {"p90_ms", Percentile(v, 90)},
          {"p99_ms", Percentile(v, 99)},
          {"max_ms", v.empty() ? 0 : *std::max_element(v.begin(), v.end())}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string etcd_list, sockets_file, prefix = "/hyperupcall";
  int changes = 20, interval_ms = 300, hosts_limit = 0, timeout_s = 30;
  CLI::App app{"fleet_propagation: fleet policy change -> every host, timed"};
  app.add_option("--etcd", etcd_list, "etcd endpoints")->required();
  app.add_option("--sockets", sockets_file, "file: one operator socket per line")->required();
  app.add_option("--changes", changes, "policy changes to time")->capture_default_str();
  app.add_option("--interval-ms", interval_ms, "pause between changes")->capture_default_str();
  app.add_option("--hosts", hosts_limit, "use the first N sockets (0: all)");
  app.add_option("--prefix", prefix, "fleet key prefix")->capture_default_str();
  app.add_option("--timeout", timeout_s, "seconds to wait for every host, per change")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> sockets;
  std::ifstream in(sockets_file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) sockets.push_back(line);
  }
  if (hosts_limit > 0 && static_cast<size_t>(hosts_limit) < sockets.size()) {
    sockets.resize(static_cast<size_t>(hosts_limit));
  }
  if (sockets.empty()) {
    fmt::print(stderr, "fleet_propagation: no sockets in {}\n", sockets_file);
    return 2;
  }
  auto eps = hu::etcd::ParseEndpoints(etcd_list);
  if (!eps) {
    fmt::print(stderr, "fleet_propagation: {}\n", eps.error().message);
    return 2;
  }
  hu::etcd::Client etcd({*eps, std::chrono::seconds(10)});
  hu::fleet::Keys keys{prefix};

  Seen seen;
  std::vector<std::unique_ptr<grpc::ClientContext>> ctxs;
  std::vector<std::thread> followers;
  for (size_t i = 0; i < sockets.size(); ++i) {
    ctxs.push_back(std::make_unique<grpc::ClientContext>());
    followers.emplace_back(Follow, i, sockets[i], std::ref(seen), std::ref(*ctxs.back()));
  }
  {
    std::unique_lock lk(seen.mu);
    seen.cv.wait_for(lk, std::chrono::seconds(timeout_s),
                     [&] { return seen.streaming.size() == sockets.size(); });
  }
  // Two policies that differ, alternated; change 0 is a warm-up that also
  // proves every stream delivers.
  const std::string a =
      R"({"allowed_helpers":["map_lookup_elem","map_update_elem","map_delete_elem","read_gva","read_gpa","write_gva","trace_output","ktime_ns","vcpu_state"],"allowed_hooks":["mem.reclaim","trace.exit"],"max_grace_us":100,"max_insns":4096,"max_programs":8,"require_approval":false,"run_budget":0})";
  const std::string b =
      R"({"allowed_helpers":["map_lookup_elem","map_update_elem","map_delete_elem","read_gva","read_gpa","write_gva","trace_output","ktime_ns","vcpu_state"],"allowed_hooks":["mem.reclaim","sched.preempt"],"max_grace_us":100,"max_insns":4096,"max_programs":8,"require_approval":false,"run_budget":0})";
  std::vector<double> per_host, to_all;
  size_t missing = 0;
  json rows = json::array();
  for (int k = 0; k <= changes; ++k) {
    auto cur = etcd.Get(keys.FleetPolicy());
    if (!cur) {
      fmt::print(stderr, "fleet_propagation: {}\n", cur.error().message);
      return 1;
    }
    const int64_t expected = *cur ? (*cur)->mod_revision : 0;
    const auto t0 = Clock::now();
    auto r = etcd.CompareAndPut(keys.FleetPolicy(), k % 2 ? a : b, expected);
    if (!r || !r->succeeded) {
      fmt::print(stderr, "fleet_propagation: write {} failed: {}\n", k,
                 r ? "revision moved" : r.error().message);
      return 1;
    }
    const int64_t rev = r->revision;
    std::map<size_t, Clock::time_point> got;
    {
      std::unique_lock lk(seen.mu);
      seen.cv.wait_for(lk, std::chrono::seconds(timeout_s),
                       [&] { return seen.at[rev].size() == sockets.size(); });
      got = seen.at[rev];
    }
    std::vector<double> lat;
    for (const auto& [h, t] : got) {
      lat.push_back(std::chrono::duration<double, std::milli>(t - t0).count());
    }
    if (k > 0) {
      per_host.insert(per_host.end(), lat.begin(), lat.end());
      missing += sockets.size() - got.size();
      if (got.size() == sockets.size()) to_all.push_back(*std::max_element(lat.begin(), lat.end()));
      rows.push_back({{"revision", rev},
                      {"hosts_seen", got.size()},
                      {"p50_ms", Percentile(lat, 50)},
                      {"all_ms", lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end())}});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
  for (auto& c : ctxs) c->TryCancel();
  for (auto& t : followers) t.join();
  json out = {{"hosts", sockets.size()},
              {"changes", changes},
              {"missing", missing},
              {"per_host", Summary(per_host)},
              {"to_all_hosts", Summary(to_all)},
              {"per_change", rows}};
  fmt::print("{}\n", out.dump(2));
  return missing ? 1 : 0;
}
