// ResolveDomainSelector: what an operator types -> one domid, or a precise
// error. With libvirt: a real connection to libvirt's test:///default
// driver (one running domain "test", id 1), no mock of ours.
#include "domain_resolver.hpp"

#include <gtest/gtest.h>

namespace hu::daemon {
namespace {

const char* kTestUuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";  // test:///default's "test"

std::vector<DomainInfo> Backend() {
  return {{1, "guest1", "", 4, 65536, true},
          {2, "web", "4dea22b3-1d52-d8f3-2516-782e98ab3fa0", 4, 65536, true},
          {3, "2", "", 4, 65536, true},  // a name that is another domain's id
          {4, "gone", "", 4, 65536, false}};
}

TEST(DomainResolver, IdNameAndUuidWithoutLibvirt) {
  auto b = Backend();
  EXPECT_EQ(*ResolveDomainSelector("1", b, nullptr), 1u);
  EXPECT_EQ(*ResolveDomainSelector("web", b, nullptr), 2u);
  EXPECT_EQ(*ResolveDomainSelector("4DEA22B3-1D52-D8F3-2516-782E98AB3FA0", b, nullptr), 2u);
}

TEST(DomainResolver, PreciseErrors) {
  auto b = Backend();
  auto none = ResolveDomainSelector("nosuch", b, nullptr);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(none.error().message, "no domain with id, name or UUID 'nosuch'");

  auto two = ResolveDomainSelector("2", b, nullptr);
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(two.error().message,
            "domain '2' is ambiguous: it matches domid 2 'web' (by id), domid 3 '2' (by name); "
            "name it by UUID or another unique name");

  auto stopped = ResolveDomainSelector("gone", b, nullptr);
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code, ErrorCode::kFailedPrecondition);

  auto empty = ResolveDomainSelector("", b, nullptr);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
}

TEST(DomainResolver, LibvirtNamesAndUuids) {
  auto m = LibvirtMonitor::Open("test:///default");
  ASSERT_TRUE(m) << m.error().message;
  // The backend list does not carry libvirt's name: libvirt alone knows it.
  std::vector<DomainInfo> b = {{1, "guest1", "", 4, 65536, true},
                               {2, "guest2", "", 4, 65536, true}};
  EXPECT_EQ(*ResolveDomainSelector("test", b, m->get()), 1u);
  EXPECT_EQ(*ResolveDomainSelector(kTestUuid, b, m->get()), 1u);
  EXPECT_EQ(*ResolveDomainSelector("guest2", b, m->get()), 2u);
  auto none = ResolveDomainSelector("nosuch", b, m->get());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(none.error().message,
            "no domain with id, name or UUID 'nosuch' (neither the backend nor libvirt knows it)");
  // libvirt's "test" is domid 1, but the backend calls domid 2 "test" too.
  b[1].name = "test";
  auto amb = ResolveDomainSelector("test", b, m->get());
  ASSERT_FALSE(amb);
  EXPECT_EQ(amb.error().code, ErrorCode::kInvalidArgument);
}

// A renamed domain's old name is not resolved (another domain may take it
// later), but the error says what it became; the same after a restart,
// when the monitor's history comes from the state database (SeedHistory).
TEST(DomainResolver, OldNameSaysWhatItBecame) {
  auto m = LibvirtMonitor::Open("test:///default");
  ASSERT_TRUE(m) << m.error().message;
  const std::string uuid = "0b5d4d6e-6a43-4c5f-9d0b-1b3c1c7a0b0b";
  (*m)->SeedHistory(
      {{LibvirtIdentityChange::Kind::kRenamed, "web", "www", uuid, uuid,
        std::chrono::system_clock::time_point(std::chrono::seconds(1795600000))},
       {LibvirtIdentityChange::Kind::kUuidChanged, "db", "db",
        "0b5d4d6e-6a43-4c5f-9d0b-1b3c1c7a0c0c", "0b5d4d6e-6a43-4c5f-9d0b-1b3c1c7a0d0d",
        std::chrono::system_clock::time_point(std::chrono::seconds(1795600060))}});
  std::vector<DomainInfo> b = {{1, "guest1", "", 4, 65536, true}};
  auto old = ResolveDomainSelector("web", b, m->get());
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(old.error().message,
            "no domain named 'web': libvirt domain " + uuid +
                " was renamed 'web' -> 'www' at 2026-11-25 09:46:40 UTC; name it 'www' or by its "
                "UUID");
  auto gone = ResolveDomainSelector("0B5D4D6E-6A43-4C5F-9D0B-1B3C1C7A0C0C", b, m->get());
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(gone.error().message,
            "no domain with UUID '0B5D4D6E-6A43-4C5F-9D0B-1B3C1C7A0C0C': libvirt domain 'db' was "
            "defined again with UUID 0b5d4d6e-6a43-4c5f-9d0b-1b3c1c7a0d0d at 2026-11-25 09:47:40 "
            "UTC");
  // A current name still wins over history: "test" was never renamed.
  EXPECT_EQ(*ResolveDomainSelector("test", b, m->get()), 1u);
}

}  // namespace
}  // namespace hu::daemon
