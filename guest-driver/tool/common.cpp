#include <nlohmann/json.hpp>
#include <ostream>

#include "tool.hpp"

namespace hu::guest::tool {

int Fail(const Global& g, const Failure& f, std::ostream& out, std::ostream& err) {
  if (g.json) {
    const char* kind = f.exit_code == kExitTransport  ? "transport"
                       : f.exit_code == kExitRejected ? "rejected"
                                                      : "usage";
    out << nlohmann::json{{"error", f.message}, {"kind", kind}, {"exit_code", f.exit_code}}.dump(2)
        << "\n";
  }
  err << "hyperupcall: " << f.message << "\n";
  return f.exit_code;
}

int ExitFor(const CallError& e) { return e.transport ? kExitTransport : kExitRejected; }

std::unique_ptr<GuestClient> Connect(const Global& g, Failure* failure) {
  auto t = OpenTransport(g.connect);
  if (!t) {
    *failure = {kExitUsage, t.error().message};
    return nullptr;
  }
  if (!(g.timeout_s > 0)) {
    *failure = {kExitUsage, "--timeout must be more than 0 seconds"};
    return nullptr;
  }
  return std::make_unique<GuestClient>(
      std::move(t).value(), std::chrono::milliseconds(static_cast<int64_t>(g.timeout_s * 1000)));
}

}  // namespace hu::guest::tool
