// What hyperupcalld attaches to each program it installs in Xen
// (XEN_DOMCTL_HYPERUPCALL_annotate, xen-patches/0030): the program's name,
// its maps' names, its id and the host, so that wherever the domain is
// restored the program keeps its names and says where it came from. Xen
// carries the note opaquely in save and load; a stream can be tampered
// with, so DecodeNote keeps only what is well-formed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace hu::xen {

struct ProgramNote {
  std::string name;               // empty: unknown
  std::vector<std::string> maps;  // in map index order; may be empty
  uint64_t id = 0;                // the daemon's id where the note was written
  std::string host;               // that host's name
};

// JSON, at most HU_XEN_ANNOTATION_MAX bytes: map names go first, then the
// name and host are shortened, when it would not fit.
std::vector<uint8_t> EncodeNote(const ProgramNote& note);
// Names that are not 1..64 printable characters are dropped.
ProgramNote DecodeNote(std::span<const uint8_t> bytes);

}  // namespace hu::xen
