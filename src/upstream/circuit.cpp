// src/upstream/circuit.cpp — the breaker's transitions, each one compare-and-swap so exactly one
// worker sees (and reports) it.
#include "upstream/circuit.h"

namespace ballast::upstream {

std::string_view circuitRefusalName(CircuitRefusal r) {
  switch (r) {
    case CircuitRefusal::kMaxConnections:
      return "max_connections";
    case CircuitRefusal::kMaxRequests:
      return "max_requests";
    case CircuitRefusal::kMaxPending:
      return "max_pending";
    case CircuitRefusal::kQueueTimeout:
      return "queue_timeout";
    case CircuitRefusal::kBreakerOpen:
      return "breaker_open";
    case CircuitRefusal::kMaxRetries:
      return "max_retries";
  }
  return "unknown";
}

std::string_view breakerStateName(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

bool Breaker::swap(BreakerState from, BreakerState to, uint64_t now_ms) {
  auto expected = static_cast<uint8_t>(from);
  if (!state_.compare_exchange_strong(expected, static_cast<uint8_t>(to),
                                      std::memory_order_acq_rel)) {
    return false;
  }
  since_ms_.store(now_ms, std::memory_order_release);
  probes_.store(0, std::memory_order_relaxed);
  return true;
}

BreakerChange Breaker::maybeHalfOpen(const config::CircuitBreaker& cfg, uint64_t now_ms) {
  if (state() != BreakerState::kOpen) {
    return BreakerChange::kNone;
  }
  const auto recovery = static_cast<uint64_t>(cfg.recovery_timeout.count());
  if (now_ms < since_ms_.load(std::memory_order_acquire) + recovery) {
    return BreakerChange::kNone;
  }
  return swap(BreakerState::kOpen, BreakerState::kHalfOpen, now_ms) ? BreakerChange::kHalfOpened
                                                                    : BreakerChange::kNone;
}

bool Breaker::admit(const config::CircuitBreaker& cfg, uint64_t now_ms) {
  const BreakerState s = state();
  if (s == BreakerState::kClosed || !cfg.breaks()) {
    return true;
  }
  if (s == BreakerState::kOpen) {
    return false;
  }
  const uint64_t since = since_ms_.load(std::memory_order_acquire);
  const auto recovery = static_cast<uint64_t>(cfg.recovery_timeout.count());
  if (now_ms >= since + recovery) {
    // The probes let through long ago never reported back: make room for new ones (one worker
    // restarts the period).
    uint64_t expected = since;
    if (since_ms_.compare_exchange_strong(expected, now_ms, std::memory_order_acq_rel)) {
      probes_.store(0, std::memory_order_relaxed);
    }
  }
  return PoolCircuit::acquire(probes_, cfg.half_open_requests);
}

BreakerChange Breaker::onSuccess() {
  if (failures_.load(std::memory_order_relaxed) != 0) {
    failures_.store(0, std::memory_order_relaxed);
  }
  if (state() == BreakerState::kHalfOpen &&
      swap(BreakerState::kHalfOpen, BreakerState::kClosed, 0)) {
    return BreakerChange::kClosed;
  }
  return BreakerChange::kNone;
}

BreakerChange Breaker::onFailure(const config::CircuitBreaker& cfg, uint64_t now_ms) {
  if (!cfg.breaks()) {
    return BreakerChange::kNone;
  }
  const BreakerState s = state();
  if (s == BreakerState::kHalfOpen) {
    if (swap(BreakerState::kHalfOpen, BreakerState::kOpen, now_ms)) {
      opened_total_.fetch_add(1, std::memory_order_relaxed);
      return BreakerChange::kOpened;
    }
    return BreakerChange::kNone;
  }
  if (s == BreakerState::kOpen) {
    return BreakerChange::kNone;  // a try that started before the breaker opened
  }
  const uint32_t run = failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (run >= cfg.failure_threshold && swap(BreakerState::kClosed, BreakerState::kOpen, now_ms)) {
    failures_.store(0, std::memory_order_relaxed);
    opened_total_.fetch_add(1, std::memory_order_relaxed);
    return BreakerChange::kOpened;
  }
  return BreakerChange::kNone;
}

}  // namespace ballast::upstream
