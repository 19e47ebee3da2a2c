// tests/unit/bgp/bird_config_test.cpp — the managed BIRD files and the control-socket reply
// reader.
#include "bgp/bird_config.h"

#include <gtest/gtest.h>

namespace ballast::bgp {
namespace {

config::BgpSettings settings() {
  config::BgpSettings b;
  b.present = true;
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

TEST(BirdConfigTest, PathsLiveInTheStateDir) {
  const auto p = birdPaths("/run/x/bgp/");
  EXPECT_EQ(p.config, "/run/x/bgp/bird.conf");
  EXPECT_EQ(p.vips, "/run/x/bgp/vips.conf");
  EXPECT_EQ(p.socket, "/run/x/bgp/bird.ctl");
  EXPECT_EQ(p.pid, "/run/x/bgp/bird.pid");
}

TEST(BirdConfigTest, ConfigHasOneSessionPerPeerExportingOnlyTheVips) {
  const auto b = settings();
  const std::string c = renderBirdConfig(b, birdPaths(b.state_dir));
  EXPECT_NE(c.find("router id 198.18.1.2;\n"), std::string::npos) << c;
  EXPECT_NE(c.find("include \"/run/x/bgp/vips.conf\";\n"), std::string::npos) << c;
  EXPECT_NE(c.find("protocol bgp peer1 {\n  local as 65001;\n  neighbor 198.18.1.1 as 65000;\n"
                   "  hold time 6;\n  keepalive time 2;\n"),
            std::string::npos)
      << c;
  EXPECT_NE(c.find("protocol bgp peer2 {\n  local as 65001;\n  neighbor 198.18.2.1 as 65002;\n"),
            std::string::npos)
      << c;
  EXPECT_NE(c.find("    import none;\n    export where proto = \"ballast_vips\";\n"),
            std::string::npos)
      << c;
  EXPECT_EQ(c.find("peer3"), std::string::npos);
}

TEST(BirdConfigTest, VipsFileHoldsOnlyAnnouncedVips) {
  const auto b = settings();
  const std::string both = renderVipsFile(b, {true, true});
  EXPECT_NE(both.find("protocol static ballast_vips {\n  ipv4;\n"
                      "  route 198.18.100.1/32 blackhole;\n"
                      "  route 198.18.101.0/24 blackhole;\n}\n"),
            std::string::npos)
      << both;
  const std::string second = renderVipsFile(b, {false, true});
  EXPECT_EQ(second.find("198.18.100.1"), std::string::npos) << second;
  EXPECT_NE(second.find("route 198.18.101.0/24 blackhole;"), std::string::npos) << second;
  const std::string none = renderVipsFile(b, {false, false});
  EXPECT_EQ(none.find("route "), std::string::npos) << none;
  EXPECT_NE(none.find("protocol static ballast_vips {\n  ipv4;\n}\n"), std::string::npos) << none;
}

TEST(BirdConfigTest, ReplyParser) {
  EXPECT_FALSE(parseBirdReply("").complete);
  EXPECT_FALSE(parseBirdReply("0001 BIRD 2.0.12 ready.").complete);  // no newline yet
  const auto hello = parseBirdReply("0001 BIRD 2.0.12 ready.\n");
  EXPECT_TRUE(hello.complete);
  EXPECT_TRUE(hello.ok);
  EXPECT_EQ(hello.code, 1);
  const auto cfg =
      parseBirdReply("0002-Reading configuration from /x/bird.conf\n0003 Reconfigured\n");
  EXPECT_TRUE(cfg.ok);
  EXPECT_EQ(cfg.code, 3);
  EXPECT_EQ(cfg.text, "Reconfigured");
  EXPECT_FALSE(parseBirdReply("0002-Reading configuration from /x/bird.conf\n").complete);
  const auto bad = parseBirdReply(
      "0002-Reading configuration from /x/bird.conf\n8002 /x/vips.conf:3:9 syntax error\n");
  EXPECT_TRUE(bad.complete);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.code, 8002);
  const auto cont = parseBirdReply("1000-BIRD 2.0.12\n pid 12\n0000 \n");
  EXPECT_TRUE(cont.ok);
  EXPECT_EQ(cont.code, 0);
}

}  // namespace
}  // namespace ballast::bgp
