// hyperupcalld's log: stderr (the journal under systemd) or a file, as
// text or one JSON object per line, timestamps in local time with their UTC
// offset. SIGHUP applies a new level or format and reopens the file (after
// logrotate moved it); the one logger stays, so threads logging meanwhile
// are never left with a destroyed one.
#pragma once

#include <string>

#include "hyperupcall/result.hpp"

namespace hu::daemon {

struct LogOptions {
  std::string level = "info";   // trace, debug, info, warn, error
  std::string format = "text";  // text or json
  std::string file;             // empty: stderr
};

// First call: installs the logger. Later calls: new level and format, and
// the file (re)opened. A file that cannot be opened keeps the old one and
// says why.
Status ConfigureLogging(const LogOptions& o);

}  // namespace hu::daemon
