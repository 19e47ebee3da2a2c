// tests/unit/config/outlier_sections_test.cpp — a pool's `outlier_detection:` mapping: defaults,
// every key read back, and the refusals with their line:column.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

LoadResult load(std::string_view outlier) {
  const std::string yaml = R"(pools:
  - name: app
    outlier_detection: )" + std::string(outlier) +
                           R"(
    backends:
      - {address: "127.0.0.1:9001"}
)";
  return loadConfigText(yaml, "o.yaml");
}

std::string firstError(const LoadResult& r) { return r.errors.empty() ? "" : r.errors[0].format(); }

TEST(OutlierSectionsConfig, AnEmptyMappingTurnsDetectionOnWithDefaults) {
  const auto r = load("{}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const OutlierDetection& o = r.config->pools[0].outlier;
  EXPECT_TRUE(o.enabled);
  EXPECT_EQ(o.consecutive_5xx, 5U);
  EXPECT_EQ(o.consecutive_gateway_failures, 5U);
  EXPECT_EQ(o.interval.count(), 10000);
  EXPECT_EQ(o.base_ejection_time.count(), 30000);
  EXPECT_EQ(o.max_ejection_time.count(), 300000);
  EXPECT_EQ(o.max_ejection_percent, 10U);
  EXPECT_FALSE(o.success_rate);
}

TEST(OutlierSectionsConfig, EveryKeyIsRead) {
  const auto r = load(
      "{consecutive_5xx: 3, consecutive_gateway_failure: 0, interval: 2s, base_ejection_time: 1s, "
      "max_ejection_time: 4s, max_ejection_percent: 50%, success_rate: {min_hosts: 3, "
      "min_requests: 20, stdev_factor: 1.5}}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const OutlierDetection& o = r.config->pools[0].outlier;
  EXPECT_EQ(o.consecutive_5xx, 3U);
  EXPECT_EQ(o.consecutive_gateway_failures, 0U);
  EXPECT_EQ(o.interval.count(), 2000);
  EXPECT_EQ(o.base_ejection_time.count(), 1000);
  EXPECT_EQ(o.max_ejection_time.count(), 4000);
  EXPECT_EQ(o.max_ejection_percent, 50U);
  EXPECT_TRUE(o.success_rate);
  EXPECT_EQ(o.success_rate_min_hosts, 3U);
  EXPECT_EQ(o.success_rate_min_requests, 20U);
  EXPECT_DOUBLE_EQ(o.success_rate_stdev_factor, 1.5);
}

TEST(OutlierSectionsConfig, APoolWithoutTheMappingHasItOff) {
  const auto r = loadConfigText(
      "pools:\n  - name: app\n    backends:\n      - {address: \"127.0.0.1:9001\"}\n", "o.yaml");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_FALSE(r.config->pools[0].outlier.enabled);
}

TEST(OutlierSectionsConfig, RefusalsNameTheLineAndColumn) {
  EXPECT_EQ(firstError(load("{base_ejection_time: 10s, max_ejection_time: 5s}")),
            "o.yaml:3:69: max_ejection_time: 5s is shorter than base_ejection_time 10s");
  EXPECT_NE(firstError(load("{max_ejection_percent: 150%}")).find("o.yaml:3:47:"),
            std::string::npos);
  EXPECT_NE(firstError(load("{success_rate: {stdev_factor: -1}}")).find("a number from 0.1 to 10"),
            std::string::npos);
  EXPECT_NE(firstError(load("{consecutive_5xx: many}")).find("o.yaml:3:42:"), std::string::npos);
  EXPECT_NE(firstError(load("{ejection: 1s}")).find("ejection"), std::string::npos);
}

}  // namespace
}  // namespace ballast::config
