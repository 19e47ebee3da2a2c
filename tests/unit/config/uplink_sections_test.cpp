// tests/unit/config/uplink_sections_test.cpp — `uplinks:`, `uplink_policy:`, `lan_interfaces:`.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

LoadResult load(const std::string& yaml) { return loadConfigText(yaml, "test.yaml"); }

// The first error's "line:column: message", or "" when there is none.
std::string firstError(const LoadResult& r) {
  if (r.errors.empty()) {
    return "";
  }
  return std::to_string(r.errors[0].line) + ":" + std::to_string(r.errors[0].column) + ": " +
         r.errors[0].message;
}

TEST(UplinkSectionsTest, ReadsEveryKey) {
  const auto r = load(R"(uplinks:
  - interface: eth0
    weight: 3
    gateway: 198.18.1.1
    table: 110
    probe:
      targets: ["198.18.100.1:443", "198.18.100.2:80"]
  - interface: wlan0
    probe: gateway
lan_interfaces: [br-lan]
uplink_policy:
  interval: 5s
  timeout: 2s
  failure_threshold: 4
  recovery_threshold: 3
  debounce: 250ms
  backoff_base: 10s
  backoff_max: 10m
  hold_down: 2m
  affinity: false
  lb_table: 300
  table_base: 120
  rule_preference: 500
  state_file: /var/lib/ballast/uplinks.state
)");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const Config& c = *r.config;
  ASSERT_EQ(c.uplinks.size(), 2U);
  EXPECT_EQ(c.uplinks[0].interface, "eth0");
  EXPECT_EQ(c.uplinks[0].weight, 3U);
  ASSERT_TRUE(c.uplinks[0].gateway.has_value());
  EXPECT_EQ(c.uplinks[0].gateway->hostString(), "198.18.1.1");
  EXPECT_EQ(c.uplinks[0].table, 110U);
  EXPECT_EQ(c.uplinks[0].probe.kind, UplinkProbeKind::kTcp);
  ASSERT_EQ(c.uplinks[0].probe.targets.size(), 2U);
  EXPECT_EQ(c.uplinks[0].probe.targets[1].toString(), "198.18.100.2:80");
  EXPECT_EQ(c.uplinks[1].probe.kind, UplinkProbeKind::kGateway);
  EXPECT_FALSE(c.uplinks[1].gateway.has_value());
  EXPECT_EQ(c.uplinks[1].table, 0U);
  EXPECT_EQ(c.lan_interfaces, std::vector<std::string>{"br-lan"});
  const UplinkPolicy& p = c.uplink_policy;
  EXPECT_TRUE(p.present);
  EXPECT_EQ(p.interval, std::chrono::seconds(5));
  EXPECT_EQ(p.timeout, std::chrono::seconds(2));
  EXPECT_EQ(p.failure_threshold, 4U);
  EXPECT_EQ(p.recovery_threshold, 3U);
  EXPECT_EQ(p.debounce, std::chrono::milliseconds(250));
  EXPECT_EQ(p.backoff_base, std::chrono::seconds(10));
  EXPECT_EQ(p.backoff_max, std::chrono::minutes(10));
  EXPECT_EQ(p.hold_down, std::chrono::minutes(2));
  EXPECT_FALSE(p.affinity);
  EXPECT_EQ(p.lb_table, 300U);
  EXPECT_EQ(p.table_base, 120U);
  EXPECT_EQ(p.rule_preference, 500U);
  EXPECT_EQ(p.state_file, "/var/lib/ballast/uplinks.state");
}

TEST(UplinkSectionsTest, DefaultsWithoutPolicy) {
  const auto r = load("uplinks: [{interface: eth0}]\n");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const auto& u = r.config->uplinks.at(0);
  EXPECT_EQ(u.weight, 1U);
  EXPECT_EQ(u.probe.kind, UplinkProbeKind::kNone);
  EXPECT_FALSE(r.config->uplink_policy.present);
  EXPECT_TRUE(r.config->uplink_policy.affinity);
  EXPECT_EQ(r.config->uplink_policy.lb_table, 200U);
  EXPECT_EQ(r.config->uplink_policy.state_file, "/run/ballast/uplinks.state");
}

struct BadCase {
  const char* yaml;
  const char* error;  // the first error, "line:column: message" prefix
};

class UplinkSectionsBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(UplinkSectionsBadTest, ReportsAtTheValue) {
  const auto r = load(GetParam().yaml);
  ASSERT_FALSE(r.errors.empty()) << GetParam().yaml;
  EXPECT_EQ(firstError(r).rfind(GetParam().error, 0), 0U) << firstError(r);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, UplinkSectionsBadTest,
    ::testing::Values(
        BadCase{"uplinks: [{interface: a-name-far-too-long}]\n",
                "1:23: interface: expected an interface name"},
        BadCase{"uplinks: [{interface: \"eth/0\"}]\n", "1:23: interface: expected"},
        BadCase{"uplinks:\n  - interface: eth0\n  - interface: eth0\n",
                "3:16: interface: \"eth0\" is already an uplink"},
        BadCase{"uplinks: [{interface: eth0, weight: 0}]\n", "1:37: weight: expected"},
        BadCase{"uplinks: [{interface: eth0, weight: 257}]\n", "1:37: weight: expected"},
        BadCase{"uplinks: [{interface: eth0, table: 254}]\n",
                "1:36: table: tables 253, 254 and 255"},
        BadCase{"uplinks: [{interface: eth0, table: 0}]\n", "1:36: table: expected"},
        BadCase{"uplinks:\n  - {interface: eth0, table: 7}\n  - {interface: eth1, table: 7}\n",
                "3:30: table: 7 is already used"},
        BadCase{"uplinks: [{interface: eth0, table: 200}]\n",
                "1:36: table: 200 is the balancing table"},
        BadCase{"uplinks: [{interface: eth0, gateway: \"198.18.0.1:80\"}]\n",
                "1:38: gateway: expected an IPv4 address"},
        BadCase{"uplinks: [{interface: eth0, gateway: \"::1\"}]\n",
                "1:38: gateway: expected an IPv4 address"},
        BadCase{"uplinks: [{interface: eth0, probe: {targets: [\"198.18.0.1\"]}}]\n",
                "1:47: target: expected an IPv4 host:port"},
        BadCase{"uplinks: [{interface: eth0, probe: {targets: []}}]\n",
                "1:46: targets: needs at least one"},
        BadCase{"uplinks: [{interface: eth0, probe: ping}]\n", "1:36: probe: expected one of"},
        BadCase{"uplinks: [{interface: eth0, mtu: 1500}]\n", "1:29: "},
        BadCase{"uplinks: [{weight: 2}]\n", "1:11: uplink is missing required key"},
        BadCase{"lan_interfaces: [lan0, lan0]\n", "1:24: lan_interfaces: \"lan0\" is listed twice"},
        BadCase{"uplinks: [{interface: eth0}]\nlan_interfaces: [eth0]\n",
                "2:1: lan_interfaces: \"eth0\" is also an uplink"},
        BadCase{"uplink_policy: {interval: 0s}\n", "1:27: interval: expected a positive duration"},
        BadCase{"uplink_policy: {interval: 1s, timeout: 2s}\n",
                "1:40: timeout: must not exceed interval"},
        BadCase{"uplink_policy: {backoff_base: 10m, backoff_max: 1m}\n",
                "1:31: backoff_base: must not exceed backoff_max"},
        BadCase{"uplink_policy: {rule_preference: 32766}\n", "1:34: rule_preference: expected"},
        BadCase{"uplink_policy: {lb_table: 255}\n", "1:27: lb_table: tables 253"},
        BadCase{"uplink_policy: {state_file: relative/path}\n",
                "1:29: state_file: expected an absolute file path"},
        BadCase{"uplink_policy: {failure_threshold: 0}\n", "1:36: failure_threshold: expected"}));

TEST(UplinkSectionsTest, ListsAppendAcrossIncludesAndPolicyIsSetOnce) {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "ballast_uplinks_XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  std::ofstream(dir / "more.yaml") << "uplinks: [{interface: wlan0}]\nlan_interfaces: [lan1]\n"
                                      "uplink_policy: {interval: 9s}\n";
  std::ofstream(dir / "top.yaml") << "include: [more.yaml]\nuplinks: [{interface: eth0}]\n"
                                     "lan_interfaces: [lan0]\nuplink_policy: {interval: 3s}\n";
  const auto r = loadConfigFile((dir / "top.yaml").string());
  fs::remove_all(dir);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[0].column, 1);
  EXPECT_NE(r.errors[0].message.find("uplink_policy: already set"), std::string::npos);

  // Without the second policy the lists merge, top file first.
  fs::create_directories(dir);
  std::ofstream(dir / "more.yaml") << "uplinks: [{interface: wlan0}]\nlan_interfaces: [lan1]\n";
  std::ofstream(dir / "top.yaml") << "include: [more.yaml]\nuplinks: [{interface: eth0}]\n"
                                     "lan_interfaces: [lan0]\n";
  const auto ok = loadConfigFile((dir / "top.yaml").string());
  fs::remove_all(dir);
  ASSERT_TRUE(ok.errors.empty()) << ok.errors[0].format();
  ASSERT_EQ(ok.config->uplinks.size(), 2U);
  EXPECT_EQ(ok.config->uplinks[0].interface, "eth0");
  EXPECT_EQ(ok.config->uplinks[1].interface, "wlan0");
  EXPECT_EQ(ok.config->lan_interfaces, (std::vector<std::string>{"lan0", "lan1"}));
}

}  // namespace
}  // namespace ballast::config
