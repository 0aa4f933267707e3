// Backends by name. Adding one (e.g. xen) is one line in the table of
// backend_registry.cpp plus its factory.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hyperupcall/daemon/backend.hpp"

namespace hu::daemon {

// Everything any backend may read from the command line.
struct BackendConfig {
  std::string state_dir;
  std::string sim_config;        // JSON file, see README
  uint32_t sim_guests = 0;       // 0: the sim's default (two guests); at most kMaxSimGuests
  std::string sim_kallsyms_dir;  // where the sim writes each guest's kallsyms
  std::string guest_socket_dir;  // xen: each domain's channel is joined to DIR/<domid>.sock
  std::string toolstack_socket;  // xen: libxenguest's socket for save/restore; empty: none
};

// Simulated guests' memory is allocated on touch, so thousands fit.
inline constexpr uint32_t kMaxSimGuests = 4096;

using BackendFactory = std::function<Result<std::unique_ptr<Backend>>(const BackendConfig&)>;

struct BackendEntry {
  const char* name;
  BackendFactory make;
};

const std::vector<BackendEntry>& Backends();
std::vector<std::string> BackendNames();
Result<std::unique_ptr<Backend>> MakeBackend(const std::string& name, const BackendConfig& cfg);

// Factories, one per backend, each in its own file.
Result<std::unique_ptr<Backend>> MakeSimFromConfig(const BackendConfig& cfg);
Result<std::unique_ptr<Backend>> MakeXenFromConfig(const BackendConfig& cfg);  // backend_xen.cpp

}  // namespace hu::daemon
