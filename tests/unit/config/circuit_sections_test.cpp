// tests/unit/config/circuit_sections_test.cpp — a pool's `circuit_breaker:` mapping and a
// backend's max_connections: defaults, every key read back, and refusals with line:column.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

LoadResult load(std::string_view breaker) {
  const std::string yaml = R"(pools:
  - name: app
    circuit_breaker: )" + std::string(breaker) +
                           R"(
    backends:
      - {address: "127.0.0.1:9001", max_connections: 7}
)";
  return loadConfigText(yaml, "c.yaml");
}

std::string firstError(const LoadResult& r) { return r.errors.empty() ? "" : r.errors[0].format(); }

TEST(CircuitSectionsConfig, AnEmptyMappingTurnsTheBreakerOnWithoutLimits) {
  const auto r = load("{}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const CircuitBreaker& c = r.config->pools[0].circuit_breaker;
  EXPECT_TRUE(c.enabled);
  EXPECT_TRUE(c.breaks());
  EXPECT_EQ(c.max_connections, 0U);
  EXPECT_EQ(c.max_requests, 0U);
  EXPECT_EQ(c.max_pending, 0U);
  EXPECT_EQ(c.max_retries, 0U);
  EXPECT_EQ(c.queue_timeout.count(), 1000);
  EXPECT_EQ(c.failure_threshold, 5U);
  EXPECT_EQ(c.recovery_timeout.count(), 10000);
  EXPECT_EQ(c.half_open_requests, 1U);
  EXPECT_EQ(r.config->pools[0].backends[0].max_connections, 7U);
}

TEST(CircuitSectionsConfig, EveryKeyIsRead) {
  const auto r = load(
      "{max_connections: 1000, max_requests: 500, max_pending: 100, queue_timeout: 250ms, "
      "max_retries: 10, failure_threshold: 3, recovery_timeout: 2s, half_open_requests: 2}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const CircuitBreaker& c = r.config->pools[0].circuit_breaker;
  EXPECT_EQ(c.max_connections, 1000U);
  EXPECT_EQ(c.max_requests, 500U);
  EXPECT_EQ(c.max_pending, 100U);
  EXPECT_EQ(c.queue_timeout.count(), 250);
  EXPECT_EQ(c.max_retries, 10U);
  EXPECT_EQ(c.failure_threshold, 3U);
  EXPECT_EQ(c.recovery_timeout.count(), 2000);
  EXPECT_EQ(c.half_open_requests, 2U);
}

TEST(CircuitSectionsConfig, AThresholdOfZeroTurnsTheBreakerOff) {
  const auto r = load("{failure_threshold: 0, max_requests: 5}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_TRUE(r.config->pools[0].circuit_breaker.enabled);
  EXPECT_FALSE(r.config->pools[0].circuit_breaker.breaks());
}

TEST(CircuitSectionsConfig, APoolWithoutTheBlockHasItOff) {
  const auto r = loadConfigText(
      "pools:\n  - name: app\n    backends:\n      - {address: \"127.0.0.1:9001\"}\n", "c.yaml");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_FALSE(r.config->pools[0].circuit_breaker.enabled);
  EXPECT_FALSE(r.config->pools[0].circuit_breaker.breaks());
}

TEST(CircuitSectionsConfig, BadValuesAreRefusedWhereTheyStand) {
  EXPECT_NE(firstError(load("{max_request: 5}")).find("c.yaml:3:23: unknown key \"max_request\""),
            std::string::npos)
      << firstError(load("{max_request: 5}"));
  EXPECT_NE(firstError(load("{queue_timeout: 0s}")).find("c.yaml:3:38:"), std::string::npos)
      << firstError(load("{queue_timeout: 0s}"));
  EXPECT_NE(firstError(load("{half_open_requests: 0}")).find("c.yaml:3:43:"), std::string::npos)
      << firstError(load("{half_open_requests: 0}"));
  EXPECT_NE(firstError(load("{failure_threshold: 5000}")).find("c.yaml:3:42:"), std::string::npos)
      << firstError(load("{failure_threshold: 5000}"));
}

TEST(CircuitSectionsConfig, ANamedBackendCannotHaveItsOwnConnectionLimit) {
  const auto r = loadConfigText(R"(pools:
  - name: app
    backends:
      - {address: "app.internal:8080", max_connections: 3}
)",
                                "c.yaml");
  EXPECT_NE(firstError(r).find("c.yaml:4:40: max_connections: a backend given by name"),
            std::string::npos)
      << firstError(r);
}

}  // namespace
}  // namespace ballast::config
