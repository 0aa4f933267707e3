// Where a save or migration stream goes, as dom0's /proc shows the other
// end of file descriptor `fd` of process `pid` (the toolstack's save helper,
// which told the daemon its fd):
//   a file          "file /var/lib/xen/save/web.save"
//   a TCP socket    "tcp 10.0.0.2:49152"      (libvirt's migration: the destination)
//   a pipe          "pipe to `ssh b xl migrate-receive` (pid 812)"  (xl migrate;
//                   every reader, in pid order)
//   a unix socket   "unix socket /run/x.sock" (or without a path)
// Best effort: "unknown (...)" when /proc does not say.
#pragma once

#include <sys/types.h>

#include <string>

namespace hu::xen {

std::string DescribeStreamPeer(pid_t pid, int fd, const std::string& proc = "/proc");

}  // namespace hu::xen
