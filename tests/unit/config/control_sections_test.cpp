// tests/unit/config/control_sections_test.cpp — the control plane's hardening keys (#21): admin
// and metrics limits and timeouts, JWT audience and issuer, the log's repeat limit; their
// defaults and their bounds.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

using std::chrono::milliseconds;

LoadResult load(std::string_view yaml) { return loadConfigText(yaml, "t.yaml"); }

TEST(ControlSectionsTest, DefaultsAreTheNamedConstants) {
  const auto r = load("admin: {socket: \"\"}\n");
  ASSERT_TRUE(r.errors.empty());
  const auto& a = r.config->admin;
  EXPECT_EQ(a.limits.max_connections, kDefaultAdminMaxConnections);
  EXPECT_EQ(a.limits.max_connections_per_peer, kDefaultAdminMaxConnectionsPerPeer);
  EXPECT_EQ(a.limits.unix_connections, kDefaultAdminUnixConnections);
  EXPECT_EQ(a.limits.max_event_streams, kDefaultAdminMaxEventStreams);
  EXPECT_EQ(a.timeouts.header, milliseconds(kDefaultControlHeaderTimeoutMs));
  EXPECT_EQ(a.timeouts.idle, milliseconds(kDefaultControlIdleTimeoutMs));
  EXPECT_EQ(a.timeouts.handshake, milliseconds(kDefaultAdminHandshakeTimeoutMs));
  EXPECT_EQ(r.config->metrics.limits.max_connections, kDefaultMetricsMaxConnections);
  EXPECT_EQ(r.config->metrics.limits.max_connections_per_peer,
            kDefaultMetricsMaxConnectionsPerPeer);
  EXPECT_EQ(r.config->logging.repeat_burst, kDefaultLogRepeatBurst);
  EXPECT_EQ(r.config->logging.repeat_interval, milliseconds(kDefaultLogRepeatIntervalMs));
  EXPECT_TRUE(a.auth.audience.empty());
  EXPECT_TRUE(a.auth.issuer.empty());
}

TEST(ControlSectionsTest, EveryKeyIsRead) {
  const auto r = load(R"(logging: {repeat_burst: 3, repeat_interval: 2s}
admin:
  limits: {max_connections: 10, max_connections_per_peer: 2, unix_connections: 4,
           max_event_streams: 0}
  timeouts: {header: 5s, idle: 30s, handshake: 3s}
  auth: {audience: ballast, issuer: "https://idp.example"}
metrics:
  bind: "127.0.0.1:9100"
  limits: {max_connections: 6, max_connections_per_peer: 3}
  timeouts: {header: 2s, idle: 4s}
)");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].format();
  const auto& c = *r.config;
  EXPECT_EQ(c.logging.repeat_burst, 3U);
  EXPECT_EQ(c.logging.repeat_interval, milliseconds(2000));
  EXPECT_EQ(c.admin.limits.max_connections, 10U);
  EXPECT_EQ(c.admin.limits.max_connections_per_peer, 2U);
  EXPECT_EQ(c.admin.limits.unix_connections, 4U);
  EXPECT_EQ(c.admin.limits.max_event_streams, 0U);
  EXPECT_EQ(c.admin.timeouts.header, milliseconds(5000));
  EXPECT_EQ(c.admin.timeouts.idle, milliseconds(30000));
  EXPECT_EQ(c.admin.timeouts.handshake, milliseconds(3000));
  EXPECT_EQ(c.admin.auth.audience, "ballast");
  EXPECT_EQ(c.admin.auth.issuer, "https://idp.example");
  EXPECT_EQ(c.metrics.limits.max_connections, 6U);
  EXPECT_EQ(c.metrics.limits.max_connections_per_peer, 3U);
  EXPECT_EQ(c.metrics.timeouts.header, milliseconds(2000));
  EXPECT_EQ(c.metrics.timeouts.idle, milliseconds(4000));
}

TEST(ControlSectionsTest, RefusedValues) {
  const auto error = [](std::string_view yaml) {
    const auto r = load(yaml);
    return r.errors.empty() ? std::string() : r.errors[0].format();
  };
  EXPECT_NE(error("admin: {limits: {max_connections: 0}}\n").find("max_connections"),
            std::string::npos);
  EXPECT_NE(error("admin: {timeouts: {header: 0s}}\n").find("header"), std::string::npos);
  // metrics has no unix socket, event streams or TLS.
  EXPECT_NE(error("metrics: {limits: {unix_connections: 2}}\n").find("unknown key"),
            std::string::npos);
  EXPECT_NE(error("metrics: {timeouts: {handshake: 2s}}\n").find("unknown key"), std::string::npos);
  EXPECT_NE(error("logging: {repeat_burst: 0}\n").find("repeat_burst"), std::string::npos);
}

}  // namespace
}  // namespace ballast::config
