#include "domain_resolver.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <ctime>
#include <map>
#include <optional>
#include <string>

namespace hu::daemon {

namespace {

std::optional<uint32_t> AsDomid(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Candidate {
  std::string name;
  bool running = true;
  std::vector<std::string> how;  // "id", "name", "UUID", "libvirt name", ...
};

void Note(Candidate& c, const std::string& how) {
  if (std::find(c.how.begin(), c.how.end(), how) == c.how.end()) c.how.push_back(how);
}

std::string When(const LibvirtIdentityChange& c) {
  const auto t = std::chrono::system_clock::to_time_t(c.when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// `who` named a domain that has since been renamed (or a UUID whose name was
// defined anew under another): say so, and what to type now. The latest
// change wins: a name renamed twice points at its current one.
std::optional<std::string> FormerIdentity(std::string_view who, const std::string& lower,
                                          const std::vector<LibvirtIdentityChange>& history) {
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    const auto& c = *it;
    if (c.kind == LibvirtIdentityChange::Kind::kRenamed && c.old_name == who) {
      return fmt::format(
          "no domain named '{}': libvirt domain {} was renamed '{}' -> '{}' at {}; name it '{}' "
          "or by its UUID",
          who, c.new_uuid, c.old_name, c.new_name, When(c), c.new_name);
    }
    if (c.kind == LibvirtIdentityChange::Kind::kUuidChanged && Lower(c.old_uuid) == lower) {
      return fmt::format(
          "no domain with UUID '{}': libvirt domain '{}' was defined again with UUID {} at {}", who,
          c.new_name, c.new_uuid, When(c));
    }
  }
  return std::nullopt;
}

}  // namespace

Result<uint32_t> ResolveDomainSelector(std::string_view who, const std::vector<DomainInfo>& backend,
                                       LibvirtMonitor* libvirt) {
  if (who.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty domain name");
  const auto id = AsDomid(who);
  const std::string lower = Lower(who);
  std::map<uint32_t, Candidate> by_id;
  for (const DomainInfo& d : backend) {
    auto match = [&](const std::string& how) {
      auto& c = by_id[d.domid];
      c.name = d.name;
      c.running = d.running;
      Note(c, how);
    };
    if (id && d.domid == *id) match("id");
    if (d.name == who) match("name");
    if (!d.uuid.empty() && Lower(d.uuid) == lower) match("UUID");
  }
  // libvirt also knows domains that are only defined (no id), and a domain
  // may be known there under a name the backend list does not carry.
  std::vector<LibvirtDomain> stopped;
  if (libvirt) {
    auto all = libvirt->Domains();
    if (!all) {
      spdlog::warn("resolving '{}': {}; using the backend's names only", who, all.error().message);
    } else {
      for (const LibvirtDomain& d : *all) {
        const bool name = d.name == who, uuid = Lower(d.uuid) == lower;
        if (!name && !uuid) continue;
        if (!d.domid) {
          stopped.push_back(d);
          continue;
        }
        auto& c = by_id[*d.domid];
        if (c.name.empty()) c.name = d.name;
        Note(c, name ? "libvirt name" : "libvirt UUID");
      }
    }
  }
  if (by_id.size() > 1) {
    std::string list;
    for (const auto& [domid, c] : by_id) {
      std::string how;
      for (const auto& h : c.how) how += (how.empty() ? "" : "/") + h;
      list += fmt::format("{}domid {} '{}' (by {})", list.empty() ? "" : ", ", domid, c.name, how);
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("domain '{}' is ambiguous: it matches {}; name it by UUID or "
                                 "another unique name",
                                 who, list));
  }
  if (by_id.size() == 1) {
    const auto& [domid, c] = *by_id.begin();
    if (!c.running) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       fmt::format("domain '{}' (domid {}) is not running", who, domid));
    }
    return domid;
  }
  if (!stopped.empty()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("libvirt domain '{}' ({}) is defined but not running, so it has "
                                 "no domain id yet",
                                 stopped.front().name, stopped.front().uuid));
  }
  if (libvirt) {
    if (auto former = FormerIdentity(who, lower, libvirt->History())) {
      return MakeError(ErrorCode::kNotFound, *former);
    }
  }
  return MakeError(ErrorCode::kNotFound,
                   fmt::format("no domain with id, name or UUID '{}'{}", who,
                               libvirt ? " (neither the backend nor libvirt knows it)" : ""));
}

}  // namespace hu::daemon
