// tests/unit/config/upstream_protocol_test.cpp — `upstream_protocol` and
// `max_streams_per_connection`: read back, defaults, and h2 needing tls (h2c refusing it).
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

LoadResult load(std::string_view extra) {
  const std::string yaml = std::string(R"(pools:
  - name: app
    backends:
      - {address: "127.0.0.1:9001"}
)") + std::string(extra);
  return loadConfigText(yaml, "up.yaml");
}

std::string firstError(const LoadResult& r) { return r.errors.empty() ? "" : r.errors[0].format(); }

TEST(UpstreamProtocolConfig, DefaultsToHttp1) {
  const auto r = load("");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_EQ(r.config->pools[0].upstream_protocol, UpstreamProtocol::kHttp1);
  EXPECT_EQ(r.config->pools[0].max_streams_per_connection, kDefaultMaxStreamsPerConnection);
  EXPECT_FALSE(r.config->pools[0].tls.alpn_h2);
}

TEST(UpstreamProtocolConfig, H2cAndH2AreRead) {
  const auto clear = load("    upstream_protocol: h2c\n    max_streams_per_connection: 8\n");
  ASSERT_TRUE(clear.errors.empty()) << firstError(clear);
  EXPECT_EQ(clear.config->pools[0].upstream_protocol, UpstreamProtocol::kH2c);
  EXPECT_EQ(clear.config->pools[0].max_streams_per_connection, 8U);
  const auto tls = load("    upstream_protocol: h2\n    tls: {verify: false}\n");
  ASSERT_TRUE(tls.errors.empty()) << firstError(tls);
  EXPECT_EQ(tls.config->pools[0].upstream_protocol, UpstreamProtocol::kH2);
  EXPECT_TRUE(tls.config->pools[0].tls.alpn_h2);  // ALPN offers h2 only
}

TEST(UpstreamProtocolConfig, MismatchesAndBoundsAreErrors) {
  EXPECT_NE(firstError(load("    upstream_protocol: h2\n")).find("h2 needs the pool's tls"),
            std::string::npos)
      << firstError(load("    upstream_protocol: h2\n"));
  const auto h2c_tls = load("    upstream_protocol: h2c\n    tls: {verify: false}\n");
  EXPECT_NE(firstError(h2c_tls).find("h2c is cleartext"), std::string::npos) << firstError(h2c_tls);
  EXPECT_NE(firstError(load("    upstream_protocol: h3\n")).find("up.yaml:5:24"), std::string::npos)
      << firstError(load("    upstream_protocol: h3\n"));
  EXPECT_NE(firstError(load("    max_streams_per_connection: 0\n")).find("up.yaml:5:33"),
            std::string::npos)
      << firstError(load("    max_streams_per_connection: 0\n"));
}

}  // namespace
}  // namespace ballast::config
