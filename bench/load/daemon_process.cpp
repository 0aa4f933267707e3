#include "daemon_process.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hu::bench {

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double StatusKiB(pid_t pid, const char* key) {
  std::istringstream in(ReadFile(fmt::format("/proc/{}/status", pid)));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::strtod(line.c_str() + std::strlen(key), nullptr);
  }
  return 0;
}

}  // namespace

DaemonProcess::DaemonProcess(const std::string& binary, uint32_t guests,
                             const std::vector<std::string>& extra,
                             const std::string& state_parent) {
  std::string tmpl = state_parent + "/hu-load.XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + ": " + strerror(errno));
  dir_ = tmpl;
  std::vector<std::string> args = {binary,
                                   "--state",
                                   dir_ + "/state",
                                   "--operator-socket",
                                   dir_ + "/op.sock",
                                   "--guest-socket-dir",
                                   dir_ + "/guests",
                                   "--sim-guests",
                                   std::to_string(guests)};
  args.insert(args.end(), extra.begin(), extra.end());
  const std::string log = dir_ + "/daemon.log";
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    FILE* f = std::fopen(log.c_str(), "w");
    if (f) {
      ::dup2(fileno(f), 1);
      ::dup2(fileno(f), 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < until) {
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("hyperupcalld exited at start:\n" + ReadFile(log));
    }
    struct stat st;
    if (::stat((dir_ + "/op.sock").c_str(), &st) == 0 &&
        ::stat(GuestSocket(guests).c_str(), &st) == 0) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("hyperupcalld did not come up in 120 s:\n" + ReadFile(log));
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status;
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string DaemonProcess::GuestSocket(uint32_t domid) const {
  return fmt::format("{}/guests/{}.sock", dir_, domid);
}

std::string DaemonProcess::KallsymsPath(uint32_t domid) const {
  return fmt::format("{}/state/kallsyms/{}/kallsyms", dir_, domid);
}

double DaemonProcess::CpuSeconds() const {
  // Fields 14 and 15 of /proc/PID/stat, after the command in parentheses.
  const std::string s = ReadFile(fmt::format("/proc/{}/stat", pid_));
  const auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(s.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double DaemonProcess::RssMiB() const { return StatusKiB(pid_, "VmRSS:") / 1024; }
double DaemonProcess::PeakRssMiB() const { return StatusKiB(pid_, "VmHWM:") / 1024; }

HostCpu HostCpu::Now() {
  std::istringstream in(ReadFile("/proc/stat"));
  std::string cpu;
  in >> cpu;
  HostCpu h;
  uint64_t v[10] = {};
  for (auto& x : v) in >> x;
  for (int i = 0; i < 10; ++i) {
    // user nice system idle iowait irq softirq steal guest guest_nice;
    // guest time is already in user.
    if (i >= 8) continue;
    h.total += v[i];
    if (i != 3 && i != 4) h.busy += v[i];
  }
  return h;
}

}  // namespace hu::bench
