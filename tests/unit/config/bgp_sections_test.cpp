// tests/unit/config/bgp_sections_test.cpp — `bgp:`: keys, ranges, and refusals with line:column.
#include <gtest/gtest.h>

#include <string>

#include "config/config_json.h"
#include "config/loader.h"

namespace ballast::config {
namespace {

LoadResult load(const std::string& yaml) { return loadConfigText(yaml, "test.yaml"); }

std::string firstError(const LoadResult& r) {
  if (r.errors.empty()) {
    return "";
  }
  return std::to_string(r.errors[0].line) + ":" + std::to_string(r.errors[0].column) + ": " +
         r.errors[0].message;
}

// A valid section with `extra` lines appended inside it (two-space indent).
std::string bgpWith(const std::string& extra) {
  return "bgp:\n"
         "  asn: 65001\n"
         "  router_id: 198.18.1.2\n"
         "  peers:\n"
         "    - {address: 198.18.1.1, asn: 65000}\n"
         "  vips: [198.18.100.1]\n" +
         extra;
}

TEST(BgpSectionsTest, ReadsEveryKey) {
  const auto r = load(R"(bgp:
  daemon: bird
  asn: 4200000001
  router_id: 198.18.1.2
  peers:
    - address: 198.18.1.1
      asn: 65000
    - {address: 198.18.2.1, asn: 65000}
  vips: [198.18.100.1, 198.18.101.0/24]
  announce_when: always
  hold_time: 9s
  state_dir: /run/ballast/bgp-a
  daemon_binary: /usr/sbin/bird
)");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const auto& b = r.config->bgp;
  EXPECT_TRUE(b.present);
  EXPECT_EQ(b.daemon, BgpDaemon::kBird);
  EXPECT_EQ(b.asn, 4200000001U);
  EXPECT_EQ(b.router_id.hostString(), "198.18.1.2");
  ASSERT_EQ(b.peers.size(), 2U);
  EXPECT_EQ(b.peers[1].address.hostString(), "198.18.2.1");
  EXPECT_EQ(b.peers[1].asn, 65000U);
  ASSERT_EQ(b.vips.size(), 2U);
  EXPECT_EQ(b.vips[0].toString(), "198.18.100.1/32");
  EXPECT_EQ(b.vips[1].toString(), "198.18.101.0/24");
  EXPECT_EQ(b.announce_when, BgpAnnounceWhen::kAlways);
  EXPECT_EQ(b.hold_time.count(), 9);
  EXPECT_EQ(b.state_dir, "/run/ballast/bgp-a");
  EXPECT_EQ(b.daemon_binary, "/usr/sbin/bird");
}

TEST(BgpSectionsTest, Defaults) {
  const auto r = load(bgpWith(""));
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const auto& b = r.config->bgp;
  EXPECT_EQ(b.announce_when, BgpAnnounceWhen::kHealthy);
  EXPECT_EQ(b.hold_time.count(), 3);
  EXPECT_EQ(b.state_dir, "/run/ballast/bgp");
  EXPECT_EQ(b.daemon_binary, "bird");
}

TEST(BgpSectionsTest, FrrRunsDebiansBgpdByDefault) {
  const auto r = load(bgpWith("  daemon: frr\n"));
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_EQ(r.config->bgp.daemon, BgpDaemon::kFrr);
  EXPECT_EQ(r.config->bgp.daemon_binary, "/usr/lib/frr/bgpd");
  EXPECT_EQ(toJson(*r.config)["bgp"]["daemon"], "frr");
}

TEST(BgpSectionsTest, FrrTakesAnExplicitBinaryWhereverTheKeyIs) {
  // daemon_binary before daemon: the per-daemon default must not overwrite it.
  const auto r = load(bgpWith("  daemon_binary: /opt/frr/bgpd\n  daemon: frr\n"));
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_EQ(r.config->bgp.daemon_binary, "/opt/frr/bgpd");
}

TEST(BgpSectionsTest, AbsentSectionIsNotPresent) {
  const auto r = load("workers: 1\n");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_FALSE(r.config->bgp.present);
  EXPECT_TRUE(toJson(*r.config)["bgp"].is_null());
}

TEST(BgpSectionsTest, EffectiveConfigShowsTheSection) {
  const auto r = load(bgpWith("  hold_time: 6s\n"));
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const auto j = toJson(*r.config)["bgp"];
  EXPECT_EQ(j["daemon"], "bird");
  EXPECT_EQ(j["asn"], 65001);
  EXPECT_EQ(j["router_id"], "198.18.1.2");
  EXPECT_EQ(j["peers"], nlohmann::json::parse(R"([{"address": "198.18.1.1", "asn": 65000}])"));
  EXPECT_EQ(j["vips"], nlohmann::json::array({"198.18.100.1/32"}));
  EXPECT_EQ(j["announce_when"], "healthy");
  EXPECT_EQ(j["hold_time_s"], 6);
}

TEST(BgpSectionsTest, RefusesWithLineAndColumn) {
  struct Case {
    std::string yaml;
    std::string error;  // the first error, "line:column: " and a part of the message
  };
  const Case cases[] = {
      {bgpWith("  colour: blue\n"), "7:3: "},
      {bgpWith("  daemon: quagga\n"), "7:11: "},
      {bgpWith("  announce_when: sometimes\n"), "7:18: "},
      {bgpWith("  hold_time: 2s\n"), "7:14: hold_time: expected whole seconds"},
      {bgpWith("  hold_time: 3500ms\n"), "7:14: hold_time: expected whole seconds"},
      {bgpWith("  state_dir: relative/dir\n"), "7:14: "},
      {"bgp:\n  asn: 0\n  router_id: 198.18.1.2\n  peers: [{address: 198.18.1.1, asn: 1}]\n"
       "  vips: [198.18.100.1]\n",
       "2:8: "},
      {"bgp:\n  asn: 4294967295\n  router_id: 198.18.1.2\n"
       "  peers: [{address: 198.18.1.1, asn: 1}]\n  vips: [198.18.100.1]\n",
       "2:8: "},
      {"bgp:\n  asn: 65001\n  router_id: 2001:db8::1\n"
       "  peers: [{address: 198.18.1.1, asn: 1}]\n  vips: [198.18.100.1]\n",
       "3:14: "},
      {"bgp:\n  asn: 65001\n  router_id: 198.18.1.2\n"
       "  peers: [{address: 198.18.1.1}]\n  vips: [198.18.100.1]\n",
       "4:11: peer is missing required key \"asn\""},
      {"bgp:\n  asn: 65001\n  router_id: 198.18.1.2\n"
       "  peers: [{address: 198.18.1.1, asn: 1, port: 179}]\n  vips: [198.18.100.1]\n",
       "4:"},
      {"bgp:\n  asn: 65001\n  router_id: 198.18.1.2\n"
       "  peers: [{address: 198.18.1.1, asn: 1}, {address: 198.18.1.1, asn: 2}]\n"
       "  vips: [198.18.100.1]\n",
       "is already a peer"},
      {"bgp:\n  asn: 65001\n  router_id: 198.18.1.2\n  peers: []\n  vips: [198.18.100.1]\n",
       "4:10: peers: needs at least one peer"},
      {"bgp:\n  asn: 65001\n  router_id: 198.18.1.2\n"
       "  peers: [{address: 198.18.1.1, asn: 1}]\n  vips: [198.18.100.1/24]\n",
       "has host bits set"},
      {"bgp:\n  asn: 65001\n  router_id: 198.18.1.2\n"
       "  peers: [{address: 198.18.1.1, asn: 1}]\n  vips: ['2001:db8::1']\n",
       "5:10: "},
      {"bgp:\n  asn: 65001\n  router_id: 198.18.1.2\n"
       "  peers: [{address: 198.18.1.1, asn: 1}]\n  vips: [198.18.100.1, 198.18.100.1/32]\n",
       "is listed twice"},
      {"bgp:\n  router_id: 198.18.1.2\n  peers: [{address: 198.18.1.1, asn: 1}]\n"
       "  vips: [198.18.100.1]\n",
       "bgp is missing required key \"asn\""},
  };
  for (const auto& c : cases) {
    const auto r = load(c.yaml);
    const std::string got = firstError(r);
    EXPECT_NE(got.find(c.error), std::string::npos) << c.yaml << "\n got: " << got;
  }
}

}  // namespace
}  // namespace ballast::config
