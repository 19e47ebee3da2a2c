// tests/unit/config/retry_sections_test.cpp — a pool's `retries:` mapping: defaults, every key
// read back, and each refusal's exact "file:line:col: message".
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

LoadResult load(std::string_view retries) {
  const std::string yaml = R"(pools:
  - name: app
    retries: )" + std::string(retries) +
                           R"(
    backends:
      - {address: "127.0.0.1:9001"}
)";
  return loadConfigText(yaml, "r.yaml");
}

std::string firstError(const LoadResult& r) { return r.errors.empty() ? "" : r.errors[0].format(); }

TEST(RetrySectionsConfig, AnEmptyMappingTurnsRetriesOnWithDefaults) {
  const auto r = load("{}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const RetryPolicy& p = r.config->pools[0].retries;
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.attempts, 2U);
  EXPECT_TRUE(p.retriesOn(RetryReason::k503));
  EXPECT_TRUE(p.retriesOn(RetryReason::kConnectFailure));
  EXPECT_FALSE(p.retriesOn(RetryReason::kGrpcUnavailable));  // opt-in: not in the default six
  EXPECT_EQ(p.budget_percent, 20U);
  EXPECT_EQ(p.buffer_bytes, 64U * 1024);
  EXPECT_FALSE(p.non_idempotent);
}

TEST(RetrySectionsConfig, EveryKeyIsRead) {
  const auto r = load(
      "{attempts: 3, on: [reset, 503], per_try_timeout: 1s, backoff: {base: 10ms, max: 80ms}, "
      "budget: 50%, min_concurrency: 1, retry_non_idempotent: true, retry_buffer: 1KiB}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const RetryPolicy& p = r.config->pools[0].retries;
  EXPECT_EQ(p.attempts, 3U);
  EXPECT_TRUE(p.retriesOn(RetryReason::kReset));
  EXPECT_TRUE(p.retriesOn(RetryReason::k503));
  EXPECT_FALSE(p.retriesOn(RetryReason::k502));
  EXPECT_FALSE(p.retriesOn(RetryReason::kTimeout));
  EXPECT_EQ(p.per_try_timeout.count(), 1000);
  EXPECT_EQ(p.backoff_base.count(), 10);
  EXPECT_EQ(p.backoff_max.count(), 80);
  EXPECT_EQ(p.budget_percent, 50U);
  EXPECT_EQ(p.min_concurrency, 1U);
  EXPECT_TRUE(p.non_idempotent);
  EXPECT_EQ(p.buffer_bytes, 1024U);
}

TEST(RetrySectionsConfig, GrpcUnavailableIsNamedAlone) {
  const auto r = load("{on: [grpc_unavailable], backoff: {base: 0}}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const RetryPolicy& p = r.config->pools[0].retries;
  EXPECT_TRUE(p.retriesOn(RetryReason::kGrpcUnavailable));
  EXPECT_FALSE(p.retriesOn(RetryReason::k503));
  EXPECT_FALSE(p.retriesOn(RetryReason::kReset));
  EXPECT_FALSE(p.non_idempotent);  // gRPC POSTs are retried on it without retry_non_idempotent
  EXPECT_EQ(p.backoff_base.count(), 0);
}

TEST(RetrySectionsConfig, GrpcUnavailableJoinsTheOthers) {
  const auto r = load("{on: [connect_failure, reset, timeout, 502, 503, 504, grpc_unavailable]}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const RetryPolicy& p = r.config->pools[0].retries;
  EXPECT_EQ(p.on, (1U << kRetryReasons) - 1);
}

TEST(RetrySectionsConfig, APoolWithoutRetriesKeepsThemOff) {
  const auto r = loadConfigText(
      "pools:\n  - name: app\n    backends:\n      - {address: \"127.0.0.1:9001\"}\n", "r.yaml");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_FALSE(r.config->pools[0].retries.enabled);
  EXPECT_FALSE(r.config->pools[0].retries.retriesOn(RetryReason::k503));
}

TEST(RetrySectionsConfig, ATcpListenerCannotUseAPoolWithRetries) {
  const auto r = loadConfigText(R"(listeners:
  - {name: db, bind: "127.0.0.1:5432", pool: app}
pools:
  - name: app
    retries: {}
    backends:
      - {address: "127.0.0.1:9001"}
)",
                                "r.yaml");
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(firstError(r).find("r.yaml:5:5: retries: resends HTTP requests"), std::string::npos)
      << firstError(r);
}

TEST(RetrySectionsConfig, BadValuesAreRefusedWhereTheyStand) {
  EXPECT_EQ(
      firstError(load("{on: [500]}")),
      "r.yaml:3:20: retry reason: expected one of connect_failure, reset, timeout, 502, 503, 504, "
      "grpc_unavailable, got \"500\"");
  // gRPC's name for it (Envoy's retry_on: unavailable) is not ours; the mark is the item's.
  EXPECT_EQ(firstError(load("{on: [reset, unavailable]}")),
            "r.yaml:3:27: retry reason: expected one of connect_failure, reset, timeout, 502, 503, "
            "504, grpc_unavailable, got \"unavailable\"");
  EXPECT_NE(firstError(load("{attempts: 9}")).find("r.yaml:3:25:"), std::string::npos);
  EXPECT_EQ(firstError(load("{backoff: {base: 100ms, max: 10ms}}")),
            "r.yaml:3:43: max: backoff limit 10ms is shorter than base 100ms");
  EXPECT_NE(firstError(load("{tries: 2}")).find("r.yaml:3:15:"), std::string::npos);
  EXPECT_NE(firstError(load("{retry_buffer: 2MiB}")).find("r.yaml:3:29:"), std::string::npos);
}

}  // namespace
}  // namespace ballast::config
