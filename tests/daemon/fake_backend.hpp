// A Backend for unit tests of the daemon's core: it records what the core
// installs and uninstalls. Never used outside tests.
#pragma once

#include <map>
#include <mutex>

#include "hyperupcall/daemon/backend.hpp"

namespace hu::daemon::test {

class FakeBackend final : public Backend {
 public:
  std::string Name() const override { return "fake"; }
  BackendLimits Limits() const override { return limits; }
  uint64_t DefaultRunBudget() const override { return default_run_budget; }
  std::vector<DomainInfo> Domains() override {
    std::lock_guard lk(mu);
    return domains;
  }
  Status Install(const ProgramImage& image) override {
    std::lock_guard lk(mu);
    if (fail_install) return MakeError(ErrorCode::kUnavailable, "fake install failure");
    installed[image.id] = image;
    return Status::Ok();
  }
  Status Uninstall(uint32_t domid, uint64_t prog_id) override {
    std::lock_guard lk(mu);
    auto it = installed.find(prog_id);
    if (it == installed.end() || it->second.domid != domid) {
      return MakeError(ErrorCode::kNotFound, "not installed");
    }
    installed.erase(it);
    return Status::Ok();
  }
  Result<ProgramStats> Stats(uint32_t, uint64_t prog_id) override {
    std::lock_guard lk(mu);
    if (!installed.count(prog_id)) return MakeError(ErrorCode::kNotFound, "not installed");
    ProgramStats s;
    s.runs = 7;
    return s;
  }
  Result<std::vector<MapEntry>> MapDump(uint32_t, uint64_t, uint32_t) override {
    return std::vector<MapEntry>{{{1, 0, 0, 0}, {42}}};
  }
  Status MapUpdate(uint32_t, uint64_t, uint32_t, const MapEntry&) override { return Status::Ok(); }
  std::vector<TraceRecord> DrainTrace() override { return {}; }
  void SetDomainEventSink(std::function<void(const DomainEvent&)>) override {}
  Status Start() override { return Status::Ok(); }
  void Stop() override {}

  BackendLimits limits;
  std::mutex mu;
  std::vector<DomainInfo> domains = {{1, "one", "", 2, 64 * 1024, true},
                                     {2, "two", "", 2, 64 * 1024, true}};
  std::map<uint64_t, ProgramImage> installed;
  uint64_t default_run_budget = 0;
  bool fail_install = false;
};

}  // namespace hu::daemon::test
