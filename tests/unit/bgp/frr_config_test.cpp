// tests/unit/bgp/frr_config_test.cpp — bgpd.conf as Ballast writes it, the vty commands that
// announce and withdraw, and the vty reply reader.
#include "bgp/frr_config.h"

#include <gtest/gtest.h>

#include <string>

namespace ballast::bgp {
namespace {

using namespace std::string_literals;

config::BgpSettings settings() {
  config::BgpSettings b;
  b.present = true;
  b.daemon = config::BgpDaemon::kFrr;
  b.asn = 65001;
  b.router_id = *net::SocketAddress::parse("198.18.1.2", /*allow_no_port=*/true);
  b.peers.push_back({*net::SocketAddress::parse("198.18.1.1", true), 65000});
  b.peers.push_back({*net::SocketAddress::parse("198.18.2.1", true), 65002});
  b.vips.push_back(*net::Cidr::parse("198.18.100.1/32"));
  b.vips.push_back(*net::Cidr::parse("198.18.101.0/24"));
  b.hold_time = std::chrono::seconds(6);
  b.state_dir = "/run/x/bgp/";
  return b;
}

TEST(FrrConfigTest, PathsLiveInTheStateDir) {
  const auto p = frrPaths("/run/x/bgp/");
  EXPECT_EQ(p.dir, "/run/x/bgp");
  EXPECT_EQ(p.config, "/run/x/bgp/bgpd.conf");
  EXPECT_EQ(p.socket, "/run/x/bgp/bgpd.vty");
  EXPECT_EQ(p.pid, "/run/x/bgp/bgpd.pid");
  EXPECT_EQ(p.log, "/run/x/bgp/bgpd.log");
}

TEST(FrrConfigTest, ConfigHasTheSessionsAndOnlyTheAnnouncedVips) {
  const auto b = settings();
  const std::string c = renderFrrConfig(b, {true, false}, frrPaths(b.state_dir));
  const std::string want =
      "! Managed by Ballast (bgp: in its config); rewritten on every start, reload and\n"
      "! change of the announced VIPs.\n"
      "log file /run/x/bgp/bgpd.log\n"
      "!\n"
      "route-map ballast-import-none deny 10\n"
      "exit\n"
      "!\n"
      "router bgp 65001\n"
      " bgp router-id 198.18.1.2\n"
      " no bgp ebgp-requires-policy\n"
      " no bgp network import-check\n"
      " bgp graceful-restart-disable\n"
      " timers bgp 2 6\n"
      " neighbor 198.18.1.1 remote-as 65000\n"
      " neighbor 198.18.1.1 timers connect 2\n"
      " neighbor 198.18.1.1 advertisement-interval 0\n"
      " neighbor 198.18.2.1 remote-as 65002\n"
      " neighbor 198.18.2.1 timers connect 2\n"
      " neighbor 198.18.2.1 advertisement-interval 0\n"
      " !\n"
      " address-family ipv4 unicast\n"
      "  network 198.18.100.1/32\n"
      "  neighbor 198.18.1.1 activate\n"
      "  neighbor 198.18.1.1 route-map ballast-import-none in\n"
      "  neighbor 198.18.2.1 activate\n"
      "  neighbor 198.18.2.1 route-map ballast-import-none in\n"
      " exit-address-family\n"
      "exit\n";
  EXPECT_EQ(c, want);
  const std::string none = renderFrrConfig(b, {false, false}, frrPaths(b.state_dir));
  EXPECT_EQ(none.find("network 198"), std::string::npos);
  const std::string both = renderFrrConfig(b, {true, true}, frrPaths(b.state_dir));
  EXPECT_NE(both.find("  network 198.18.101.0/24\n"), std::string::npos);
}

TEST(FrrConfigTest, KeepalivesAreAThirdOfTheHoldTimeAndAtLeastASecond) {
  auto b = settings();
  b.hold_time = std::chrono::seconds(3);
  EXPECT_NE(renderFrrConfig(b, {}, frrPaths(b.state_dir)).find(" timers bgp 1 3\n"),
            std::string::npos);
  b.hold_time = std::chrono::seconds(4);
  EXPECT_NE(renderFrrConfig(b, {}, frrPaths(b.state_dir)).find(" timers bgp 1 4\n"),
            std::string::npos);
}

TEST(FrrConfigTest, AnnounceCommandsWithdrawFirstAndToleratesOnlyMissingWithdrawals) {
  const auto c = frrAnnounceCommands(65001, {"198.18.100.9/32"}, {"198.18.100.1/32"});
  ASSERT_EQ(c.size(), 7U);
  EXPECT_EQ(c[0].text, "enable");
  EXPECT_EQ(c[1].text, "configure terminal");
  EXPECT_EQ(c[2].text, "router bgp 65001");
  EXPECT_EQ(c[3].text, "address-family ipv4 unicast");
  EXPECT_EQ(c[4].text, "no network 198.18.100.9/32");
  EXPECT_TRUE(c[4].tolerate_missing);
  EXPECT_EQ(c[5].text, "network 198.18.100.1/32");
  EXPECT_FALSE(c[5].tolerate_missing);
  EXPECT_EQ(c[6].text, "end");
  for (size_t i : {0, 1, 2, 3, 6}) {
    EXPECT_FALSE(c[i].tolerate_missing) << c[i].text;
  }
}

TEST(FrrConfigTest, ReplyParser) {
  EXPECT_FALSE(parseVtyReply("").complete);
  EXPECT_FALSE(parseVtyReply("some output").complete);
  EXPECT_FALSE(parseVtyReply("out\0\0\0"s).complete);  // the status byte is still missing
  const auto ok = parseVtyReply("\0\0\0\0"s);
  EXPECT_TRUE(ok.complete);
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.status, 0);
  EXPECT_EQ(ok.text, "");
  const auto unknown = parseVtyReply("% [BGP] Unknown command: bogus\n\0\0\0\2"s);
  EXPECT_TRUE(unknown.complete);
  EXPECT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.status, 2);
  EXPECT_EQ(unknown.text, "% [BGP] Unknown command: bogus");
  EXPECT_FALSE(isMissingNetworkReply(unknown));
  const auto missing = parseVtyReply("% Can't find static route specified\n\0\0\0\x0d"s);
  EXPECT_FALSE(missing.ok);
  EXPECT_TRUE(isMissingNetworkReply(missing));
  const auto other = parseVtyReply("BGP is already running; AS is 65001\n\0\0\0\x0d"s);
  EXPECT_FALSE(isMissingNetworkReply(other));
  const auto high = parseVtyReply("x\0\0\0\xff"s);
  EXPECT_EQ(high.status, 255);
}

}  // namespace
}  // namespace ballast::bgp
