// tests/unit/kernel/diff_test.cpp — the minimal change set between desired and observed states.
#include "kernel/diff.h"

#include <gtest/gtest.h>

namespace ballast::kernel {
namespace {

net::SocketAddress addr(const char* text) {
  return *net::SocketAddress::parse(text, /*allow_no_port=*/true);
}

ServiceState service(const char* name, const char* vip, uint16_t port,
                     std::vector<Destination> backends) {
  ServiceState s;
  s.name = name;
  s.vip = addr(vip);
  s.ports = {port};
  s.backends = std::move(backends);
  return s;
}

KernelState state(std::vector<ServiceState> services) {
  KernelState k;
  k.services = std::move(services);
  k.canonicalize();
  return k;
}

TEST(DiffTest, EqualStatesGiveNothing) {
  const auto a = state({service("web", "198.18.0.10", 80, {{addr("198.18.2.1:80"), 1}})});
  EXPECT_TRUE(diff(a, a).empty());
}

TEST(DiffTest, AddRemoveAndUpdateServices) {
  const auto desired = state({
      service("new", "198.18.0.11", 80, {{addr("198.18.2.1:80"), 1}}),
      service("web", "198.18.0.10", 80, {{addr("198.18.2.1:80"), 2}, {addr("198.18.2.3:80"), 1}}),
  });
  const auto observed = state({
      service("old", "198.18.0.12", 80, {{addr("198.18.2.1:80"), 1}}),
      service("web", "198.18.0.10", 80, {{addr("198.18.2.1:80"), 1}, {addr("198.18.2.2:80"), 1}}),
  });
  const Diff d = diff(desired, observed);
  ASSERT_EQ(d.changes.size(), 3U);
  EXPECT_EQ(d.count(ServiceChange::Kind::kAdd), 1U);
  EXPECT_EQ(d.count(ServiceChange::Kind::kRemove), 1U);
  const ServiceChange& up = d.changes[1];
  ASSERT_EQ(up.kind, ServiceChange::Kind::kUpdate);
  EXPECT_FALSE(up.attributes_changed);
  ASSERT_EQ(up.added.size(), 1U);
  EXPECT_EQ(up.added[0].address.toString(), "198.18.2.3:80");
  ASSERT_EQ(up.removed.size(), 1U);
  EXPECT_EQ(up.removed[0].address.toString(), "198.18.2.2:80");
  ASSERT_EQ(up.reweighted.size(), 1U);
  EXPECT_EQ(up.reweighted[0].weight, 2U);
  EXPECT_EQ(d.changes[2].observed.name, "old");
  const auto lines = d.describe();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "+ service new 198.18.0.11:80/tcp wrr nat backends 1");
}

TEST(DiffTest, AttributeChangeAndDamageAreFlagged) {
  auto want = service("web", "198.18.0.10", 80, {{addr("198.18.2.1:80"), 1}});
  auto have = want;
  have.scheduler = config::KernelScheduler::kHash;
  Diff d = diff(state({want}), state({have}));
  ASSERT_EQ(d.changes.size(), 1U);
  EXPECT_TRUE(d.changes[0].attributes_changed);
  have = want;
  have.intact = false;
  d = diff(state({want}), state({have}));
  ASSERT_EQ(d.changes.size(), 1U);
  EXPECT_TRUE(d.changes[0].attributes_changed);
}

TEST(DiffTest, ScaffoldRepairOnlyWhenThereIsSomethingToServe) {
  KernelState broken;
  broken.scaffold_intact = false;
  EXPECT_TRUE(diff(KernelState{}, broken).empty());
  const auto desired = state({service("web", "198.18.0.10", 80, {})});
  EXPECT_TRUE(diff(desired, broken).repair_scaffold);
}

TEST(DiffTest, UnnamedServicesMatchByKey) {
  auto want = service("", "198.18.0.10", 80, {{addr("198.18.2.1"), 1}});
  auto have = want;
  have.backends[0].weight = 0;
  const Diff d = diff(state({want}), state({have}));
  ASSERT_EQ(d.changes.size(), 1U);
  EXPECT_EQ(d.changes[0].kind, ServiceChange::Kind::kUpdate);
  EXPECT_EQ(d.changes[0].desired.identity(), "198.18.0.10:80/tcp");
}

}  // namespace
}  // namespace ballast::kernel
