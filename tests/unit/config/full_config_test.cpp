// tests/unit/config/full_config_test.cpp — one file setting every field to a non-default
// value, read back field by field.
#include <gtest/gtest.h>

#include "config/loader.h"

namespace ballast::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::string_view kFull = R"(# every field, none at its default
workers: 8
io: io_uring
shutdown_timeout: 1m30s
logging:
  level: debug
  format: text
admin: {bind: "127.0.0.1:9900"}
listeners:
  - name: web
    bind: "0.0.0.0:8080"
    protocol: tcp
    pool: app
    timeouts: {connect: 750ms, idle: 2m}
    limits: {max_connections: 1000, max_flows: 2000, buffer_bytes: 128KiB}
    proxy_protocol: {send: v2, accept: true}
  - name: dns
    bind: "[::]:5353"
    protocol: udp
    pool: resolvers
    timeouts:
      connect: 1s
      idle: 30s
    limits:
      max_flows: 50000
      buffer_bytes: 1MB
    proxy_protocol:
      send: v1
      accept: false
pools:
  - name: app
    algorithm: consistent_hash
    hash_key: source_ip_port
    connect_retries: 5
    backends:
      - {address: "10.0.0.1:9001", weight: 10}
      - {address: "[2001:db8::2]:9001", weight: 0}
    health_check: {type: tcp, interval: 5s, timeout: 2s, rise: 4, fall: 6, jitter: 20%}
  - name: resolvers
    algorithm: weighted_round_robin
    hash_key: source_ip
    connect_retries: 0
    backends:
      - address: "192.0.2.53:53"
    health_check:
      type: none
      interval: 10s
      timeout: 10s
      rise: 1
      fall: 1
      jitter: 0
)";

TEST(FullConfigTest, EveryFieldIsRead) {
  const LoadResult r = loadConfigText(kFull, "full.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].format();
  ASSERT_NE(r.config, nullptr);
  const Config& c = *r.config;
  EXPECT_EQ(c.workers, 8U);
  EXPECT_EQ(c.io, IoBackend::kIoUring);
  EXPECT_EQ(c.shutdown_timeout, seconds(90));
  EXPECT_EQ(c.logging.level, LogLevel::kDebug);
  EXPECT_EQ(c.logging.format, LogFormat::kText);

  ASSERT_EQ(c.listeners.size(), 2U);
  const Listener& web = c.listeners[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.bind.toString(), "0.0.0.0:8080");
  EXPECT_EQ(web.protocol, Protocol::kTcp);
  EXPECT_EQ(web.pool, "app");
  EXPECT_EQ(web.timeouts.connect, milliseconds(750));
  EXPECT_EQ(web.timeouts.idle, minutes(2));
  EXPECT_EQ(web.limits.max_connections, 1000U);
  EXPECT_EQ(web.limits.max_flows, 2000U);
  EXPECT_EQ(web.limits.buffer_bytes, 128U * 1024U);
  EXPECT_EQ(web.proxy_protocol.send, ProxyProtocolVersion::kV2);
  EXPECT_TRUE(web.proxy_protocol.accept);

  const Listener& dns = c.listeners[1];
  EXPECT_EQ(dns.name, "dns");
  EXPECT_EQ(dns.bind.toString(), "[::]:5353");
  EXPECT_EQ(dns.protocol, Protocol::kUdp);
  EXPECT_EQ(dns.pool, "resolvers");
  EXPECT_EQ(dns.timeouts.connect, seconds(1));
  EXPECT_EQ(dns.timeouts.idle, seconds(30));
  EXPECT_EQ(dns.limits.max_connections, ListenerLimits{}.max_connections);
  EXPECT_EQ(dns.limits.max_flows, 50000U);
  EXPECT_EQ(dns.limits.buffer_bytes, 1000000U);
  EXPECT_EQ(dns.proxy_protocol.send, ProxyProtocolVersion::kV1);
  EXPECT_FALSE(dns.proxy_protocol.accept);

  ASSERT_EQ(c.pools.size(), 2U);
  const Pool& app = c.pools[0];
  EXPECT_EQ(app.name, "app");
  EXPECT_EQ(app.algorithm, balance::Algorithm::kConsistentHash);
  EXPECT_EQ(app.hash_key, HashKey::kSourceIpPort);
  EXPECT_EQ(app.connect_retries, 5U);
  ASSERT_EQ(app.backends.size(), 2U);
  EXPECT_EQ(app.backends[0].address.toString(), "10.0.0.1:9001");
  EXPECT_EQ(app.backends[0].weight, 10U);
  EXPECT_EQ(app.backends[1].address.toString(), "[2001:db8::2]:9001");
  EXPECT_EQ(app.backends[1].weight, 0U);
  EXPECT_EQ(app.health_check.type, HealthCheckType::kTcp);
  EXPECT_EQ(app.health_check.interval, seconds(5));
  EXPECT_EQ(app.health_check.timeout, seconds(2));
  EXPECT_EQ(app.health_check.rise, 4U);
  EXPECT_EQ(app.health_check.fall, 6U);
  EXPECT_DOUBLE_EQ(app.health_check.jitter, 0.2);

  const Pool& resolvers = c.pools[1];
  EXPECT_EQ(resolvers.name, "resolvers");
  EXPECT_EQ(resolvers.algorithm, balance::Algorithm::kWeightedRoundRobin);
  EXPECT_EQ(resolvers.hash_key, HashKey::kSourceIp);
  EXPECT_EQ(resolvers.connect_retries, 0U);
  ASSERT_EQ(resolvers.backends.size(), 1U);
  EXPECT_EQ(resolvers.backends[0].address.toString(), "192.0.2.53:53");
  EXPECT_EQ(resolvers.backends[0].weight, 1U);
  EXPECT_EQ(resolvers.health_check.type, HealthCheckType::kNone);
  EXPECT_EQ(resolvers.health_check.interval, seconds(10));
  EXPECT_EQ(resolvers.health_check.timeout, seconds(10));
  EXPECT_EQ(resolvers.health_check.rise, 1U);
  EXPECT_EQ(resolvers.health_check.fall, 1U);
  EXPECT_DOUBLE_EQ(resolvers.health_check.jitter, 0.0);

  EXPECT_EQ(c.findPool("resolvers"), &resolvers);
  EXPECT_EQ(c.findPool("missing"), nullptr);
}

TEST(FullConfigTest, LoadingTwiceGivesEqualResults) {
  const LoadResult a = loadConfigText(kFull, "full.yaml");
  const LoadResult b = loadConfigText(kFull, "full.yaml");
  ASSERT_NE(a.config, nullptr);
  ASSERT_NE(b.config, nullptr);
  EXPECT_NE(a.config, b.config);  // a fresh snapshot per load
  EXPECT_EQ(a.config->listeners[1].bind, b.config->listeners[1].bind);
}

}  // namespace
}  // namespace ballast::config
