// The sim backend from the command line: --sim-config FILE (JSON) or
// --sim-guests N.
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "backend_registry.hpp"
#include "hyperupcall/daemon/sim_backend.hpp"

namespace hu::daemon {

namespace {

using json = nlohmann::json;

template <class T>
void Take(const json& j, const char* key, T* out) {
  if (j.contains(key)) *out = j.at(key).get<T>();
}

Result<sim::SimOptions> ParseSimConfig(const std::string& path, sim::SimOptions opts) {
  std::ifstream in(path);
  if (!in) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("cannot read --sim-config {}", path));
  }
  try {
    json j = json::parse(in);
    static const char* kKnown[] = {"pcpus",
                                   "seed",
                                   "tick_us",
                                   "slice_us",
                                   "tick_interval_us",
                                   "default_run_budget",
                                   "pressure_percent",
                                   "reclaim_batch",
                                   "trace_ring_records",
                                   "guests"};
    for (const auto& [k, v] : j.items()) {
      bool known = false;
      for (const char* n : kKnown) known |= (k == n);
      if (!known) {
        return MakeError(ErrorCode::kInvalidArgument, fmt::format("{}: unknown key '{}'", path, k));
      }
    }
    Take(j, "pcpus", &opts.pcpus);
    Take(j, "seed", &opts.seed);
    Take(j, "tick_us", &opts.tick_us);
    Take(j, "slice_us", &opts.slice_us);
    Take(j, "tick_interval_us", &opts.tick_interval_us);
    Take(j, "default_run_budget", &opts.default_run_budget);
    Take(j, "pressure_percent", &opts.pressure_percent);
    Take(j, "reclaim_batch", &opts.reclaim_batch);
    Take(j, "trace_ring_records", &opts.trace_ring_records);
    if (j.contains("guests")) {
      opts.guests.clear();
      for (const auto& g : j.at("guests")) {
        sim::GuestConfig gc;
        Take(g, "domid", &gc.domid);
        Take(g, "name", &gc.name);
        Take(g, "uuid", &gc.uuid);
        Take(g, "vcpus", &gc.vcpus);
        Take(g, "memory_mib", &gc.memory_mib);
        opts.guests.push_back(gc);
      }
    }
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("{}: {}", path, e.what()));
  }
  return opts;
}

}  // namespace

Result<std::unique_ptr<Backend>> MakeSimFromConfig(const BackendConfig& cfg) {
  sim::SimOptions opts;
  opts.kallsyms_dir = cfg.sim_kallsyms_dir;
  if (!cfg.sim_config.empty()) {
    auto parsed = ParseSimConfig(cfg.sim_config, opts);
    if (!parsed) return parsed.error();
    opts = *parsed;
  } else if (cfg.sim_guests) {
    if (cfg.sim_guests > kMaxSimGuests) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("--sim-guests {}: at most {}", cfg.sim_guests, kMaxSimGuests));
    }
    opts.guests.clear();
    for (uint32_t i = 1; i <= cfg.sim_guests; ++i) {
      sim::GuestConfig g;
      g.domid = i;
      g.name = fmt::format("guest{}", i);
      opts.guests.push_back(g);
    }
  }
  auto sim = sim::TryMakeSimBackend(opts);
  if (!sim) return sim.error();
  return std::unique_ptr<Backend>(std::move(sim.value()));
}

}  // namespace hu::daemon
