// tests/unit/discovery/srv_groups_test.cpp — SRV priorities become failover groups, best first.
#include "discovery/srv_groups.h"

#include <gtest/gtest.h>

namespace ballast::discovery {
namespace {

config::Backend srvBackend(const char* address, int32_t priority) {
  config::Backend b;
  b.address = *net::SocketAddress::parse(address);
  b.srv_priority = priority;
  return b;
}

TEST(SrvGroups, OneGroupPerPriorityBestFirst) {
  config::Pool pool;
  pool.discovery.dns_srv = "_http._tcp.app.test";
  pool.backends = {srvBackend("198.18.0.1:80", 20), srvBackend("198.18.0.2:80", 10),
                   srvBackend("198.18.0.3:80", 20), srvBackend("198.18.0.4:80", 10)};
  groupBySrvPriority(pool);
  ASSERT_EQ(pool.groups.size(), 2U);
  EXPECT_EQ(pool.groups[0].name, "srv-priority-10");
  EXPECT_EQ(pool.groups[0].priority, 10U);
  EXPECT_EQ(pool.groups[0].min_healthy, 1U);
  EXPECT_EQ(pool.groups[0].backends, (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(pool.groups[1].name, "srv-priority-20");
  EXPECT_EQ(pool.groups[1].backends, (std::vector<uint32_t>{0, 2}));
}

TEST(SrvGroups, OnePriorityMeansNoGroupsAndRebuildsReplaceOldOnes) {
  config::Pool pool;
  pool.discovery.dns_srv = "_http._tcp.app.test";
  pool.backends = {srvBackend("198.18.0.1:80", 0), srvBackend("198.18.0.2:80", 5)};
  groupBySrvPriority(pool);
  ASSERT_EQ(pool.groups.size(), 2U);
  pool.backends.pop_back();  // the priority-5 target left the answer
  groupBySrvPriority(pool);
  EXPECT_TRUE(pool.groups.empty());
}

TEST(SrvGroups, PoolsWithoutSrvKeepTheirGroups) {
  config::Pool pool;
  pool.backends = {srvBackend("198.18.0.1:80", -1)};
  pool.groups.push_back({"primary", 1, 1, {0}});
  groupBySrvPriority(pool);
  ASSERT_EQ(pool.groups.size(), 1U);
  EXPECT_EQ(pool.groups[0].name, "primary");
}

}  // namespace
}  // namespace ballast::discovery
