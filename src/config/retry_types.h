// src/config/retry_types.h — a pool's HTTP retry policy (`retries:`), as plain values. Read by
// the HTTP upstream connector (l7/h1_upstream) on each failed try; L4 keeps connect_retries.
#pragma once

#include <chrono>
#include <cstdint>

namespace ballast::config {

// Why a try may be retried: one bit each in RetryPolicy::on.
enum class RetryReason : uint8_t {
  kConnectFailure,  // the connect failed or timed out: nothing was sent
  kReset,           // the connection closed or reset before a response head
  kTimeout,         // no response head within per_try_timeout
  k502,
  k503,
  k504,
  // a gRPC request's trailers-only answer with grpc-status 14 (UNAVAILABLE). Opt-in only, not in
  // the default `on`: listing it is the operator's word that the services answer it only before
  // acting (gRPC does not promise that for non-idempotent calls).
  kGrpcUnavailable,
};
inline constexpr size_t kRetryReasons = 7;
inline constexpr uint32_t retryBit(RetryReason r) { return 1U << static_cast<uint32_t>(r); }

// Defaults of a `retries:` mapping (a pool without one retries connect failures only, within
// connect_retries, and replays a bodiless request on a stale pooled connection, as before).
inline constexpr uint32_t kDefaultRetryAttempts = 2;  // tries in all: the first and one retry
inline constexpr uint32_t kDefaultRetryBudgetPercent = 20;
inline constexpr uint32_t kDefaultRetryMinConcurrency = 3;
inline constexpr uint64_t kDefaultRetryBufferBytes = 64 * 1024;
inline constexpr std::chrono::milliseconds kDefaultRetryBackoffBase{25};
inline constexpr std::chrono::milliseconds kDefaultRetryBackoffMax{250};

struct RetryPolicy {
  bool enabled = false;  // a `retries:` mapping was given
  uint32_t attempts = kDefaultRetryAttempts;
  uint32_t on = retryBit(RetryReason::kConnectFailure) | retryBit(RetryReason::kReset) |
                retryBit(RetryReason::kTimeout) | retryBit(RetryReason::k502) |
                retryBit(RetryReason::k503) | retryBit(RetryReason::k504);
  std::chrono::milliseconds per_try_timeout{0};  // 0: the listener's response_header timeout
  std::chrono::milliseconds backoff_base = kDefaultRetryBackoffBase;
  std::chrono::milliseconds backoff_max = kDefaultRetryBackoffMax;
  // Retries in flight, per worker and pool, at most this share of the pool's requests in flight
  // on the worker, but never fewer than min_concurrency (so a quiet pool can still retry).
  uint32_t budget_percent = kDefaultRetryBudgetPercent;
  uint32_t min_concurrency = kDefaultRetryMinConcurrency;
  bool non_idempotent = false;  // retry POST, PATCH, … too
  // A request body up to this size is kept to be sent again; a longer one is not retried once
  // any of it went upstream.
  uint64_t buffer_bytes = kDefaultRetryBufferBytes;

  bool retriesOn(RetryReason r) const { return enabled && (on & retryBit(r)) != 0; }
};

}  // namespace ballast::config
