// tests/unit/bgp/gate_test.cpp — which VIPs a node announces.
#include "bgp/gate.h"

#include <gtest/gtest.h>

namespace ballast::bgp {
namespace {

net::SocketAddress addr(const char* text) { return *net::SocketAddress::parse(text); }

config::BgpSettings twoVips(config::BgpAnnounceWhen when) {
  config::BgpSettings b;
  b.vips.push_back(*net::Cidr::parse("198.18.100.1/32"));
  b.vips.push_back(*net::Cidr::parse("198.18.101.0/24"));
  b.announce_when = when;
  return b;
}

TEST(BgpGateTest, AnnouncesAVipWhileAListenerOnItServes) {
  const auto b = twoVips(config::BgpAnnounceWhen::kHealthy);
  const std::vector<ListenerView> ls = {{addr("198.18.100.1:80"), true},
                                        {addr("198.18.101.7:443"), false}};
  EXPECT_EQ(announceGate(b, true, ls), (std::vector<bool>{true, false}));
}

TEST(BgpGateTest, AnyServingListenerInsideThePrefixIsEnough) {
  const auto b = twoVips(config::BgpAnnounceWhen::kHealthy);
  const std::vector<ListenerView> ls = {{addr("198.18.101.7:443"), false},
                                        {addr("198.18.101.8:443"), true}};
  EXPECT_EQ(announceGate(b, true, ls), (std::vector<bool>{false, true}));
}

TEST(BgpGateTest, ListenersElsewhereDoNotCount) {
  const auto b = twoVips(config::BgpAnnounceWhen::kAlways);
  const std::vector<ListenerView> ls = {{addr("198.18.100.2:80"), true},
                                        {addr("127.0.0.1:80"), true}};
  EXPECT_EQ(announceGate(b, true, ls), (std::vector<bool>{false, false}));
}

TEST(BgpGateTest, WildcardListenersCoverEveryVip) {
  const auto b = twoVips(config::BgpAnnounceWhen::kHealthy);
  const std::vector<ListenerView> ls = {{addr("0.0.0.0:80"), true}};
  EXPECT_EQ(announceGate(b, true, ls), (std::vector<bool>{true, true}));
}

TEST(BgpGateTest, AlwaysIgnoresBackendHealthButNotTheListener) {
  const auto b = twoVips(config::BgpAnnounceWhen::kAlways);
  const std::vector<ListenerView> ls = {{addr("198.18.100.1:80"), false}};
  EXPECT_EQ(announceGate(b, true, ls), (std::vector<bool>{true, false}));
}

TEST(BgpGateTest, NothingWhileNotReady) {
  const auto b = twoVips(config::BgpAnnounceWhen::kAlways);
  const std::vector<ListenerView> ls = {{addr("0.0.0.0:80"), true}};
  EXPECT_EQ(announceGate(b, false, ls), (std::vector<bool>{false, false}));
}

}  // namespace
}  // namespace ballast::bgp
