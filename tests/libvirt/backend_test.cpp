// LibvirtNamedBackend over a real test:///default connection. The wrapped
// hypervisor backend is a small recording Backend of this test: it stands
// for sim/xen, whose own tests are theirs; libvirt itself is real.
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <condition_variable>
#include <mutex>

#include "hyperupcall/daemon/libvirt_backend.hpp"

namespace hu::daemon {
namespace {

class RecordingBackend : public Backend {
 public:
  std::vector<DomainInfo> domains;
  int installs = 0;
  std::function<void(const DomainEvent&)> sink;

  std::string Name() const override { return "rec"; }
  std::vector<DomainInfo> Domains() override { return domains; }
  Status Install(const ProgramImage&) override {
    installs++;
    return Status::Ok();
  }
  Status Uninstall(uint32_t, uint64_t) override { return Status::Ok(); }
  Result<ProgramStats> Stats(uint32_t, uint64_t) override { return ProgramStats{}; }
  Result<std::vector<MapEntry>> MapDump(uint32_t, uint64_t, uint32_t) override {
    return std::vector<MapEntry>{};
  }
  Status MapUpdate(uint32_t, uint64_t, uint32_t, const MapEntry&) override { return Status::Ok(); }
  std::vector<TraceRecord> DrainTrace() override { return {}; }
  void SetDomainEventSink(std::function<void(const DomainEvent&)> s) override { sink = s; }
  Status Start() override { return Status::Ok(); }
  void Stop() override {}
};

class Collected {
 public:
  void Push(const DomainEvent& e) {
    std::lock_guard lock(mu_);
    events_.push_back(e);
    cv_.notify_all();
  }
  // Waits (hang guard only) until n events have arrived; returns them all.
  std::vector<DomainEvent> AtLeast(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return events_.size() >= n; });
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<DomainEvent> events_;
};

class NamedBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = LibvirtMonitor::Open("test:///default");
    ASSERT_TRUE(m.ok()) << m.error().message;
    monitor_ = std::move(*m);
    conn_ = virConnectOpen("test:///default");
    ASSERT_NE(conn_, nullptr);
    inner_.domains = {{1, "xl-name-of-test", "", 2, 0, true},
                      {900, "not-in-libvirt", "", 1, 0, true}};
    named_ = std::make_unique<LibvirtNamedBackend>(inner_, *monitor_);
    named_->SetDomainEventSink([this](const DomainEvent& e) { got_.Push(e); });
    ASSERT_TRUE(named_->Start().ok());
  }
  void TearDown() override {
    named_->Stop();
    named_.reset();
    if (conn_) virConnectClose(conn_);
  }

  RecordingBackend inner_;
  std::unique_ptr<LibvirtMonitor> monitor_;
  std::unique_ptr<LibvirtNamedBackend> named_;
  virConnectPtr conn_ = nullptr;
  Collected got_;
};

TEST_F(NamedBackendTest, DomainsCarryLibvirtNames) {
  auto d = named_->Domains();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].name, "test");
  EXPECT_EQ(d[0].uuid, "6695eb01-f6a4-8304-79aa-97f2502e193f");
  EXPECT_EQ(d[0].vcpus, 2u);  // the backend's facts stay
  EXPECT_EQ(d[1].name, "not-in-libvirt");
  EXPECT_EQ(named_->Name(), "rec+libvirt");
  ASSERT_TRUE(named_->Install(ProgramImage{}).ok());
  EXPECT_EQ(inner_.installs, 1);
}

TEST_F(NamedBackendTest, EachTransitionReachesTheDaemonOnce) {
  virDomainPtr d = virDomainDefineXML(
      conn_,
      "<domain type='test'><name>hu-wrap</name><memory>65536</memory><os><type>hvm</type></os>"
      "</domain>");
  ASSERT_NE(d, nullptr) << virGetLastErrorMessage();
  ASSERT_EQ(virDomainCreate(d), 0);
  auto events = got_.AtLeast(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, DomainEvent::Kind::kStarted);
  EXPECT_EQ(events[0].domain.name, "hu-wrap");
  const uint32_t id = events[0].domain.domid;

  // The hypervisor backend notices the same start: not delivered again.
  inner_.sink(DomainEvent{DomainEvent::Kind::kStarted, {id, "xl-name", "", 1, 0, true}});
  ASSERT_EQ(virDomainDestroy(d), 0);
  events = got_.AtLeast(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, DomainEvent::Kind::kStopped);
  EXPECT_EQ(events[1].domain.domid, id);
  EXPECT_EQ(events[1].domain.name, "hu-wrap");

  // ... and the same stop, late: dropped. A domain libvirt does not manage
  // still gets through, under the backend's name.
  inner_.sink(DomainEvent{DomainEvent::Kind::kStopped, {id, "xl-name", "", 1, 0, false}});
  inner_.sink(DomainEvent{DomainEvent::Kind::kStopped, {900, "not-in-libvirt", "", 1, 0, false}});
  events = got_.AtLeast(3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].domain.domid, 900u);
  EXPECT_EQ(events[2].domain.name, "not-in-libvirt");
  virDomainUndefine(d);
  virDomainFree(d);
}

TEST_F(NamedBackendTest, HookMessagesCountAsTransitions) {
  LibvirtHookMessage m{"libxl", "prepare", "begin", "vm9", "", std::nullopt};
  ASSERT_TRUE(named_->OnHook(m).ok());  // no id yet: nothing
  m.op = "started";
  m.domid = 4242;
  ASSERT_TRUE(named_->OnHook(m).ok());
  ASSERT_TRUE(named_->OnHook(m).ok());  // libvirt's reconnect may repeat it
  m.op = "stopped";
  ASSERT_TRUE(named_->OnHook(m).ok());
  m.op = "release";
  ASSERT_TRUE(named_->OnHook(m).ok());  // after "stopped": already done
  auto events = got_.AtLeast(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, DomainEvent::Kind::kStarted);
  EXPECT_EQ(events[0].domain.domid, 4242u);
  EXPECT_EQ(events[0].domain.name, "vm9");
  EXPECT_EQ(events[1].kind, DomainEvent::Kind::kStopped);
}

}  // namespace
}  // namespace hu::daemon
