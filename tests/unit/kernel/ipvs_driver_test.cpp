// tests/unit/kernel/ipvs_driver_test.cpp — the IPVS driver's conversions without a kernel:
// normalize(), and KernelState ⇄ IPVS service/destination both ways.
#include "kernel/ipvs_driver.h"

#include <gtest/gtest.h>

namespace ballast::kernel {
namespace {

net::SocketAddress addr(const char* text) { return *net::SocketAddress::parse(text, true); }

ServiceState web() {
  ServiceState s;
  s.name = "web";
  s.vip = addr("198.18.0.10");
  s.ports = {80, 443};
  s.scheduler = config::KernelScheduler::kHash;
  s.forwarding = config::KernelForwarding::kNat;
  s.snat = true;
  s.backends = {{addr("198.18.1.11:8080"), 1}, {addr("198.18.1.12"), 2}};
  return s;
}

IpvsDriver driver() { return IpvsDriver(nullptr, ""); }

TEST(IpvsDriverTest, NormalizeSplitsPortsAndDropsWhatIpvsCannotHold) {
  KernelState st;
  st.services = {web()};
  driver().normalize(st);
  ASSERT_EQ(st.services.size(), 2U);
  const ServiceState& s80 = st.services[0];
  EXPECT_EQ(s80.identity(), "198.18.0.10:443/tcp");  // sorted by identity
  EXPECT_TRUE(s80.name.empty());
  EXPECT_FALSE(s80.snat);
  EXPECT_EQ(s80.scheduler, config::KernelScheduler::kSh);
  ASSERT_EQ(s80.backends.size(), 2U);
  EXPECT_EQ(s80.backends[0].address.toString(), "198.18.1.11:8080");  // NAT keeps its port
  EXPECT_EQ(s80.backends[1].address.toString(), "198.18.1.12:443");   // no port: the service's
  EXPECT_EQ(st.services[1].identity(), "198.18.0.10:80/tcp");
}

TEST(IpvsDriverTest, NormalizePutsDirectRoutingOnTheServicePort) {
  KernelState st;
  ServiceState s = web();
  s.ports = {80};
  s.forwarding = config::KernelForwarding::kDr;
  s.backends = {{addr("198.18.0.11:8080"), 1}, {addr("198.18.0.11:9090"), 1}};
  st.services = {s};
  driver().normalize(st);
  ASSERT_EQ(st.services[0].backends.size(), 1U);  // same real server twice is one destination
  EXPECT_EQ(st.services[0].backends[0].address.toString(), "198.18.0.11:80");

  s.backends.clear();
  st.services = {s};
  driver().normalize(st);
  EXPECT_EQ(st.services[0].forwarding, config::KernelForwarding::kNat);  // as read() sees it
}

TEST(IpvsDriverTest, ServiceAndDestsRoundTrip) {
  for (auto fwd : {config::KernelForwarding::kNat, config::KernelForwarding::kDr,
                   config::KernelForwarding::kTunnel}) {
    KernelState st;
    ServiceState s = web();
    s.forwarding = fwd;
    s.persistence_s = 300;
    s.protocol = config::KernelProtocol::kUdp;
    s.backends.push_back({addr("198.18.1.13:8080"), 0});
    st.services = {s};
    driver().normalize(st);
    const ServiceState& want = st.services[0];

    const IpvsService svc = IpvsDriver::toService(want);
    EXPECT_EQ(svc.protocol, IPPROTO_UDP);
    EXPECT_EQ(svc.scheduler, "sh");
    EXPECT_TRUE(svc.persistent());
    EXPECT_EQ(svc.timeout_s, 300U);
    std::vector<IpvsDest> dests;
    for (const auto& b : want.backends) {
      dests.push_back(IpvsDriver::toDest(want, b));
    }
    auto back = IpvsDriver::toState(svc, dests);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, want) << toJson(*back).dump() << " vs " << toJson(want).dump();
  }
}

TEST(IpvsDriverTest, WhatBallastCannotExpressIsNotIntact) {
  IpvsService svc;
  svc.address = addr("198.18.0.10:80");
  svc.scheduler = "wrr";
  IpvsDest d;
  d.address = addr("198.18.1.11:80");
  auto ok = IpvsDriver::toState(svc, {d});
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->intact);

  svc.scheduler = "dh";  // set by hand with ipvsadm -E
  EXPECT_FALSE(IpvsDriver::toState(svc, {d})->intact);
  svc.scheduler = "wrr";
  svc.flags = IP_VS_SVC_F_ONEPACKET;
  EXPECT_FALSE(IpvsDriver::toState(svc, {d})->intact);
  svc.flags = 0;
  IpvsDest dr = d;
  dr.address = addr("198.18.1.12:80");
  dr.forward = IpvsForward::kDirectRoute;
  EXPECT_FALSE(IpvsDriver::toState(svc, {d, dr})->intact);  // mixed forwarding
  d.upper_threshold = 10;
  EXPECT_FALSE(IpvsDriver::toState(svc, {d})->intact);
}

TEST(IpvsDriverTest, MaglevGetsFallbackSoThatWeightZeroDoesNotDrop) {
  ServiceState s = web();
  s.scheduler = config::KernelScheduler::kMh;
  s.backends = {{addr("198.18.1.11:80"), 1}};
  IpvsService svc = IpvsDriver::toService(s);
  EXPECT_EQ(svc.scheduler, "mh");
  EXPECT_EQ(svc.flags, kIpvsMhFallback);
  const std::vector<IpvsDest> dests = {IpvsDriver::toDest(s, s.backends[0])};
  EXPECT_TRUE(IpvsDriver::toState(svc, dests)->intact);

  svc.flags = 0;  // made before Ballast set the flag, or by hand: rewritten
  EXPECT_FALSE(IpvsDriver::toState(svc, dests)->intact);
  svc.flags = kIpvsMhFallback | kIpvsMhPort;
  EXPECT_FALSE(IpvsDriver::toState(svc, dests)->intact);
  svc.scheduler = "wrr";
  svc.flags = kIpvsMhFallback;  // the same bit means nothing Ballast sets for wrr
  EXPECT_FALSE(IpvsDriver::toState(svc, dests)->intact);
}

TEST(IpvsDriverTest, ServicesBallastNeverMakesAreNotRead) {
  IpvsService mark;
  mark.fwmark = 7;
  EXPECT_FALSE(IpvsDriver::toState(mark, {}));
  IpvsService sctp;
  sctp.protocol = IPPROTO_SCTP;
  sctp.address = addr("198.18.0.10:80");
  EXPECT_FALSE(IpvsDriver::toState(sctp, {}));
}

}  // namespace
}  // namespace ballast::kernel
