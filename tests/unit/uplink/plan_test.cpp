// tests/unit/uplink/plan_test.cpp — routes, rules and nftables script for a set of uplinks.
#include "uplink/plan.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace ballast::uplink {
namespace {

uint32_t ip(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return a.s_addr;
}

std::vector<ResolvedUplink> threeUplinks() {
  return {
      {"up1", 11, 100, uplinkMark(0), 1, ip("198.18.1.1"), ip("198.18.1.2"), true, true},
      {"up2", 12, 101, uplinkMark(1), 2, ip("198.18.2.1"), ip("198.18.2.2"), true, true},
      {"up3", 13, 102, uplinkMark(2), 1, ip("198.18.3.1"), ip("198.18.3.2"), true, true},
  };
}

const RouteSpec* routeIn(const Plan& plan, uint32_t table) {
  for (const auto& r : plan.routes) {
    if (r.table == table) {
      return &r;
    }
  }
  return nullptr;
}

size_t count(const Plan& plan, const RuleSpec& rule) {
  return static_cast<size_t>(std::count(plan.rules.begin(), plan.rules.end(), rule));
}

TEST(PlanTest, HealthyUplinksShareTheBalancingRouteByWeight) {
  config::UplinkPolicy policy;
  const Plan plan = buildPlan(policy, threeUplinks(), {"lan0"});
  const RouteSpec* lb = routeIn(plan, policy.lb_table);
  ASSERT_NE(lb, nullptr);
  ASSERT_EQ(lb->nexthops.size(), 3U);
  EXPECT_EQ(lb->nexthops[1], (Nexthop{12, ip("198.18.2.1"), 2}));
  for (uint32_t table : {100U, 101U, 102U}) {
    const RouteSpec* own = routeIn(plan, table);
    ASSERT_NE(own, nullptr) << table;
    EXPECT_EQ(own->nexthops.size(), 1U);
  }
  const uint32_t pref = policy.rule_preference;
  EXPECT_EQ(plan.rules.front(),
            (RuleSpec{.priority = pref, .table = 254, .suppress_default = true}));
  EXPECT_EQ(count(plan, {.priority = pref + 1, .table = 101, .src = ip("198.18.2.2")}), 1U);
  EXPECT_EQ(count(plan, {.priority = pref + 1, .table = 101, .oif = "up2"}), 1U);
  EXPECT_EQ(
      count(plan, {.priority = pref + 1, .table = 101, .fwmark = 0x20000, .fwmask = kMarkMask}),
      1U);
  EXPECT_EQ(count(plan, {.priority = pref + 2, .table = policy.lb_table, .iif = "lo"}), 1U);
  EXPECT_EQ(count(plan, {.priority = pref + 2, .table = policy.lb_table, .iif = "lan0"}), 1U);
}

TEST(PlanTest, UnhealthyUplinkLeavesTheBalanceButKeepsItsTableAndRules) {
  auto uplinks = threeUplinks();
  uplinks[1].healthy = false;
  const Plan plan = buildPlan({}, uplinks, {});
  const RouteSpec* lb = routeIn(plan, 200);
  ASSERT_NE(lb, nullptr);
  EXPECT_EQ(lb->nexthops.size(), 2U);
  EXPECT_NE(routeIn(plan, 101), nullptr);
  EXPECT_EQ(count(plan, {.priority = 1001, .table = 101, .oif = "up2"}), 1U);
}

TEST(PlanTest, LinkDownOrUnknownGatewayHasNoRoutes) {
  auto uplinks = threeUplinks();
  uplinks[0].link_up = false;
  uplinks[2].gateway = 0;
  const Plan plan = buildPlan({}, uplinks, {});
  EXPECT_EQ(routeIn(plan, 100), nullptr);
  EXPECT_EQ(routeIn(plan, 102), nullptr);
  ASSERT_NE(routeIn(plan, 200), nullptr);
  EXPECT_EQ(routeIn(plan, 200)->nexthops.size(), 1U);
}

TEST(PlanTest, NoHealthyUplinkMeansNoBalancingRouteSoMainApplies) {
  auto uplinks = threeUplinks();
  for (auto& u : uplinks) {
    u.healthy = false;
  }
  EXPECT_EQ(routeIn(buildPlan({}, uplinks, {}), 200), nullptr);
}

TEST(PlanTest, WithoutAffinityNoMarksAnywhere) {
  config::UplinkPolicy policy;
  policy.affinity = false;
  const auto uplinks = threeUplinks();
  const Plan plan = buildPlan(policy, uplinks, {});
  EXPECT_TRUE(std::none_of(plan.rules.begin(), plan.rules.end(),
                           [](const RuleSpec& r) { return r.fwmask != 0; }));
  const std::string nft = buildNftScript(policy, uplinks);
  EXPECT_EQ(nft.find("ct mark"), std::string::npos);
  EXPECT_NE(nft.find("oifname \"up3\" masquerade"), std::string::npos);
}

TEST(PlanTest, NftScriptReplacesTheTableAndMarksNewFlowsPerUplink) {
  const std::string nft = buildNftScript({}, threeUplinks());
  EXPECT_EQ(nft.rfind("add table inet ballast_uplinks\ndelete table inet ballast_uplinks\n", 0),
            0U);
  EXPECT_NE(nft.find("oifname \"up2\" ct mark set ct mark or 0x00020000"), std::string::npos);
  EXPECT_NE(nft.find("type route hook output"), std::string::npos);
  EXPECT_NE(nft.find("meta mark set ct mark and 0x00ff0000"), std::string::npos);
  for (const char* name : {"up1", "up2", "up3"}) {
    EXPECT_NE(nft.find("oifname \"" + std::string(name) + "\" masquerade"), std::string::npos);
  }
}

TEST(PlanTest, TablesDefaultFromTheBaseAndCollisionsAreReported) {
  config::UplinkPolicy policy;
  std::vector<config::Uplink> uplinks(3);
  uplinks[0].interface = "a";
  uplinks[1].interface = "b";
  uplinks[2].interface = "c";
  uplinks[2].table = 150;
  EXPECT_EQ(uplinkTable(policy, uplinks, 0), 100U);
  EXPECT_EQ(uplinkTable(policy, uplinks, 1), 101U);
  EXPECT_EQ(uplinkTable(policy, uplinks, 2), 150U);
  EXPECT_EQ(checkTables(policy, uplinks), "");
  uplinks[2].table = 101;
  EXPECT_NE(checkTables(policy, uplinks).find("used twice"), std::string::npos);
  uplinks[2].table = 0;
  policy.table_base = 252;  // 252, 253: the second is the kernel's default table
  EXPECT_NE(checkTables(policy, uplinks).find("253"), std::string::npos);
  policy.table_base = 199;  // 199, 200, 201: 200 is lb_table
  EXPECT_NE(checkTables(policy, uplinks).find("balancing table"), std::string::npos);
}

}  // namespace
}  // namespace ballast::uplink
