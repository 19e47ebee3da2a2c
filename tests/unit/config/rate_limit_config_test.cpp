// tests/unit/config/rate_limit_config_test.cpp — `rate_limit:` of listeners and routes: one rule
// or a list, keys and tuples, rates per second/minute/hour, defaults, names and ids, and errors
// at file:line:column.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "config/rate_limit_sections.h"

namespace ballast::config {
namespace {

TEST(RateLimitConfigTest, ListenerAndRouteRules) {
  const LoadResult r = loadConfigText(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    rate_limit: {key: source_ip, rate: 100/s, burst: 200, ipv6_prefix: 56}
    routes:
      - name: api
        match: {path: {prefix: /api}}
        pool: app
        rate_limit:
          - {name: per-key, key: [header:X-Api-Key, path], rate: 600/m, mode: dry_run}
          - {key: "cookie:session", rate: 10/h}
pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
)",
                                      "a.yaml");
  ASSERT_NE(r.config, nullptr) << (r.errors.empty() ? "" : r.errors[0].format());
  const auto& l = r.config->listeners[0];
  ASSERT_EQ(l.http.rate_limits.size(), 1U);
  const auto& top = l.http.rate_limits[0];
  EXPECT_EQ(top.name, "web#1");
  EXPECT_EQ(top.rate, 100U);
  EXPECT_EQ(top.period_s, 1U);
  EXPECT_EQ(top.burst, 200U);
  EXPECT_EQ(top.ipv6_prefix, 56);
  EXPECT_FALSE(top.dry_run);
  ASSERT_EQ(top.key.size(), 1U);
  EXPECT_EQ(top.key[0].kind, RateKeyKind::kSourceIp);
  const auto& rules = l.http.routes[0].rate_limits;
  ASSERT_EQ(rules.size(), 2U);
  EXPECT_EQ(rules[0].name, "per-key");
  EXPECT_TRUE(rules[0].dry_run);
  EXPECT_EQ(rules[0].period_s, 60U);
  EXPECT_EQ(rules[0].burst, 600U);  // defaults to the rate
  ASSERT_EQ(rules[0].key.size(), 2U);
  EXPECT_EQ(rules[0].key[0].kind, RateKeyKind::kHeader);
  EXPECT_EQ(rules[0].key[0].name, "x-api-key");
  EXPECT_EQ(rules[0].key[1].kind, RateKeyKind::kPath);
  EXPECT_EQ(rules[1].name, "web/api#2");
  EXPECT_EQ(rules[1].key[0].kind, RateKeyKind::kCookie);
  EXPECT_EQ(rules[1].period_s, 3600U);
  EXPECT_NE(top.id, rules[0].id);
  EXPECT_NE(rules[0].id, rules[1].id);
}

TEST(RateLimitConfigTest, JwtClaimKey) {
  const LoadResult r = loadConfigText(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    rate_limit: {key: [jwt_claim:sub, path], rate: 10/s}
pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
)",
                                      "a.yaml");
  ASSERT_NE(r.config, nullptr) << (r.errors.empty() ? "" : r.errors[0].format());
  const auto& rule = r.config->listeners[0].http.rate_limits[0];
  ASSERT_EQ(rule.key.size(), 2U);
  EXPECT_EQ(rule.key[0].kind, RateKeyKind::kJwtClaim);
  EXPECT_EQ(rule.key[0].name, "sub");
  EXPECT_TRUE(rule.keyedOnClaim());
}

TEST(RateLimitConfigTest, ErrorsNameTheirPosition) {
  const LoadResult r = loadConfigText(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    rate_limit:
      - {key: source_ip, rate: 100/d}
      - {key: "jwt_claim:", rate: 1/s}
      - {key: "header:", rate: 1/s, mode: maybe}
      - {key: path}
pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
)",
                                      "a.yaml");
  ASSERT_EQ(r.config, nullptr);
  ASSERT_EQ(r.errors.size(), 5U);
  EXPECT_EQ(r.errors[0].format(),
            "a.yaml:7:32: rate: expected a rate such as 100/s, 6000/m or 10/h, got \"100/d\"");
  EXPECT_EQ(r.errors[1].format(),
            "a.yaml:8:15: key: expected source_ip, path, header:NAME, cookie:NAME or "
            "jwt_claim:NAME, got \"jwt_claim:\"");
  EXPECT_NE(r.errors[2].message.find("header:NAME"), std::string::npos);
  EXPECT_NE(r.errors[3].message.find("enforce, dry_run"), std::string::npos);
  EXPECT_NE(r.errors[4].message.find("missing required key \"rate\""), std::string::npos);
}

TEST(RateLimitConfigTest, BucketMustRefillWithinDays) {
  const LoadResult r = loadConfigText(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    rate_limit: {key: source_ip, rate: 1/h, burst: 1000}
pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
)",
                                      "a.yaml");
  ASSERT_EQ(r.config, nullptr);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].format(),
            "a.yaml:6:17: rate_limit: burst 1000 at 1 per 3600 s takes more than 7 days to "
            "refill");
}

TEST(RateLimitConfigTest, TcpListenerIsToldItNeedsHttp) {
  const LoadResult r = loadConfigText(R"(listeners:
  - name: l4
    bind: "127.0.0.1:8080"
    pool: app
    rate_limit: {key: source_ip, rate: 1/s}
pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
)",
                                      "a.yaml");
  ASSERT_EQ(r.config, nullptr);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].message.find("rate_limit"), std::string::npos);
}

TEST(RateLimitConfigTest, RedisStoreAndFallback) {
  const LoadResult r = loadConfigText(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    rate_limit:
      - {key: source_ip, rate: 100/s, store: "redis://127.0.0.1:6379"}
      - {key: path, rate: 1/s, store: "redis://[::1]:7000", on_store_error: deny}
      - {key: path, rate: 2/s}
pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
)",
                                      "a.yaml");
  ASSERT_NE(r.config, nullptr) << (r.errors.empty() ? "" : r.errors[0].format());
  const auto& rules = r.config->listeners[0].http.rate_limits;
  ASSERT_EQ(rules.size(), 3U);
  EXPECT_TRUE(rules[0].store.enabled());
  EXPECT_EQ(rules[0].store.host, "127.0.0.1");
  EXPECT_EQ(rules[0].store.port, 6379);
  EXPECT_EQ(rules[0].store.url(), "redis://127.0.0.1:6379");
  EXPECT_EQ(rules[0].on_store_error, StoreFallback::kLocal);  // the default
  EXPECT_EQ(rules[1].store.host, "::1");
  EXPECT_EQ(rules[1].store.url(), "redis://[::1]:7000");
  EXPECT_EQ(rules[1].on_store_error, StoreFallback::kDeny);
  EXPECT_FALSE(rules[2].store.enabled());
}

TEST(RateLimitConfigTest, RedisStoreErrorsNameTheirPosition) {
  const LoadResult r = loadConfigText(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    rate_limit:
      - {key: source_ip, rate: 1/s, store: "http://127.0.0.1:6379"}
      - {key: source_ip, rate: 1/s, store: "redis://127.0.0.1:0"}
      - {key: source_ip, rate: 1/s, on_store_error: allow}
      - {key: source_ip, rate: 1/s, store: "redis://h:1", on_store_error: maybe}
pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
)",
                                      "a.yaml");
  ASSERT_EQ(r.config, nullptr);
  ASSERT_EQ(r.errors.size(), 4U);
  EXPECT_EQ(r.errors[0].format(),
            "a.yaml:7:44: store: expected redis://HOST:PORT, got \"http://127.0.0.1:6379\"");
  EXPECT_EQ(r.errors[1].format(),
            "a.yaml:8:44: store: expected redis://HOST:PORT, got \"redis://127.0.0.1:0\"");
  EXPECT_EQ(r.errors[2].format(), "a.yaml:9:37: on_store_error: only with store:");
  EXPECT_NE(r.errors[3].message.find("allow, deny, local"), std::string::npos)
      << r.errors[3].format();
}

TEST(RateLimitConfigTest, RedisUrlParser) {
  EXPECT_TRUE(parseRedisUrl("redis://localhost:6379").has_value());
  EXPECT_TRUE(parseRedisUrl("redis://10.0.0.1:1").has_value());
  EXPECT_TRUE(parseRedisUrl("redis://[fe80::1]:65535").has_value());
  for (const char* bad :
       {"", "redis://", "redis://:6379", "redis://host", "redis://host:", "redis://host:65536",
        "redis://host:12x", "redis://user@host:1", "redis://host:1/0", "redis://[::1:1",
        "redis://[::1]", "redis://[]:1", "redis://[::1]x1", "redis://[::::]:1", "rediss://host:1",
        "redis://ho st:1", "redis://host:-1", "redis://host:+1"}) {
    EXPECT_FALSE(parseRedisUrl(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace ballast::config
