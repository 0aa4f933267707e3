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

}  // namespace
}  // namespace hu::daemon
