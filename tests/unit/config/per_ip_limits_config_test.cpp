// tests/unit/config/per_ip_limits_config_test.cpp — a listener's per-IP limits under `limits:`:
// every key read back, the burst's default, and refusals at file:line:column.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

LoadResult load(std::string_view protocol, std::string_view limits) {
  const std::string yaml = "listeners:\n  - name: web\n    bind: \"127.0.0.1:8080\"\n" +
                           std::string("    protocol: ") + std::string(protocol) +
                           "\n    pool: app\n    limits: " + std::string(limits) +
                           "\npools:\n  - {name: app, backends: [{address: \"127.0.0.1:9001\"}]}\n";
  return loadConfigText(yaml, "p.yaml");
}

std::string firstError(const LoadResult& r) { return r.errors.empty() ? "" : r.errors[0].format(); }

TEST(PerIpLimitsConfig, EveryKeyIsRead) {
  const auto r = load("tcp",
                      "{max_connections_per_ip: 10, connection_rate_per_ip: 600/m, "
                      "connection_burst_per_ip: 30, per_ip_prefix: {ipv4: 24, ipv6: 48}}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const auto& l = r.config->listeners[0].limits;
  EXPECT_TRUE(l.perIpLimited());
  EXPECT_EQ(l.max_connections_per_ip, 10U);
  EXPECT_EQ(l.connection_rate_per_ip, 600U);
  EXPECT_EQ(l.connection_rate_period_s, 60U);
  EXPECT_EQ(l.connection_burst_per_ip, 30U);
  EXPECT_EQ(l.per_ip_ipv4_prefix, 24);
  EXPECT_EQ(l.per_ip_ipv6_prefix, 48);
}

TEST(PerIpLimitsConfig, TheBurstDefaultsToTheRatesCountAndOffIsTheDefault) {
  auto r = load("http", "{connection_rate_per_ip: 20/s}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_EQ(r.config->listeners[0].limits.connection_burst_per_ip, 20U);
  EXPECT_EQ(r.config->listeners[0].limits.max_connections_per_ip, 0U);
  r = load("http", "{max_connections: 100}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_FALSE(r.config->listeners[0].limits.perIpLimited());
}

TEST(PerIpLimitsConfig, RefusalsNameTheLineAndColumn) {
  EXPECT_EQ(firstError(load("udp", "{max_connections_per_ip: 5}")),
            "p.yaml:6:14: limits: per-IP connection limits apply to tcp, tls_passthrough, http and "
            "https listeners, not udp");
  EXPECT_EQ(firstError(load("tcp", "{connection_burst_per_ip: 5}")),
            "p.yaml:6:14: connection_burst_per_ip: needs connection_rate_per_ip");
  EXPECT_NE(firstError(load("tcp", "{connection_rate_per_ip: fast}")).find("p.yaml:6:38:"),
            std::string::npos);
  EXPECT_NE(firstError(load("tcp", "{per_ip_prefix: {ipv4: 33}}")).find("p.yaml:6:36:"),
            std::string::npos);
}

}  // namespace
}  // namespace ballast::config
