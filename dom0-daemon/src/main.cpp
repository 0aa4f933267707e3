// hyperupcalld: the dom0 daemon. See dom0-daemon/README.md.
#include <spdlog/spdlog.h>

#include "daemon.hpp"
#include "options.hpp"

int main(int argc, char** argv) {
  hu::daemon::DaemonOptions opts;
  if (int rc = hu::daemon::ParseOptions(argc, argv, &opts); rc >= 0) return rc;
  spdlog::set_level(spdlog::level::from_str(opts.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  // Decisions reach the log (often a file) as they happen, not at exit.
  spdlog::flush_on(spdlog::level::info);
  return hu::daemon::RunDaemon(opts);
}
