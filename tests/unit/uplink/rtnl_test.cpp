// tests/unit/uplink/rtnl_test.cpp — the route and rule messages the plane sends parse back to
// what was asked (no socket: the builders and parsers meet in a buffer).
#include "uplink/rtnl.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>

namespace ballast::uplink {
namespace {

uint32_t ip(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return a.s_addr;
}

TEST(RtnlTest, MultipathRouteRoundTripsWithWeightsAndTable) {
  const RouteSpec spec{
      .table = 300,
      .nexthops = {
          {11, ip("198.18.1.1"), 1}, {12, ip("198.18.2.1"), 256}, {13, ip("198.18.3.1"), 3}}};
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = buildRouteMessage(buf, spec);
  KernelRoute parsed;
  ASSERT_TRUE(parseRoute(nlh, &parsed));
  EXPECT_EQ(parsed.table, 300U);  // above 255: carried in RTA_TABLE
  EXPECT_EQ(parsed.dst_len, 0);
  EXPECT_EQ(parsed.protocol, kRtProtBallast);
  EXPECT_EQ(parsed.nexthops, spec.nexthops);
  EXPECT_EQ(parsed.raw.size(), nlh->nlmsg_len);
}

TEST(RtnlTest, SinglePathRouteUsesOifAndGateway) {
  const RouteSpec spec{.table = 100, .nexthops = {{7, ip("198.18.9.1"), 1}}};
  char buf[MNL_SOCKET_BUFFER_SIZE];
  KernelRoute parsed;
  ASSERT_TRUE(parseRoute(buildRouteMessage(buf, spec), &parsed));
  EXPECT_EQ(parsed.table, 100U);
  EXPECT_TRUE(parsed.nexthops.empty());
  EXPECT_EQ(parsed.oif, 7);
  EXPECT_EQ(parsed.gateway, ip("198.18.9.1"));
}

TEST(RtnlTest, RulesRoundTrip) {
  const RuleSpec rules[] = {
      {.priority = 1000, .table = 254, .suppress_default = true},
      {.priority = 1001, .table = 100, .src = ip("198.18.1.2")},
      {.priority = 1001, .table = 100, .oif = "up1"},
      {.priority = 1001, .table = 100, .fwmark = 0x10000, .fwmask = 0xff0000},
      {.priority = 1002, .table = 70000, .iif = "lan0"},
  };
  for (const auto& rule : rules) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = buildRuleMessage(buf, rule);
    KernelRule parsed;
    ASSERT_TRUE(parseRule(nlh, &parsed));
    EXPECT_EQ(parsed.spec, rule) << toJson(rule).dump();
    EXPECT_EQ(parsed.protocol, kRtProtBallast);
  }
}

TEST(RtnlTest, OtherFamiliesAndKindsAreNotParsed) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = buildRouteMessage(buf, {.table = 1, .nexthops = {{1, 1, 1}}});
  KernelRule rule;
  EXPECT_FALSE(parseRule(nlh, &rule));
  static_cast<rtmsg*>(mnl_nlmsg_get_payload(nlh))->rtm_family = AF_INET6;
  KernelRoute route;
  EXPECT_FALSE(parseRoute(nlh, &route));
}

}  // namespace
}  // namespace ballast::uplink
