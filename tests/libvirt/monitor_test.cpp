// LibvirtMonitor against libvirt's own test driver: a real connection, real
// events. The test drives libvirt through a second connection to the same
// in-process test:///default state, as an operator's virsh would.
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "hyperupcall/daemon/libvirt_monitor.hpp"

namespace hu::daemon {
namespace {

using Kind = LibvirtEvent::Kind;
constexpr const char* kDefaultUuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";

std::string DomainXml(const std::string& name, const std::string& uuid = "") {
  return "<domain type='test'><name>" + name + "</name>" +
         (uuid.empty() ? "" : "<uuid>" + uuid + "</uuid>") +
         "<memory>65536</memory><os><type>hvm</type></os></domain>";
}

// Collects events; Wait returns the first one matching, or fails the test
// after a hang guard (not a performance bound).
class Events {
 public:
  void Push(const LibvirtEvent& e) {
    std::lock_guard lock(mu_);
    seen_.push_back(e);
    cv_.notify_all();
  }
  std::optional<LibvirtEvent> Wait(Kind kind, const std::string& name) {
    std::unique_lock lock(mu_);
    std::optional<LibvirtEvent> hit;
    cv_.wait_for(lock, std::chrono::seconds(30), [&] {
      for (size_t i = 0; i < seen_.size(); i++) {
        if (seen_[i].kind == kind && seen_[i].domain.name == name) {
          hit = seen_[i];
          seen_.erase(seen_.begin() + long(i));
          return true;
        }
      }
      return false;
    });
    return hit;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<LibvirtEvent> seen_;
};

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = LibvirtMonitor::Open("test:///default");
    ASSERT_TRUE(m.ok()) << m.error().message;
    monitor_ = std::move(*m);
    monitor_->Subscribe([this](const LibvirtEvent& e) { events_.Push(e); });
    conn_ = virConnectOpen("test:///default");
    ASSERT_NE(conn_, nullptr);
  }
  void TearDown() override {
    if (conn_) virConnectClose(conn_);
    monitor_.reset();
  }
  virDomainPtr Define(const std::string& name, const std::string& uuid = "") {
    virDomainPtr d = virDomainDefineXML(conn_, DomainXml(name, uuid).c_str());
    EXPECT_NE(d, nullptr) << virGetLastErrorMessage();
    return d;
  }

  std::unique_ptr<LibvirtMonitor> monitor_;
  virConnectPtr conn_ = nullptr;
  Events events_;
};

TEST_F(MonitorTest, MapsIdsNamesAndUuids) {
  auto all = monitor_->Domains();
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 1u);
  const LibvirtDomain& d = all->front();
  EXPECT_EQ(d.name, "test");
  EXPECT_EQ(d.uuid, kDefaultUuid);
  EXPECT_EQ(d.domid, 1u);
  EXPECT_TRUE(d.active);
  EXPECT_TRUE(d.persistent);

  for (const char* who : {"test", kDefaultUuid, "1", "6695EB01-F6A4-8304-79AA-97F2502E193F"}) {
    auto l = monitor_->Lookup(who);
    ASSERT_TRUE(l.ok()) << who << ": " << l.error().message;
    EXPECT_EQ(l->uuid, kDefaultUuid) << who;
    auto id = monitor_->ResolveDomid(who);
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(*id, 1u);
  }
  auto by_id = monitor_->Describe(1);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->name, "test");

  auto missing = monitor_->Lookup("no-such-vm");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message,
            "libvirt (test:///default) knows no domain with name, UUID or id 'no-such-vm'");
  EXPECT_EQ(monitor_->Describe(77).error().code, ErrorCode::kNotFound);
}

TEST_F(MonitorTest, NumericNameResolvesWhenNoSuchId) {
  virDomainPtr d = Define("4242");
  auto l = monitor_->Lookup("4242");
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_EQ(l->name, "4242");
  auto id = monitor_->ResolveDomid("4242");
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(id.error().message, "domain '4242' (" + l->uuid + ") is not running");
  virDomainUndefine(d);
  virDomainFree(d);
}

TEST_F(MonitorTest, LifecycleEventsCarryTheIdsLibvirtForgets) {
  virDomainPtr d = Define("hu-life");
  auto defined = events_.Wait(Kind::kDefined, "hu-life");
  ASSERT_TRUE(defined);
  EXPECT_EQ(defined->detail, "added");
  EXPECT_TRUE(defined->domain.persistent);

  ASSERT_EQ(virDomainCreate(d), 0) << virGetLastErrorMessage();
  auto started = events_.Wait(Kind::kStarted, "hu-life");
  ASSERT_TRUE(started);
  ASSERT_TRUE(started->domid);
  EXPECT_EQ(started->domain.domid, started->domid);
  EXPECT_TRUE(started->domain.active);
  EXPECT_EQ(started->detail, "booted");
  const uint32_t id = *started->domid;
  EXPECT_EQ(*monitor_->ResolveDomid("hu-life"), id);

  ASSERT_EQ(virDomainDestroy(d), 0);
  auto stopped = events_.Wait(Kind::kStopped, "hu-life");
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->detail, "destroyed");
  EXPECT_EQ(stopped->domid, id);  // libvirt itself reports -1 by now
  EXPECT_FALSE(stopped->domain.domid);
  EXPECT_FALSE(stopped->domain.active);
  // The id no longer names a running domain, but the daemon can still say
  // whose programs it held.
  auto last = monitor_->Describe(id);
  ASSERT_TRUE(last.ok()) << last.error().message;
  EXPECT_EQ(last->name, "hu-life");
  EXPECT_FALSE(last->active);

  ASSERT_EQ(virDomainUndefine(d), 0);
  auto undefined = events_.Wait(Kind::kUndefined, "hu-life");
  ASSERT_TRUE(undefined);
  EXPECT_EQ(undefined->domain.uuid, defined->domain.uuid);
  virDomainFree(d);
}

TEST_F(MonitorTest, SuspendResumeAndShutdown) {
  virDomainPtr d = Define("hu-pause");
  ASSERT_EQ(virDomainCreate(d), 0);
  ASSERT_TRUE(events_.Wait(Kind::kStarted, "hu-pause"));
  ASSERT_EQ(virDomainSuspend(d), 0);
  ASSERT_TRUE(events_.Wait(Kind::kSuspended, "hu-pause"));
  ASSERT_EQ(virDomainResume(d), 0);
  ASSERT_TRUE(events_.Wait(Kind::kResumed, "hu-pause"));
  ASSERT_EQ(virDomainShutdown(d), 0);
  auto stopped = events_.Wait(Kind::kStopped, "hu-pause");
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->detail, "shutdown");
  EXPECT_TRUE(stopped->domid);
  virDomainUndefine(d);
  virDomainFree(d);
}

TEST_F(MonitorTest, CrashIsItsOwnKind) {
  virDomainPtr d = Define("hu-crash");
  ASSERT_EQ(virDomainCreate(d), 0);
  auto started = events_.Wait(Kind::kStarted, "hu-crash");
  ASSERT_TRUE(started);
  // The test driver's way to crash a guest: a core dump with VIR_DUMP_CRASH.
  std::string dump = ::testing::TempDir() + "hu-crash.core." + std::to_string(getpid());
  ASSERT_EQ(virDomainCoreDump(d, dump.c_str(), VIR_DUMP_CRASH), 0) << virGetLastErrorMessage();
  auto crashed = events_.Wait(Kind::kCrashed, "hu-crash");
  ASSERT_TRUE(crashed);
  EXPECT_EQ(crashed->detail, "crashed");
  EXPECT_EQ(crashed->domid, started->domid);
  std::filesystem::remove(dump);
  virDomainUndefine(d);
  virDomainFree(d);
}

TEST_F(MonitorTest, RenameKeepsHistory) {
  virDomainPtr d = Define("hu-old");
  auto defined = events_.Wait(Kind::kDefined, "hu-old");
  ASSERT_TRUE(defined);
  ASSERT_EQ(virDomainRename(d, "hu-new", 0), 0) << virGetLastErrorMessage();
  auto renamed = events_.Wait(Kind::kRenamed, "hu-new");
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->old_name, "hu-old");
  EXPECT_EQ(renamed->domain.uuid, defined->domain.uuid);

  auto history = monitor_->History(defined->domain.uuid);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].kind, LibvirtIdentityChange::Kind::kRenamed);
  EXPECT_EQ(history[0].old_name, "hu-old");
  EXPECT_EQ(history[0].new_name, "hu-new");
  EXPECT_EQ(history[0].old_uuid, history[0].new_uuid);
  // The event carries the entry, so the daemon can store it.
  ASSERT_TRUE(renamed->identity_change);
  EXPECT_EQ(renamed->identity_change->old_name, "hu-old");
  EXPECT_EQ(renamed->identity_change->new_name, "hu-new");
  EXPECT_EQ(renamed->identity_change->when, history[0].when);
  EXPECT_EQ(monitor_->Lookup("hu-new")->uuid, defined->domain.uuid);
  EXPECT_EQ(monitor_->Lookup("hu-old").error().code, ErrorCode::kNotFound);
  virDomainUndefine(d);
  virDomainFree(d);
}

TEST_F(MonitorTest, NameDefinedAgainWithNewUuidIsRecorded) {
  const std::string a = "0b5d4d6e-6a43-4c5f-9d0b-1b3c1c7a0001";
  const std::string b = "0b5d4d6e-6a43-4c5f-9d0b-1b3c1c7a0002";
  virDomainPtr d = Define("hu-reborn", a);
  ASSERT_TRUE(events_.Wait(Kind::kDefined, "hu-reborn"));
  ASSERT_EQ(virDomainUndefine(d), 0);
  ASSERT_TRUE(events_.Wait(Kind::kUndefined, "hu-reborn"));
  virDomainFree(d);
  d = Define("hu-reborn", b);
  auto again = events_.Wait(Kind::kDefined, "hu-reborn");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->domain.uuid, b);
  EXPECT_EQ(again->previous_uuid, a);
  auto history = monitor_->History(a);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].kind, LibvirtIdentityChange::Kind::kUuidChanged);
  EXPECT_EQ(history[0].new_uuid, b);
  ASSERT_TRUE(again->identity_change);
  EXPECT_EQ(again->identity_change->old_uuid, a);
  virDomainUndefine(d);
  virDomainFree(d);
}

// What the daemon read back from its state database comes first, and
// UUID-filtered lookups see it as they see the monitor's own.
TEST_F(MonitorTest, SeededHistoryComesFirst) {
  LibvirtIdentityChange old{LibvirtIdentityChange::Kind::kRenamed,
                            "was",
                            "is",
                            "0b5d4d6e-6a43-4c5f-9d0b-1b3c1c7a00aa",
                            "0b5d4d6e-6a43-4c5f-9d0b-1b3c1c7a00aa",
                            std::chrono::system_clock::time_point(std::chrono::seconds(1000))};
  virDomainPtr d = Define("hu-seed-a");
  ASSERT_TRUE(events_.Wait(Kind::kDefined, "hu-seed-a"));
  ASSERT_EQ(virDomainRename(d, "hu-seed-b", 0), 0) << virGetLastErrorMessage();
  ASSERT_TRUE(events_.Wait(Kind::kRenamed, "hu-seed-b"));
  monitor_->SeedHistory({old});
  auto all = monitor_->History();
  ASSERT_GE(all.size(), 2u);
  EXPECT_EQ(all.front().old_name, "was");
  EXPECT_EQ(all.back().new_name, "hu-seed-b");
  auto one = monitor_->History("0b5d4d6e-6a43-4c5f-9d0b-1b3c1c7a00aa");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].new_name, "is");
  virDomainUndefine(d);
  virDomainFree(d);
}

TEST_F(MonitorTest, PolicyRoundTripsThroughDomainXml) {
  virDomainPtr d = Define("hu-policy");
  ASSERT_EQ(virDomainCreate(d), 0);
  auto none = monitor_->ReadPolicy("hu-policy");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none->has_value());

  LibvirtPolicy p;
  p.allowed_hooks = 1u << HU_HOOK_TLB_FLUSH;
  p.allowed_helpers = (1ull << HU_HELPER_READ_GVA) | (1ull << HU_HELPER_KTIME_NS);
  p.max_instructions = 1000;
  p.run_budget = 5000;
  p.max_programs = 1;
  p.require_approval = true;
  p.max_grace_us = 0;
  Status w = monitor_->WritePolicy("hu-policy", p);
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(events_.Wait(Kind::kMetadataChanged, "hu-policy"));

  auto back = monitor_->ReadPolicy("hu-policy");
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ(**back, p);

  // In the domain XML under our namespace, where `virsh edit` shows it.
  char* xml = virDomainGetXMLDesc(d, 0);
  ASSERT_NE(xml, nullptr);
  EXPECT_NE(std::string(xml).find("<hu:policy xmlns:hu=\"https://hyperupcall.org/xmlns/policy/1\""),
            std::string::npos)
      << xml;
  free(xml);

  // Written to the persistent definition too: it survives a stop.
  ASSERT_EQ(virDomainDestroy(d), 0);
  auto after = monitor_->ReadPolicy("hu-policy");
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ(**after, p);

  ASSERT_TRUE(monitor_->ClearPolicy("hu-policy").ok());
  EXPECT_FALSE(monitor_->ReadPolicy("hu-policy")->has_value());
  virDomainUndefine(d);
  virDomainFree(d);
}

TEST_F(MonitorTest, MalformedPolicyIsRejectedWithDomainAndLine) {
  virDomainPtr d = Define("hu-bad");
  const char* bad =
      "<policy>\n  <max-programs>3</max-programs>\n  <run-budget>-5</run-budget>\n</policy>";
  ASSERT_EQ(virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, bad, "hu", kLibvirtPolicyNamespace,
                                 VIR_DOMAIN_AFFECT_CONFIG),
            0)
      << virGetLastErrorMessage();
  auto p = monitor_->ReadPolicy("hu-bad");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
  char uuid[VIR_UUID_STRING_BUFLEN];
  virDomainGetUUIDString(d, uuid);
  EXPECT_EQ(p.error().message, "domain 'hu-bad' (" + std::string(uuid) +
                                   "): policy metadata line 3: <run-budget>: '-5' is not a "
                                   "decimal integer");
  virDomainUndefine(d);
  virDomainFree(d);
}

TEST_F(MonitorTest, PolicyOfAnUnknownDomainIsNotFound) {
  EXPECT_EQ(monitor_->ReadPolicy("ghost").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(monitor_->WritePolicy("ghost", LibvirtPolicy{}).error().code, ErrorCode::kNotFound);
}

TEST(MonitorNodeFile, ReadsPolicyOperatorsWroteByHand) {
  auto m = LibvirtMonitor::Open(std::string("test://") + HU_TEST_NODE_XML);
  ASSERT_TRUE(m.ok()) << m.error().message;
  auto all = (*m)->Domains();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);

  auto web = (*m)->ReadPolicy("web");
  ASSERT_TRUE(web.ok()) << web.error().message;
  ASSERT_TRUE(web->has_value());
  const LibvirtPolicy& p = **web;
  EXPECT_EQ(p.allowed_hooks, (1u << HU_HOOK_MEM_RECLAIM) | (1u << HU_HOOK_SCHED_PREEMPT));
  EXPECT_EQ(p.max_programs, 2u);
  EXPECT_EQ(p.require_approval, false);
  EXPECT_EQ(p.max_grace_us, 20u);
  EXPECT_FALSE(p.allowed_helpers);

  auto broken = (*m)->ReadPolicy("4dea22b3-1d52-d8f3-2516-782e98ab3fa1");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().message,
            "domain 'broken' (4dea22b3-1d52-d8f3-2516-782e98ab3fa1): policy metadata line 2: "
            "<max-programs>: 'lots' is not a decimal integer");
  EXPECT_FALSE((*m)->ReadPolicy("plain")->has_value());
}

TEST(MonitorOpen, BadUriIsUnavailable) {
  auto m = LibvirtMonitor::Open("test:///nonexistent/hu-node.xml");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(m.error().message.rfind("libvirt: cannot open test:///nonexistent/hu-node.xml: ", 0),
            0u)
      << m.error().message;
}

// libvirt not reachable when the daemon starts: the monitor answers
// kUnavailable until ConnectInBackground, then connects and reports what
// runs as started (as after a reconnect), then one kReconnected.
TEST(MonitorOpen, DisconnectedConnectsInTheBackground) {
  Events events;  // outlives the monitor and its threads
  auto m = LibvirtMonitor::OpenDisconnected("test:///default");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->connected());
  auto none = m->Domains();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kUnavailable);
  m->Subscribe([&](const LibvirtEvent& e) { events.Push(e); });
  m->ConnectInBackground();
  auto started = events.Wait(Kind::kStarted, "test");
  ASSERT_TRUE(started);
  EXPECT_EQ(started->detail, "while disconnected");
  EXPECT_EQ(started->domid, std::optional<uint32_t>(1));
  auto done = events.Wait(Kind::kReconnected, "");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->detail, "after 1 attempt");
  EXPECT_TRUE(m->connected());
  auto id = m->ResolveDomid("test");
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(*id, 1u);
}

}  // namespace
}  // namespace hu::daemon
