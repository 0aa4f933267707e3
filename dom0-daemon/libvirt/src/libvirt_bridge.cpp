#include "hyperupcall/daemon/libvirt_bridge.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace hu::daemon {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<uint32_t> AsId(std::string_view s) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<DomainEvent> ToBackendDomainEvent(const LibvirtEvent& ev) {
  using Kind = LibvirtEvent::Kind;
  DomainEvent out;
  switch (ev.kind) {
    case Kind::kStarted:
      out.kind = DomainEvent::Kind::kStarted;
      break;
    case Kind::kStopped:
    case Kind::kCrashed:
      out.kind = DomainEvent::Kind::kStopped;
      break;
    default:
      return std::nullopt;
  }
  if (!ev.domid) return std::nullopt;  // never ran under an id we saw
  out.domain.domid = *ev.domid;
  out.domain.name = ev.domain.name;
  out.domain.uuid = ev.domain.uuid;
  out.domain.running = out.kind == DomainEvent::Kind::kStarted;
  return out;
}

void ApplyLibvirtNames(std::vector<DomainInfo>& domains,
                       const std::vector<LibvirtDomain>& libvirt) {
  for (DomainInfo& d : domains) {
    auto it = std::find_if(libvirt.begin(), libvirt.end(),
                           [&](const LibvirtDomain& l) { return l.domid == d.domid; });
    if (it == libvirt.end()) continue;
    d.name = it->name;
    d.uuid = it->uuid;
  }
}

Result<uint32_t> ResolveDomainArg(std::string_view who, const std::vector<DomainInfo>& backend,
                                  LibvirtMonitor* monitor) {
  std::optional<Error> libvirt_error;
  if (monitor) {
    auto id = monitor->ResolveDomid(who);
    if (id) return *id;
    // "Known but not running" is the precise answer; "not found" may still
    // be a domain libvirt does not manage.
    if (id.error().code != ErrorCode::kNotFound) return id.error();
    libvirt_error = id.error();
  }
  const auto id = AsId(who);
  const std::string lower = Lower(who);
  for (const DomainInfo& d : backend) {
    if ((id && d.domid == *id) || d.name == who || (!d.uuid.empty() && Lower(d.uuid) == lower)) {
      if (!d.running)
        return MakeError(ErrorCode::kFailedPrecondition,
                         "domain '" + std::string(who) + "' is not running");
      return d.domid;
    }
  }
  return MakeError(ErrorCode::kNotFound, "no domain with id, name or UUID '" + std::string(who) +
                                             "'" + (monitor ? " (libvirt: not known either)" : ""));
}

XmlPolicyChoice ChooseXmlPolicy(std::string_view stored_origin,
                                std::string_view recorded_fingerprint,
                                std::string_view xml_fingerprint) {
  const std::string rec(recorded_fingerprint.empty() ? "none" : recorded_fingerprint);
  const std::string now(xml_fingerprint);
  if (stored_origin.empty()) return {true, "the domain has no policy of its own"};
  if (recorded_fingerprint == xml_fingerprint) {
    if (stored_origin == "xml") return {false, "XML policy " + now + " unchanged"};
    return {false,
            "operator API override kept: the XML policy (" + now + ") is the one it was set over"};
  }
  if (stored_origin == "xml") return {true, "XML policy changed (" + rec + " -> " + now + ")"};
  return {true, "XML policy changed since the operator API override was recorded (" + rec + " -> " +
                    now + "): the XML wins"};
}

}  // namespace hu::daemon
