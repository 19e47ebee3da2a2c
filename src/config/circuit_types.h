// src/config/circuit_types.h — a pool's admission limits and per-backend breaker
// (`circuit_breaker:`), as plain values. Read by the upstream layer's breaker and admission
// counters, the HTTP connectors (l7) and the TCP sessions (l4).
#pragma once

#include <chrono>
#include <cstdint>

namespace ballast::config {

// Defaults of a `circuit_breaker:` mapping. Limits default to 0, which means no limit: giving
// the block turns on the breaker with these settings, and only the limits written down apply.
inline constexpr uint32_t kDefaultFailureThreshold = 5;  // consecutive failures, as Envoy's 5xx
inline constexpr std::chrono::milliseconds kDefaultRecoveryTimeout{10000};
inline constexpr std::chrono::milliseconds kDefaultQueueTimeout{1000};
inline constexpr uint32_t kDefaultHalfOpenRequests = 1;

struct CircuitBreaker {
  bool enabled = false;  // a `circuit_breaker:` mapping was given
  // Limits over the pool, all workers together; 0: no limit.
  uint32_t max_connections = 0;  // upstream connections open (idle keep-alive ones included)
  uint32_t max_requests = 0;     // HTTP requests in flight to the pool
  uint32_t max_pending = 0;      // HTTP requests waiting for a max_requests slot
  std::chrono::milliseconds queue_timeout = kDefaultQueueTimeout;
  uint32_t max_retries = 0;  // HTTP retries in flight (besides the `retries:` budget)
  // Per backend: this many consecutive failures open its breaker; 0: no breaker.
  uint32_t failure_threshold = kDefaultFailureThreshold;
  std::chrono::milliseconds recovery_timeout = kDefaultRecoveryTimeout;
  uint32_t half_open_requests = kDefaultHalfOpenRequests;  // probes let through when half-open

  bool breaks() const { return enabled && failure_threshold > 0; }
};

}  // namespace ballast::config
