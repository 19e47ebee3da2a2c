// tests/unit/config/kernel_sections_test.cpp — the kernel: and virtual_services: schema, with
// every error asserted at its line:column.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

LoadResult load(std::string_view yaml) { return loadConfigText(yaml, "k.yaml"); }

std::string errorsOf(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += e.format() + "\n";
  }
  return out;
}

void expectOnlyError(std::string_view yaml, const std::string& expected) {
  const LoadResult r = load(yaml);
  EXPECT_EQ(r.config, nullptr);
  ASSERT_EQ(r.errors.size(), 1U) << errorsOf(r);
  EXPECT_EQ(r.errors[0].format().substr(0, expected.size()), expected) << errorsOf(r);
}

TEST(KernelSectionsTest, FullServiceIsRead) {
  const LoadResult r = load(R"(kernel:
  driver: nftables
  reconcile_interval: 2s
  vip_gate: {addresses: [198.18.0.10], on_standby: keep}
virtual_services:
  - name: web
    vip: 198.18.0.10
    ports: [80, 443]
    protocol: tcp
    scheduler: hash
    snat: true
    backends:
      - {address: 198.18.2.1, weight: 3}
      - {address: 198.18.2.2}
    health_check: {type: tcp, interval: 500ms, fall: 2}
  - name: dns
    vip: 198.18.0.10
    port: 53
    protocol: udp
    backends: [{address: "198.18.2.3:5353"}, {address: 198.18.2.4, port: 5353, weight: 0}]
)");
  ASSERT_TRUE(r.errors.empty()) << errorsOf(r);
  const Config& c = *r.config;
  EXPECT_TRUE(c.kernel.present);
  EXPECT_EQ(c.kernel.driver, KernelDriver::kNftables);
  EXPECT_EQ(c.kernel.reconcile_interval, std::chrono::seconds(2));
  ASSERT_EQ(c.kernel.vip_gate.addresses.size(), 1U);
  EXPECT_EQ(c.kernel.vip_gate.addresses[0].hostString(), "198.18.0.10");
  EXPECT_EQ(c.kernel.vip_gate.on_standby, OnStandby::kKeep);
  ASSERT_EQ(c.virtual_services.size(), 2U);
  const VirtualService& web = c.virtual_services[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.ports, (std::vector<uint16_t>{80, 443}));
  EXPECT_EQ(web.scheduler, KernelScheduler::kHash);
  EXPECT_TRUE(web.snat);
  ASSERT_EQ(web.backends.size(), 2U);
  EXPECT_EQ(web.backends[0].weight, 3U);
  EXPECT_EQ(web.backends[1].address.port(), 0);
  ASSERT_NE(web.health_check, nullptr);
  EXPECT_EQ(web.health_check->type, HealthCheckType::kTcp);
  EXPECT_EQ(web.health_check->fall, 2U);
  EXPECT_EQ(web.source, "k.yaml:6");
  const VirtualService& dns = c.virtual_services[1];
  EXPECT_EQ(dns.protocol, KernelProtocol::kUdp);
  EXPECT_EQ(dns.backends[0].address.toString(), "198.18.2.3:5353");
  EXPECT_EQ(dns.backends[1].address.toString(), "198.18.2.4:5353");
  EXPECT_EQ(dns.backends[1].weight, 0U);
  EXPECT_EQ(dns.health_check->type, HealthCheckType::kNone);
}

TEST(KernelSectionsTest, DefaultsWithoutKernelSection) {
  const LoadResult r = load(R"(virtual_services:
  - {name: a, vip: 198.18.0.1, port: 80, backends: [{address: 198.18.2.1}]}
)");
  ASSERT_TRUE(r.errors.empty()) << errorsOf(r);
  EXPECT_FALSE(r.config->kernel.present);
  EXPECT_EQ(r.config->kernel.driver, KernelDriver::kNftables);
  EXPECT_EQ(r.config->kernel.reconcile_interval, std::chrono::seconds(5));
  EXPECT_EQ(r.config->virtual_services[0].scheduler, KernelScheduler::kWrr);
}

TEST(KernelSectionsTest, IpvsOnlySchedulerNeedsIpvs) {
  expectOnlyError(R"(virtual_services:
  - {name: a, vip: 198.18.0.1, port: 80, scheduler: wlc, backends: [{address: 198.18.2.1}]}
)",
                  "k.yaml:2:53: scheduler: \"wlc\" needs driver ipvs");
}

TEST(KernelSectionsTest, IpvsAcceptsDrAndPersistence) {
  const LoadResult r = load(R"(kernel: {driver: ipvs}
virtual_services:
  - name: a
    vip: 198.18.0.1
    port: 80
    scheduler: wlc
    forwarding: dr
    persistence: 300s
    backends: [{address: 198.18.2.1}]
)");
  ASSERT_TRUE(r.errors.empty()) << errorsOf(r);
  EXPECT_EQ(r.config->virtual_services[0].forwarding, KernelForwarding::kDr);
  EXPECT_EQ(r.config->virtual_services[0].persistence, std::chrono::seconds(300));
}

TEST(KernelSectionsTest, DrNeedsIpvs) {
  expectOnlyError(R"(virtual_services:
  - name: a
    vip: 198.18.0.1
    port: 80
    forwarding: dr
    backends: [{address: 198.18.2.1}]
)",
                  "k.yaml:5:17: forwarding: \"dr\" needs driver ipvs");
}

TEST(KernelSectionsTest, PersistenceNeedsIpvs) {
  expectOnlyError(R"(virtual_services:
  - name: a
    vip: 198.18.0.1
    port: 80
    persistence: 60s
    backends: [{address: 198.18.2.1}]
)",
                  "k.yaml:5:5: persistence: only for driver ipvs");
}

// Only the one error: b, on a's VIP and backend port without snat, is not told to agree with a
// snat that cannot be.
TEST(KernelSectionsTest, SnatOnlyForNftables) {
  expectOnlyError(R"(kernel: {driver: ipvs}
virtual_services:
  - {name: a, vip: 198.18.0.1, port: 80, snat: true, backends: [{address: 198.18.2.1}]}
  - {name: b, vip: 198.18.0.1, port: 81, backends: [{address: 198.18.2.1, port: 80}]}
)",
                  "k.yaml:3:42: snat: only for driver nftables");
}

// nftables masquerades by VIP and backend: two services on one VIP that reach one backend port
// must agree on snat; other VIPs, other backend ports and the other protocol may differ.
TEST(KernelSectionsTest, ServicesSharingAVipAndBackendPortAgreeOnSnat) {
  expectOnlyError(R"(virtual_services:
  - {name: a, vip: 198.18.0.1, port: 80, snat: true, backends: [{address: 198.18.2.1, port: 8080}]}
  - {name: b, vip: 198.18.0.2, port: 80, backends: [{address: 198.18.2.1, port: 8080}]}
  - {name: c, vip: 198.18.0.1, port: 81, backends: [{address: 198.18.2.1, port: 8081}]}
  - {name: d, vip: 198.18.0.1, port: 80, protocol: udp, backends: [{address: 198.18.2.1, port: 8080}]}
  - {name: e, vip: 198.18.0.1, ports: [8080, 82], snat: false, backends: [{address: 198.18.2.1}]}
)",
                  "k.yaml:6:51: snat: virtual service \"e\" and \"a\" (k.yaml:2) share VIP "
                  "198.18.0.1 and backend 198.18.2.1:8080 but not snat; masquerade is chosen per "
                  "VIP and backend, so they must agree");
}

TEST(KernelSectionsTest, DuplicateNameAndVipPort) {
  const LoadResult r = load(R"(virtual_services:
  - {name: a, vip: 198.18.0.1, port: 80, backends: [{address: 198.18.2.1}]}
  - {name: a, vip: 198.18.0.2, port: 80, backends: [{address: 198.18.2.1}]}
  - {name: b, vip: 198.18.0.1, ports: [81, 80], backends: [{address: 198.18.2.1}]}
  - {name: c, vip: 198.18.0.1, port: 80, protocol: udp, backends: [{address: 198.18.2.1}]}
)");
  ASSERT_EQ(r.errors.size(), 2U) << errorsOf(r);
  EXPECT_EQ(r.errors[0].format(),
            "k.yaml:3:12: name: duplicate virtual service \"a\" (first defined at k.yaml:2)");
  EXPECT_EQ(r.errors[1].format(),
            "k.yaml:4:20: vip: 198.18.0.1:80/tcp is already served by virtual service \"a\" "
            "(k.yaml:2)");
}

TEST(KernelSectionsTest, WeightRangeAndBackendChecks) {
  const LoadResult r = load(R"(virtual_services:
  - name: a
    vip: 198.18.0.1
    port: 80
    backends:
      - {address: 198.18.2.1, weight: 1001}
      - {address: "2001:db8::1"}
      - {address: "198.18.2.2:80", port: 81}
      - {address: 198.18.2.3}
      - {address: 198.18.2.3}
)");
  ASSERT_EQ(r.errors.size(), 4U) << errorsOf(r);
  EXPECT_EQ(r.errors[0].format().substr(0, 21), "k.yaml:6:39: weight: ");
  EXPECT_EQ(r.errors[1].format(),
            "k.yaml:7:19: address: backend [2001:db8::1]:0 is not of the VIP's address family "
            "(198.18.0.1)");
  EXPECT_EQ(r.errors[2].format(), "k.yaml:8:36: port: the address already has a port (80)");
  EXPECT_EQ(r.errors[3].format().substr(0, 60),
            "k.yaml:10:19: address: duplicate backend 198.18.2.3:0 in vir");
}

TEST(KernelSectionsTest, PortsAndVipShape) {
  const LoadResult r = load(R"(virtual_services:
  - {name: a, vip: "198.18.0.1:80", port: 80, backends: [{address: 198.18.2.1}]}
  - {name: b, vip: 198.18.0.2, backends: [{address: 198.18.2.1}]}
  - {name: c, vip: 198.18.0.3, port: 80, ports: [81], backends: [{address: 198.18.2.1}]}
  - {name: d, vip: 198.18.0.4, ports: [81, 81], backends: [{address: 198.18.2.1}]}
  - {name: e, vip: 198.18.0.5, port: 0, backends: []}
)");
  ASSERT_EQ(r.errors.size(), 6U) << errorsOf(r);
  EXPECT_EQ(r.errors[0].format(),
            "k.yaml:2:20: vip: expected an IP address without a port, got \"198.18.0.1:80\"");
  EXPECT_EQ(r.errors[1].format(), "k.yaml:3:5: virtual service \"b\" needs \"port\" or \"ports\"");
  EXPECT_EQ(r.errors[2].format(), "k.yaml:4:42: ports: give either port or ports, not both");
  EXPECT_EQ(r.errors[3].format(), "k.yaml:5:44: ports: port 81 is listed twice");
  EXPECT_EQ(r.errors[4].format().substr(0, 19), "k.yaml:6:38: port: ");
  EXPECT_EQ(r.errors[5].format(), "k.yaml:6:51: virtual service \"e\" has no backends");
}

TEST(KernelSectionsTest, KernelKeysAreChecked) {
  const LoadResult r = load(R"(kernel:
  driver: xdp
  reconcile_interval: 10ms
  vip_gate: {addresses: [198.18.0.1, 198.18.0.1], on_standby: drop}
  extra: 1
)");
  ASSERT_EQ(r.errors.size(), 5U) << errorsOf(r);
  EXPECT_EQ(r.errors[0].format(),
            "k.yaml:2:11: driver: expected one of nftables, ipvs, got \"xdp\"");
  EXPECT_EQ(r.errors[1].format(),
            "k.yaml:3:23: reconcile_interval: expected 100ms to 1h, got 10ms");
  EXPECT_EQ(r.errors[2].format(), "k.yaml:4:38: addresses: 198.18.0.1 is listed twice");
  EXPECT_EQ(r.errors[3].format(),
            "k.yaml:4:63: on_standby: expected one of remove, keep, got \"drop\"");
  EXPECT_EQ(r.errors[4].format().substr(0, 22), "k.yaml:5:3: unknown ke");
}

TEST(KernelSectionsTest, HealthCheckErrorsAtTheirPosition) {
  expectOnlyError(R"(virtual_services:
  - name: a
    vip: 198.18.0.1
    port: 80
    backends: [{address: 198.18.2.1}]
    health_check: {type: tcp, interval: 1s, timeout: 2s}
)",
                  "k.yaml:6:54: timeout: health check timeout 2s must not exceed interval 1s");
}

TEST(KernelSectionsTest, NftablesMixedPortsWithSeveralPorts) {
  expectOnlyError(R"(virtual_services:
  - name: a
    vip: 198.18.0.1
    ports: [80, 443]
    backends: [{address: 198.18.2.1}, {address: "198.18.2.2:8080"}]
)",
                  "k.yaml:5:5: backends: with several ports, nftables needs every backend");
}

}  // namespace
}  // namespace ballast::config
