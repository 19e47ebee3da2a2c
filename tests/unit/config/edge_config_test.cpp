// tests/unit/config/edge_config_test.cpp — redirect_https, hsts and security_headers: their
// forms, how a route overrides its listener, what they turn into, and the errors users see.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

constexpr std::string_view kPools = R"(pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
)";

LoadResult load(std::string_view yaml) {
  return loadConfigText(std::string(yaml) + std::string(kPools), "e.yaml");
}

std::string errorsOf(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += e.format() + "\n";
  }
  return out;
}

bool hasField(const std::vector<std::pair<std::string, std::string>>& fields,
              const std::string& name, const std::string& value) {
  for (const auto& [n, v] : fields) {
    if (n == name && v == value) {
      return true;
    }
  }
  return false;
}

TEST(EdgeConfigTest, ListenerRedirectNeedsNoPoolAndRoutesOverrideIt) {
  const LoadResult r = load(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    redirect_https: {status: 301, port: 8443}
    routes:
      - {name: api, match: {path: {prefix: /api}}, pool: app, redirect_https: false}
)");
  ASSERT_NE(r.config, nullptr) << errorsOf(r);
  const auto& http = r.config->listeners[0].http;
  EXPECT_TRUE(http.redirect.enabled);
  EXPECT_EQ(http.redirect.status, 301);
  EXPECT_EQ(http.redirect.port, 8443);
  EXPECT_FALSE(http.routes[0].redirect.enabled);
}

TEST(EdgeConfigTest, HstsAndSecurityHeadersBecomeResponseFields) {
  const LoadResult r = load(R"(listeners:
  - name: web
    bind: "127.0.0.1:8443"
    protocol: https
    pool: app
    hsts: true
    security_headers: true
    tls: {certificates: []}
)");
  // The certificate list is empty on purpose: the edge keys are read even when tls fails.
  EXPECT_NE(errorsOf(r).find("tls.certificates"), std::string::npos);
  const LoadResult ok = load(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    security_headers: true
    routes:
      - {name: a, pool: app, security_headers: false}
)");
  ASSERT_NE(ok.config, nullptr) << errorsOf(ok);
  const auto& http = ok.config->listeners[0].http;
  EXPECT_TRUE(hasField(http.response_headers.defaults, "X-Content-Type-Options", "nosniff"));
  EXPECT_TRUE(http.routes[0].response_headers.defaults.empty());
}

TEST(EdgeConfigTest, Errors) {
  const LoadResult r = load(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    hsts: true
    redirect_https: {status: 303}
)");
  EXPECT_EQ(errorsOf(r),
            "e.yaml:6:5: hsts: only for protocol: https (RFC 6797: never sent over plain HTTP)\n"
            "e.yaml:7:30: redirect_https.status: 301, 302, 307 or 308, not 303\n");
}

}  // namespace
}  // namespace ballast::config
