// tests/unit/config/forward_auth_config_test.cpp — `forward_auth:` of listeners and routes: its
// fields and defaults, `off` on a route, `address:` made into a pool of its own with the index
// resolved, and errors at line:column.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

std::string configWith(const std::string& listener_auth, const std::string& route_auth) {
  return R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    forward_auth: )" +
         listener_auth + R"(
    routes:
      - name: open
        match: {path: /healthz}
        pool: app
        forward_auth: )" +
         route_auth + R"(
pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
  - {name: auth, backends: [{address: "127.0.0.1:9002"}]}
)";
}

TEST(ForwardAuthConfigTest, PoolFieldsAndRouteOff) {
  const LoadResult r = loadConfigText(
      configWith(
          "{pool: auth, path: \"/verify?x=1\", copy_request_headers: [Authorization, Cookie], "
          "copy_response_headers: [X-User], cache_ttl: 30s, timeout: 250ms}",
          "off"),
      "a.yaml");
  ASSERT_NE(r.config, nullptr) << (r.errors.empty() ? "" : r.errors[0].format());
  const ForwardAuth& a = r.config->listeners[0].http.forward_auth;
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.pool, "auth");
  EXPECT_EQ(a.pool_index, 1);
  EXPECT_EQ(a.path, "/verify?x=1");
  EXPECT_EQ(a.copy_request_headers, (std::vector<std::string>{"authorization", "cookie"}));
  EXPECT_EQ(a.copy_response_headers, (std::vector<std::string>{"x-user"}));
  EXPECT_EQ(a.cache_ttl, std::chrono::seconds(30));
  EXPECT_EQ(a.timeout, std::chrono::milliseconds(250));
  const auto& route = r.config->listeners[0].http.routes[0];
  ASSERT_TRUE(route.forward_auth.has_value());
  EXPECT_FALSE(route.forward_auth->enabled);
  EXPECT_EQ(r.config->pools.size(), 2U);  // no pool was made
}

TEST(ForwardAuthConfigTest, DefaultsAndAddressBecomesAPool) {
  const LoadResult r = loadConfigText(
      configWith("{address: \"127.0.0.1:9100\"}", "{address: \"127.0.0.1:9200\", path: /r}"),
      "a.yaml");
  ASSERT_NE(r.config, nullptr) << (r.errors.empty() ? "" : r.errors[0].format());
  const ForwardAuth& a = r.config->listeners[0].http.forward_auth;
  EXPECT_EQ(a.path, "/");
  EXPECT_EQ(a.cache_ttl.count(), 0);
  EXPECT_EQ(a.timeout, std::chrono::seconds(5));
  ASSERT_EQ(r.config->pools.size(), 4U);
  ASSERT_GE(a.pool_index, 0);
  const Pool& own = r.config->pools[static_cast<size_t>(a.pool_index)];
  EXPECT_EQ(own.name, "forward_auth.web");
  ASSERT_EQ(own.backends.size(), 1U);
  EXPECT_EQ(own.backends[0].address.toString(), "127.0.0.1:9100");
  const ForwardAuth& ra = *r.config->listeners[0].http.routes[0].forward_auth;
  EXPECT_EQ(r.config->pools[static_cast<size_t>(ra.pool_index)].name, "forward_auth.web.open");
}

TEST(ForwardAuthConfigTest, ErrorsPointAtTheField) {
  struct Case {
    std::string listener_auth;
    std::string expected;
  };
  const Case cases[] = {
      {"{path: /x}", "a.yaml:6:19: forward_auth: give exactly one of pool"},
      {"{pool: auth, address: \"127.0.0.1:1\"}", "give exactly one of pool"},
      {"{pool: nope}", "a.yaml:6:26: forward_auth: listener \"web\" names unknown pool \"nope\""},
      {"{address: \"auth:80\"}", "address"},
      {"{pool: auth, path: relative}", "a path starting with /"},
      {"{pool: auth, path: \"/a#b\"}", "a path starting with /"},
      {"{pool: auth, copy_response_headers: [Transfer-Encoding]}", "Ballast writes it itself"},
      {"{pool: auth, copy_request_headers: [\"bad name\"]}", "a header name"},
      {"{pool: auth, cache_ttl: 2h}", "cache_ttl: at most 1h"},
      {"{pool: auth, timeout: 0s}", "timeout"},
      {"{pool: auth, extra: 1}", "extra"},
  };
  for (const auto& c : cases) {
    const LoadResult r = loadConfigText(configWith(c.listener_auth, "off"), "a.yaml");
    EXPECT_EQ(r.config, nullptr) << c.listener_auth;
    std::string all;
    for (const auto& e : r.errors) {
      all += e.format() + "\n";
    }
    EXPECT_NE(all.find(c.expected), std::string::npos) << c.listener_auth << " gave:\n" << all;
  }
}

}  // namespace
}  // namespace ballast::config
