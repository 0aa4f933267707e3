#include "stream_peer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

namespace hu::xen {
namespace {

namespace fs = std::filesystem;

std::string Link(const std::string& path) {
  std::error_code ec;
  auto target = fs::read_symlink(path, ec);
  return ec ? std::string() : target.string();
}

// The inode of "socket:[123]" or "pipe:[123]"; 0 if `link` is not of `kind`.
unsigned long Inode(const std::string& link, const std::string& kind) {
  if (link.rfind(kind + ":[", 0) != 0) return 0;
  return std::strtoul(link.c_str() + kind.size() + 2, nullptr, 10);
}

std::string Cmdline(const std::string& proc, const std::string& pid) {
  std::ifstream in(proc + "/" + pid + "/cmdline", std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && s.back() == '\0') s.pop_back();
  for (char& c : s) {
    if (c == '\0') c = ' ';
  }
  return s.empty() ? "?" : s.substr(0, 200);
}

// The remote address of TCP socket `inode` in a /proc/net/tcp{,6} table.
std::string TcpPeer(const std::string& table, unsigned long inode, bool v6) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, st, queues, timer, retr, uid, timeout;
    unsigned long ino = 0;
    if (!(f >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> ino) ||
        ino != inode) {
      continue;
    }
    auto colon = remote.find(':');
    if (colon == std::string::npos) return "tcp ?";
    unsigned port = std::stoul(remote.substr(colon + 1), nullptr, 16);
    // The kernel prints the address as host-order 32-bit words in hex.
    std::string hex = remote.substr(0, colon);
    uint32_t words[4] = {};
    for (size_t w = 0; w < hex.size() / 8 && w < 4; w++) {
      words[w] = static_cast<uint32_t>(std::stoul(hex.substr(w * 8, 8), nullptr, 16));
    }
    char buf[INET6_ADDRSTRLEN] = "?";
    inet_ntop(v6 ? AF_INET6 : AF_INET, words, buf, sizeof(buf));
    return v6 ? fmt::format("tcp [{}]:{}", buf, port) : fmt::format("tcp {}:{}", buf, port);
  }
  return {};
}

std::string UnixPeer(const std::string& table, unsigned long inode) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string num, refs, proto, flags, type, st, path;
    unsigned long ino = 0;
    if (!(f >> num >> refs >> proto >> flags >> type >> st >> ino) || ino != inode) continue;
    f >> path;
    return path.empty() ? "unix socket" : "unix socket " + path;
  }
  return {};
}

// The processes that hold pipe `inode` open for reading, oldest first: the
// receiver. Often several share it (xl migrate-receive and the
// libxl-save-helper it started, or `ssh host xl migrate-receive`), and which
// one names the destination best depends on the toolstack: all are named.
std::string PipeReaders(const std::string& proc, pid_t self, int self_fd, unsigned long inode) {
  constexpr size_t kMaxNamed = 4;
  std::error_code ec;
  std::set<long> readers;
  for (const auto& p : fs::directory_iterator(proc, ec)) {
    const std::string pid = p.path().filename().string();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fec;
    for (const auto& f : fs::directory_iterator(p.path() / "fd", fec)) {
      const std::string fd = f.path().filename().string();
      if ((pid == std::to_string(self) && fd == std::to_string(self_fd)) ||
          Inode(Link(f.path().string()), "pipe") != inode) {
        continue;
      }
      std::ifstream info(p.path().string() + "/fdinfo/" + fd);
      std::string key;
      unsigned long flags = 0;
      while (info >> key) {
        if (key == "flags:") {
          info >> std::oct >> flags;
          break;
        }
      }
      if ((flags & O_ACCMODE) == O_RDONLY) readers.insert(std::stol(pid));
    }
  }
  if (readers.empty()) return {};
  std::string named;
  size_t n = 0;
  for (long pid : readers) {
    if (n++ == kMaxNamed) {
      named += fmt::format(" and {} more", readers.size() - kMaxNamed);
      break;
    }
    named += fmt::format("{}`{}` (pid {})", named.empty() ? "" : ", ",
                         Cmdline(proc, std::to_string(pid)), pid);
  }
  return "pipe to " + named;
}

}  // namespace

std::string DescribeStreamPeer(pid_t pid, int fd, const std::string& proc) {
  const std::string base = fmt::format("{}/{}", proc, pid);
  const std::string link = Link(fmt::format("{}/fd/{}", base, fd));
  if (link.empty()) return fmt::format("unknown (fd {} of pid {} not in {})", fd, pid, proc);
  if (link[0] == '/') return "file " + link;
  if (auto ino = Inode(link, "socket")) {
    for (auto [table, v6] : {std::pair{"tcp", false}, std::pair{"tcp6", true}}) {
      if (auto peer = TcpPeer(base + "/net/" + table, ino, v6); !peer.empty()) return peer;
    }
    if (auto peer = UnixPeer(base + "/net/unix", ino); !peer.empty()) return peer;
    return "socket " + link;
  }
  if (auto ino = Inode(link, "pipe")) {
    if (auto peer = PipeReaders(proc, pid, fd, ino); !peer.empty()) return peer;
    return "pipe (no reader found)";
  }
  return "unknown (" + link + ")";
}

}  // namespace hu::xen
