// tests/unit/config/discovery_config_test.cpp — backends by DNS name, `discovery: {dns_srv}`,
// and the top-level `discovery:` settings: what is accepted and the errors a user sees.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

LoadResult load(std::string_view yaml) { return loadConfigText(yaml, "t.yaml"); }

std::string allErrors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += e.format() + "\n";
  }
  return out;
}

TEST(DiscoveryConfigTest, ANameWithAPortIsResolvedAndAnIpStaysAnAddress) {
  const LoadResult r = load(R"(pools:
  - name: app
    backends:
      - {address: "app.internal:8080", weight: 3}
      - {address: "127.0.0.1:9001"}
discovery: {resolvers: ["127.0.0.1:5353"], min_ttl: 2s, max_ttl: 1m}
)");
  ASSERT_NE(r.config, nullptr) << allErrors(r);
  const Pool& p = r.config->pools[0];
  ASSERT_EQ(p.backends.size(), 1U);
  EXPECT_EQ(p.backends[0].address.toString(), "127.0.0.1:9001");
  ASSERT_EQ(p.dns_backends.size(), 1U);
  EXPECT_EQ(p.dns_backends[0].host, "app.internal");
  EXPECT_EQ(p.dns_backends[0].port, 8080);
  EXPECT_EQ(p.dns_backends[0].weight, 3U);
  EXPECT_TRUE(p.resolvesNames());
  ASSERT_EQ(r.config->discovery.resolvers.size(), 1U);
  EXPECT_EQ(r.config->discovery.resolvers[0].toString(), "127.0.0.1:5353");
  EXPECT_EQ(r.config->discovery.min_ttl, std::chrono::seconds(2));
  EXPECT_EQ(r.config->discovery.max_ttl, std::chrono::minutes(1));
}

TEST(DiscoveryConfigTest, ANameWithoutAPortOrAnOutOfRangePortIsAnAddressError) {
  for (const char* bad : {"app.internal", "app.internal:0", "app.internal:70000", "app..x:80"}) {
    const LoadResult r =
        load(std::string("pools:\n  - name: app\n    backends: [{address: \"") + bad + "\"}]\n");
    EXPECT_EQ(r.config, nullptr) << bad;
    ASSERT_FALSE(r.errors.empty()) << bad;
    EXPECT_NE(r.errors[0].format().find("t.yaml:3:"), std::string::npos) << allErrors(r);
  }
}

TEST(DiscoveryConfigTest, SrvNeedsNoBackendsAndExcludesThemAndTheFile) {
  const LoadResult ok = load(R"(pools:
  - name: app
    discovery: {dns_srv: "_http._tcp.app.internal"}
)");
  ASSERT_NE(ok.config, nullptr) << allErrors(ok);
  EXPECT_EQ(ok.config->pools[0].discovery.dns_srv, "_http._tcp.app.internal");
  EXPECT_TRUE(ok.config->pools[0].resolvesNames());

  const LoadResult both = load(R"(pools:
  - name: app
    discovery: {dns_srv: "_http._tcp.app.internal", file: "/x.yaml"}
)");
  ASSERT_EQ(both.config, nullptr);
  EXPECT_EQ(both.errors[0].format(), "t.yaml:3:17: discovery: file and dns_srv are exclusive");

  const LoadResult none = load(R"(pools:
  - name: app
    discovery: {}
)");
  ASSERT_EQ(none.config, nullptr);
  EXPECT_NE(allErrors(none).find("discovery needs file, dns_srv or kubernetes"), std::string::npos);
}

TEST(DiscoveryConfigTest, MaxTtlBelowMinTtlIsAnError) {
  const LoadResult r = load("discovery: {min_ttl: 10s, max_ttl: 5s}\n");
  ASSERT_EQ(r.config, nullptr);
  EXPECT_EQ(r.errors[0].format(), "t.yaml:1:36: discovery.max_ttl is below min_ttl");
}

}  // namespace
}  // namespace ballast::config
