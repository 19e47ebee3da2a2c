// tests/unit/config/http_health_check_test.cpp — `health_check: {type: http, …}`: every field
// read back, and each rule's exact "file:line:col: message".
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

LoadResult load(std::string_view health_check) {
  const std::string yaml = std::string(R"(pools:
  - name: app
    backends:
      - {address: "127.0.0.1:9001"}
    health_check: )") + std::string(health_check) +
                           "\n";
  return loadConfigText(yaml, "hc.yaml");
}

std::string firstError(const LoadResult& r) { return r.errors.empty() ? "" : r.errors[0].format(); }

TEST(HttpHealthCheckConfig, EveryFieldIsRead) {
  const auto r = load(
      "{type: http, path: /healthz, method: HEAD, host: svc.test, expect_status: 200-204, "
      "expect_body: ready}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const auto& hc = r.config->pools[0].health_check;
  EXPECT_EQ(hc.type, HealthCheckType::kHttp);
  EXPECT_EQ(hc.path, "/healthz");
  EXPECT_EQ(hc.method, "HEAD");
  EXPECT_EQ(hc.host, "svc.test");
  EXPECT_EQ(hc.expect_status_min, 200);
  EXPECT_EQ(hc.expect_status_max, 204);
  EXPECT_EQ(hc.expect_body, "ready");
}

TEST(HttpHealthCheckConfig, DefaultsAreGetSlashAnd200To399) {
  const auto r = load("{type: http}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const auto& hc = r.config->pools[0].health_check;
  EXPECT_EQ(hc.method, "GET");
  EXPECT_EQ(hc.path, "/");
  EXPECT_EQ(hc.expect_status_min, 200);
  EXPECT_EQ(hc.expect_status_max, 399);
  EXPECT_TRUE(hc.expect_body.empty());
}

TEST(HttpHealthCheckConfig, SingleStatusIsARangeOfOne) {
  const auto r = load("{type: http, expect_status: 204}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_EQ(r.config->pools[0].health_check.expect_status_min, 204);
  EXPECT_EQ(r.config->pools[0].health_check.expect_status_max, 204);
}

TEST(HttpHealthCheckConfig, HttpKeysOnATcpCheckAreErrors) {
  EXPECT_EQ(firstError(load("{type: tcp, path: /x}")),
            "hc.yaml:5:31: path: only for health_check type http, not tcp");
}

TEST(HttpHealthCheckConfig, PathMustBeOriginForm) {
  EXPECT_EQ(firstError(load("{type: http, path: healthz}")),
            "hc.yaml:5:38: path: expected an origin-form path such as /healthz, got \"healthz\"");
}

TEST(HttpHealthCheckConfig, MethodMustBeUppercaseLetters) {
  EXPECT_EQ(firstError(load("{type: http, method: get}")),
            "hc.yaml:5:40: method: expected an uppercase method such as GET, got \"get\"");
}

TEST(HttpHealthCheckConfig, StatusRangeMustBeOrderedAndValid) {
  for (const char* bad : {"299-200", "600", "20", "200-", "2xx", "200-399x"}) {
    const auto r = load(std::string("{type: http, expect_status: \"") + bad + "\"}");
    ASSERT_FALSE(r.errors.empty()) << bad;
    EXPECT_NE(r.errors[0].message.find("expect_status: expected a status or range"),
              std::string::npos)
        << bad << ": " << r.errors[0].message;
  }
}

}  // namespace
}  // namespace ballast::config

namespace ballast::config {
namespace {

LoadResult loadKeepalive(std::string_view keepalive) {
  const std::string yaml = std::string(R"(pools:
  - name: app
    backends:
      - {address: "127.0.0.1:9001"}
    keepalive: )") + std::string(keepalive) +
                           "\n";
  return loadConfigText(yaml, "ka.yaml");
}

TEST(UpstreamKeepaliveConfig, FieldsAreReadAndDefaultsHold) {
  const auto defaults = loadKeepalive("{}");
  ASSERT_TRUE(defaults.errors.empty()) << firstError(defaults);
  EXPECT_EQ(defaults.config->pools[0].keepalive.max_idle, 64U);
  EXPECT_EQ(defaults.config->pools[0].keepalive.max_requests, 1000U);
  const auto r = loadKeepalive("{max_idle: 0, idle_timeout: 30s, max_requests: 5}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const auto& k = r.config->pools[0].keepalive;
  EXPECT_EQ(k.max_idle, 0U);
  EXPECT_EQ(k.idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(k.max_requests, 5U);
}

TEST(UpstreamKeepaliveConfig, BoundsAndUnknownKeysAreErrors) {
  EXPECT_NE(firstError(loadKeepalive("{max_requests: 0}")).find("ka.yaml:5:31: max_requests"),
            std::string::npos)
      << firstError(loadKeepalive("{max_requests: 0}"));
  EXPECT_NE(firstError(loadKeepalive("{idle: 3s}")).find("ka.yaml:5:17: unknown key \"idle\""),
            std::string::npos)
      << firstError(loadKeepalive("{idle: 3s}"));
}

}  // namespace
}  // namespace ballast::config
