// The glue the daemon uses: libvirt events in the backend's shape, libvirt
// names over the backend's, resolving what an operator types, and the
// policy overlay.
#include <gtest/gtest.h>

#include "hyperupcall/daemon/libvirt_bridge.hpp"

namespace hu::daemon {
namespace {

TEST(Bridge, LifecycleBecomesBackendEvents) {
  LibvirtEvent ev;
  ev.kind = LibvirtEvent::Kind::kStopped;
  ev.domid = 9;
  ev.domain.name = "web";
  ev.domain.uuid = "4dea22b3-1d52-d8f3-2516-782e98ab3fa0";
  auto b = ToBackendDomainEvent(ev);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->kind, DomainEvent::Kind::kStopped);
  EXPECT_EQ(b->domain.domid, 9u);
  EXPECT_EQ(b->domain.name, "web");
  EXPECT_EQ(b->domain.uuid, ev.domain.uuid);
  EXPECT_FALSE(b->domain.running);

  ev.kind = LibvirtEvent::Kind::kCrashed;
  EXPECT_EQ(ToBackendDomainEvent(ev)->kind, DomainEvent::Kind::kStopped);
  ev.kind = LibvirtEvent::Kind::kStarted;
  EXPECT_EQ(ToBackendDomainEvent(ev)->kind, DomainEvent::Kind::kStarted);
  EXPECT_TRUE(ToBackendDomainEvent(ev)->domain.running);
  ev.kind = LibvirtEvent::Kind::kRenamed;
  EXPECT_FALSE(ToBackendDomainEvent(ev));
  ev.kind = LibvirtEvent::Kind::kStopped;
  ev.domid.reset();  // a domain that never ran while we watched
  EXPECT_FALSE(ToBackendDomainEvent(ev));
}

class BridgeWithLibvirt : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = LibvirtMonitor::Open(std::string("test://") + HU_TEST_NODE_XML);
    ASSERT_TRUE(m.ok()) << m.error().message;
    monitor_ = std::move(*m);
    auto web = monitor_->Lookup("web");
    ASSERT_TRUE(web.ok() && web->domid);
    web_id_ = *web->domid;
  }
  std::unique_ptr<LibvirtMonitor> monitor_;
  uint32_t web_id_ = 0;
};

TEST_F(BridgeWithLibvirt, LibvirtNamesWinByDomid) {
  std::vector<DomainInfo> backend = {{0, "Domain-0", "", 1, 0, true},
                                     {web_id_, "xl-name", "", 2, 0, true}};
  auto libvirt = monitor_->Domains();
  ASSERT_TRUE(libvirt.ok());
  ApplyLibvirtNames(backend, *libvirt);
  EXPECT_EQ(backend[0].name, "Domain-0");  // not a libvirt domain here
  EXPECT_EQ(backend[1].name, "web");
  EXPECT_EQ(backend[1].uuid, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
}

TEST_F(BridgeWithLibvirt, ResolvesLibvirtThenBackend) {
  std::vector<DomainInfo> backend = {
      {0, "Domain-0", "00000000-0000-0000-0000-000000000000", 1, 0, true},
      {web_id_, "web", "", 2, 0, true},
      {40, "parked", "", 1, 0, false}};
  EXPECT_EQ(*ResolveDomainArg("web", backend, monitor_.get()), web_id_);
  EXPECT_EQ(*ResolveDomainArg("4DEA22B3-1D52-D8F3-2516-782E98AB3FA0", backend, monitor_.get()),
            web_id_);
  EXPECT_EQ(*ResolveDomainArg("Domain-0", backend, monitor_.get()), 0u);
  EXPECT_EQ(*ResolveDomainArg("00000000-0000-0000-0000-000000000000", backend, nullptr), 0u);
  EXPECT_EQ(*ResolveDomainArg(std::to_string(web_id_), backend, nullptr), web_id_);
  auto parked = ResolveDomainArg("parked", backend, monitor_.get());
  ASSERT_FALSE(parked.ok());
  EXPECT_EQ(parked.error().code, ErrorCode::kFailedPrecondition);
  auto none = ResolveDomainArg("ghost", backend, monitor_.get());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(none.error().message,
            "no domain with id, name or UUID 'ghost' (libvirt: not known either)");
}

// The daemon's Policy (dom0-daemon/src/policy.hpp), field for field; the
// overlay templates only rely on these names.
struct DaemonShapedPolicy {
  uint64_t allowed_hooks = ~0ull;
  uint64_t allowed_helpers = ~0ull;
  uint32_t max_insns = 4096;
  uint64_t run_budget = 0;
  uint32_t max_programs = 8;
  bool require_approval = false;
  uint32_t max_grace_us = 100;
};

TEST(Bridge, PolicyOverlayKeepsWhatTheXmlLeavesOut) {
  auto x = ParseLibvirtPolicy(
      "<policy><hooks><hook name='trace.exit'/></hooks><max-programs>2</max-programs>"
      "<require-approval>yes</require-approval></policy>");
  ASSERT_TRUE(x.ok()) << x.error().message;
  DaemonShapedPolicy p = OverlayLibvirtPolicy(DaemonShapedPolicy{}, *x);
  EXPECT_EQ(p.allowed_hooks, 1u << HU_HOOK_TRACE_EXIT);
  EXPECT_EQ(p.max_programs, 2u);
  EXPECT_TRUE(p.require_approval);
  EXPECT_EQ(p.allowed_helpers, ~0ull);  // untouched
  EXPECT_EQ(p.max_insns, 4096u);
  EXPECT_EQ(p.max_grace_us, 100u);

  LibvirtPolicy back = ToLibvirtPolicy(p);
  EXPECT_FALSE(back.run_budget);  // 0 = backend default, not written
  EXPECT_EQ(back.max_programs, 2u);
  DaemonShapedPolicy again = OverlayLibvirtPolicy(DaemonShapedPolicy{}, back);
  EXPECT_EQ(again.allowed_hooks, p.allowed_hooks);
  EXPECT_EQ(again.require_approval, p.require_approval);
}

// Which policy a domain gets at start: the XML's unless an operator
// override was recorded over this same XML.
TEST(Bridge, XmlPolicyChoice) {
  auto none = ChooseXmlPolicy("", "", "aaaa");
  EXPECT_TRUE(none.apply);
  EXPECT_EQ(none.why, "the domain has no policy of its own");

  auto same_xml = ChooseXmlPolicy("xml", "aaaa", "aaaa");
  EXPECT_FALSE(same_xml.apply);
  auto changed_xml = ChooseXmlPolicy("xml", "aaaa", "bbbb");
  EXPECT_TRUE(changed_xml.apply);
  EXPECT_EQ(changed_xml.why, "XML policy changed (aaaa -> bbbb)");

  auto kept = ChooseXmlPolicy("api", "aaaa", "aaaa");
  EXPECT_FALSE(kept.apply);
  EXPECT_EQ(kept.why,
            "operator API override kept: the XML policy (aaaa) is the one it was set over");
  auto wins = ChooseXmlPolicy("api", "aaaa", "bbbb");
  EXPECT_TRUE(wins.apply);
  EXPECT_EQ(wins.why,
            "XML policy changed since the operator API override was recorded (aaaa -> bbbb): the "
            "XML wins");
  // An override set when the domain had no XML policy: a policy added since wins.
  auto added = ChooseXmlPolicy("api", "", "bbbb");
  EXPECT_TRUE(added.apply);
  EXPECT_NE(added.why.find("(none -> bbbb)"), std::string::npos);
}

// Renames and UUID changes between a stored snapshot and libvirt's list now
// (what happened while the daemon was down, or libvirtd was away).
TEST(Bridge, IdentityDiff) {
  const auto when = std::chrono::system_clock::time_point(std::chrono::seconds(5));
  const std::map<std::string, std::string> before = {
      {"u-web", "web"}, {"u-db-old", "db"}, {"u-gone", "gone"}, {"u-same", "same"}};
  const std::vector<LibvirtDomain> now = {{"www", "u-web", 3, true, true},
                                          {"db", "u-db-new", {}, false, true},
                                          {"same", "u-same", {}, false, true},
                                          {"fresh", "u-fresh", {}, false, true}};
  auto d = DiffLibvirtIdentities(before, now, when);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].kind, LibvirtIdentityChange::Kind::kRenamed);
  EXPECT_EQ(d[0].old_name, "web");
  EXPECT_EQ(d[0].new_name, "www");
  EXPECT_EQ(d[0].old_uuid, "u-web");
  EXPECT_EQ(d[0].when, when);
  EXPECT_EQ(d[1].kind, LibvirtIdentityChange::Kind::kUuidChanged);
  EXPECT_EQ(d[1].old_uuid, "u-db-old");
  EXPECT_EQ(d[1].new_uuid, "u-db-new");
  EXPECT_EQ(d[1].new_name, "db");
  // Nothing stored (first start, older database): nothing to report.
  EXPECT_TRUE(DiffLibvirtIdentities({}, now, when).empty());
  // A name taken by a UUID the snapshot already had is not a UUID change.
  EXPECT_TRUE(
      DiffLibvirtIdentities({{"a", "x"}, {"b", "y"}}, {{"x", "b", {}, false, true}}, when).size() ==
      1);  // only b renamed y -> x
}

}  // namespace
}  // namespace hu::daemon
