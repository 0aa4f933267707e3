// An optional libvirt connection for hyperupcalld: maps hypervisor domain
// ids to libvirt names and UUIDs, resolves what an operator types (name,
// UUID or id), turns libvirt domain events into typed lifecycle events, and
// reads/writes the per-domain policy in the domain XML <metadata>.
// Works with any libvirt URI: xen:///system in dom0, test:///default or
// test:///path/to/node.xml in tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hyperupcall/daemon/libvirt_policy.hpp"
#include "hyperupcall/result.hpp"

namespace hu::daemon {

struct LibvirtDomain {
  std::string name;
  std::string uuid;               // canonical lower-case text form
  std::optional<uint32_t> domid;  // the hypervisor's id, while running
  bool active = false;
  bool persistent = false;  // defined (survives stop), not transient
};

// One entry of the identity history: a rename (same UUID) or a name that
// came back with another UUID (undefined, then defined anew).
struct LibvirtIdentityChange {
  enum class Kind { kRenamed, kUuidChanged } kind = Kind::kRenamed;
  std::string old_name, new_name;
  std::string old_uuid, new_uuid;
  std::chrono::system_clock::time_point when;
};

struct LibvirtEvent {
  enum class Kind {
    kDefined,          // new definition, or an updated one (detail says)
    kUndefined,        // definition removed
    kStarted,          // running; domain.domid is the new id
    kStopped,          // shut down, destroyed, saved, migrated away, failed
    kCrashed,          // the guest crashed (stopped or kept for a dump)
    kSuspended,        // paused
    kResumed,          // unpaused
    kRenamed,          // same UUID, new name; old_name is the previous one
    kMetadataChanged,  // our policy metadata changed: re-read it
    kDisconnected,     // the libvirt connection closed (libvirtd went away)
    kReconnected,      // connected again; detail says after how many attempts
  };
  Kind kind = Kind::kDefined;
  LibvirtDomain domain;  // state after the event, as far as it is known
  // The hypervisor id the event is about. For kStopped/kCrashed it is the
  // id the domain had while it ran (libvirt already reports -1 by then),
  // so programs installed under that id can be found and detached.
  std::optional<uint32_t> domid;
  std::string detail;         // libvirt's detail: "destroyed", "shutdown", "booted", ...
  std::string old_name;       // kRenamed
  std::string previous_uuid;  // kDefined: the UUID this name had before, if it changed
  // kRenamed, and kDefined with previous_uuid: the history entry just made.
  std::optional<LibvirtIdentityChange> identity_change;
};

const char* LibvirtEventKindName(LibvirtEvent::Kind kind);

// What changed between a snapshot of libvirt's identities (name by UUID)
// and its domain list now: renames (a UUID under another name) and UUID
// changes (a UUID gone whose name is now defined under a UUID the snapshot
// did not have), stamped `when`. Used after a reconnect, and by the daemon
// at start against the names it stored, for changes made while nobody
// listened.
std::vector<LibvirtIdentityChange> DiffLibvirtIdentities(
    const std::map<std::string, std::string>& name_by_uuid, const std::vector<LibvirtDomain>& now,
    std::chrono::system_clock::time_point when);

class LibvirtMonitor {
 public:
  using EventSink = std::function<void(const LibvirtEvent&)>;

  // Connects and starts receiving domain events (libvirt's default event
  // loop runs in a thread of ours, shared by all monitors of the process).
  // When the connection closes later (libvirtd restarted), a thread of the
  // monitor reconnects with backoff (kReconnectFirst doubling up to
  // kReconnectMax), registers the callbacks again and reconciles: domains
  // that stopped or started meanwhile get synthesized kStopped/kStarted
  // events (detail "while disconnected"), renames a kRenamed, then comes
  // one kReconnected. Calls made while disconnected fail kUnavailable.
  static Result<std::unique_ptr<LibvirtMonitor>> Open(const std::string& uri);
  // For a libvirt that cannot be reached now (libvirtd not up yet): a
  // monitor that starts disconnected (calls fail kUnavailable) and, once
  // ConnectInBackground() is called, connects with the same backoff as a
  // reconnect. The first connection is reconciled like one: every running
  // domain comes as kStarted "while disconnected", then one kReconnected.
  static std::unique_ptr<LibvirtMonitor> OpenDisconnected(const std::string& uri);
  // Starts the background connection of an OpenDisconnected monitor; call
  // it once the event sink is in place, so no start is lost. A no-op when
  // connected.
  void ConnectInBackground();
  static constexpr std::chrono::milliseconds kReconnectFirst{200};
  static constexpr std::chrono::milliseconds kReconnectMax{5000};
  ~LibvirtMonitor();
  LibvirtMonitor(const LibvirtMonitor&) = delete;
  LibvirtMonitor& operator=(const LibvirtMonitor&) = delete;

  const std::string& uri() const;
  bool connected() const;

  // Every domain libvirt knows, running or only defined.
  Result<std::vector<LibvirtDomain>> Domains();
  // `who` is a UUID, a running domain's numeric id, or a name (tried in
  // that order, as virsh does; a name that looks like a number still works).
  Result<LibvirtDomain> Lookup(std::string_view who);
  // The running domain's hypervisor id; kFailedPrecondition when it is
  // defined but not running.
  Result<uint32_t> ResolveDomid(std::string_view who);
  // Name and UUID of a hypervisor domain id: asked of libvirt, or, for an
  // id that has stopped since, the last thing this monitor saw under it.
  Result<LibvirtDomain> Describe(uint32_t domid);

  // The policy in the domain's <metadata>; nullopt when there is none.
  // Malformed policy is kInvalidArgument naming the domain and the fault.
  Result<std::optional<LibvirtPolicy>> ReadPolicy(std::string_view who);
  // Writes it to the running definition and, for a defined domain, to the
  // persistent one, so it survives a restart.
  Status WritePolicy(std::string_view who, const LibvirtPolicy& policy);
  Status ClearPolicy(std::string_view who);

  // Receives every event from now on, on the event loop thread; it must not
  // block for long. Replaces an earlier sink; an empty one stops delivery.
  void Subscribe(EventSink sink);

  // Renames and UUID changes seen since Open, oldest first; only those that
  // involve `uuid` when given.
  std::vector<LibvirtIdentityChange> History(std::string_view uuid = {}) const;
  // History from before Open (the daemon's state database), put ahead of
  // what this monitor has seen itself.
  void SeedHistory(std::vector<LibvirtIdentityChange> earlier);

  struct Impl;

 private:
  explicit LibvirtMonitor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hu::daemon
