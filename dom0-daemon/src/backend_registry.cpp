#include "backend_registry.hpp"

#include <fmt/format.h>

#include "names.hpp"

namespace hu::daemon {

const std::vector<BackendEntry>& Backends() {
  static const std::vector<BackendEntry> kBackends = {
      {"sim", MakeSimFromConfig},
#ifdef HU_HAVE_XEN_BACKEND
      {"xen", MakeXenFromConfig},
#endif
  };
  return kBackends;
}

std::vector<std::string> BackendNames() {
  std::vector<std::string> out;
  for (const auto& b : Backends()) out.emplace_back(b.name);
  return out;
}

Result<std::unique_ptr<Backend>> MakeBackend(const std::string& name, const BackendConfig& cfg) {
  for (const auto& b : Backends()) {
    if (name == b.name) return b.make(cfg);
  }
  return MakeError(ErrorCode::kInvalidArgument, fmt::format("unknown backend '{}' (built with: {})",
                                                            name, Join(BackendNames(), ", ")));
}

}  // namespace hu::daemon
