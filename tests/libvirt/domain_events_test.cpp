// libvirt's (event, detail) codes as our kinds, including the ones the test
// driver cannot produce (a guest panic kept for a dump).
#include "domain_events.hpp"

#include <gtest/gtest.h>
#include <libvirt/libvirt.h>

namespace hu::daemon::libvirt_internal {
namespace {

using Kind = LibvirtEvent::Kind;

TEST(DomainEvents, Translates) {
  struct Case {
    int event, detail;
    std::optional<Kind> kind;
    const char* detail_text;
  };
  const Case cases[] = {
      {VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED, Kind::kDefined, "added"},
      {VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_RENAMED, Kind::kRenamed, "renamed"},
      {VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED, Kind::kUndefined, "removed"},
      {VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_RENAMED, std::nullopt, "renamed"},
      {VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED, Kind::kStarted, "booted"},
      {VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_RESTORED, Kind::kStarted, "restored"},
      {VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED, Kind::kStopped, "destroyed"},
      {VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN, Kind::kStopped, "shutdown"},
      {VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED, Kind::kStopped, "migrated"},
      {VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_CRASHED, Kind::kCrashed, "crashed"},
      {VIR_DOMAIN_EVENT_CRASHED, VIR_DOMAIN_EVENT_CRASHED_PANICKED, Kind::kCrashed, "panicked"},
      {VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, Kind::kSuspended, "paused"},
      {VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED, Kind::kResumed, "unpaused"},
      {VIR_DOMAIN_EVENT_SHUTDOWN, VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED, std::nullopt, "ignored"},
  };
  for (const Case& c : cases) {
    Translated t = TranslateLifecycle(c.event, c.detail);
    EXPECT_EQ(t.kind, c.kind) << c.event << "/" << c.detail;
    EXPECT_EQ(t.detail, c.detail_text) << c.event << "/" << c.detail;
  }
  EXPECT_TRUE(TranslateLifecycle(VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_RENAMED)
                  .rename_old_half);
}

TEST(DomainEvents, KindNames) {
  EXPECT_STREQ(LibvirtEventKindName(Kind::kCrashed), "crashed");
  EXPECT_STREQ(LibvirtEventKindName(Kind::kMetadataChanged), "metadata-changed");
}

}  // namespace
}  // namespace hu::daemon::libvirt_internal
