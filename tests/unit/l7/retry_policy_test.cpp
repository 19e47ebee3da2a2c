// tests/unit/l7/retry_policy_test.cpp — idempotent methods, retried statuses and gRPC answers,
// the backoff schedule and the retry budget.
#include "l7/retry_policy.h"

#include <gtest/gtest.h>

#include <array>
#include <string_view>

#include "upstream/retry_budget.h"

namespace ballast::l7 {
namespace {

TEST(RetryPolicy, OnlyIdempotentMethodsAreSafeToResend) {
  EXPECT_TRUE(idempotentMethod("GET"));
  EXPECT_TRUE(idempotentMethod("PUT"));
  EXPECT_TRUE(idempotentMethod("DELETE"));
  EXPECT_FALSE(idempotentMethod("POST"));
  EXPECT_FALSE(idempotentMethod("PATCH"));
  EXPECT_FALSE(idempotentMethod("get"));  // methods are case-sensitive
}

TEST(RetryPolicy, GatewayStatusesMapToTheirReasons) {
  EXPECT_EQ(retryReasonForStatus(503), config::RetryReason::k503);
  EXPECT_EQ(retryReasonForStatus(502), config::RetryReason::k502);
  EXPECT_FALSE(retryReasonForStatus(500).has_value());
  EXPECT_FALSE(retryReasonForStatus(200).has_value());
  EXPECT_EQ(retryReasonName(config::RetryReason::kConnectFailure), "connect_failure");
  EXPECT_EQ(retryReasonName(config::RetryReason::kGrpcUnavailable), "grpc_unavailable");
}

TEST(RetryPolicy, OnlyATrailersOnlyUnavailableIsAGrpcRetry) {
  using proto::http1::Header;
  const std::array<Header, 2> unavailable = {Header{"content-type", "application/grpc"},
                                             Header{"grpc-status", "14"}};
  EXPECT_EQ(retryReasonForGrpcHead(unavailable), config::RetryReason::kGrpcUnavailable);
  const std::array<Header, 1> upper = {Header{"Grpc-Status", "14"}};
  EXPECT_EQ(retryReasonForGrpcHead(upper), config::RetryReason::kGrpcUnavailable);
  // Other codes were (or may have been) processed: never retried.
  for (const std::string_view code : {"0", "2", "4", "8", "13", "140", "x", ""}) {
    const std::array<Header, 1> other = {Header{"grpc-status", code}};
    EXPECT_FALSE(retryReasonForGrpcHead(other).has_value()) << code;
  }
  // A head without grpc-status is not trailers-only: the status comes later, in the trailers.
  const std::array<Header, 1> plain = {Header{"content-type", "application/grpc"}};
  EXPECT_FALSE(retryReasonForGrpcHead(plain).has_value());
  EXPECT_FALSE(retryReasonForGrpcHead({}).has_value());
}

TEST(RetryPolicy, BackoffDoublesWithinJitterAndStopsAtMax) {
  config::RetryPolicy p;
  p.backoff_base = std::chrono::milliseconds(20);
  p.backoff_max = std::chrono::milliseconds(100);
  for (uint64_t random : {0ULL, 7ULL, 123456789ULL, ~0ULL}) {
    const uint64_t first = retryBackoffMs(p, 1, random);
    EXPECT_GE(first, 10U);
    EXPECT_LE(first, 20U);
    const uint64_t second = retryBackoffMs(p, 2, random);
    EXPECT_GE(second, 20U);
    EXPECT_LE(second, 40U);
    const uint64_t late = retryBackoffMs(p, 30, random);
    EXPECT_GE(late, 50U);
    EXPECT_LE(late, 100U);
  }
  p.backoff_base = std::chrono::milliseconds(0);
  EXPECT_EQ(retryBackoffMs(p, 1, 42), 0U);
}

TEST(RetryBudget, CapsRetriesAtAShareWithAFloor) {
  upstream::RetryBudget b;
  b.requests = 100;
  b.retries = 19;
  EXPECT_TRUE(b.admits(20, 3));
  b.retries = 20;
  EXPECT_FALSE(b.admits(20, 3));
  b.requests = 2;
  b.retries = 2;
  EXPECT_TRUE(b.admits(20, 3));  // the floor lets a quiet pool retry
  b.retries = 3;
  EXPECT_FALSE(b.admits(20, 3));
  EXPECT_FALSE(upstream::RetryBudget{}.admits(0, 0));
}

}  // namespace
}  // namespace ballast::l7
