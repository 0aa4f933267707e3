// hyperupcalld: the dom0 daemon. See dom0-daemon/README.md.
#include <spdlog/spdlog.h>

#include "daemon.hpp"
#include "logging.hpp"
#include "options.hpp"

int main(int argc, char** argv) {
  hu::daemon::DaemonOptions opts;
  if (int rc = hu::daemon::ParseOptions(argc, argv, &opts); rc >= 0) return rc;
  if (auto st = hu::daemon::ConfigureLogging(opts.log); !st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  auto reread = [argc, argv](std::string* error) -> std::optional<hu::daemon::DaemonOptions> {
    hu::daemon::DaemonOptions o;
    if (hu::daemon::ParseOptions(argc, argv, &o, error) >= 0) return std::nullopt;
    return o;
  };
  return hu::daemon::RunDaemon(opts, reread);
}
