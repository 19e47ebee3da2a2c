// src/upstream/circuit.h — circuit breaking, shared by all workers without a lock: the pool's
// admission counters (requests, pending requests and retries in flight, refusals by reason) and
// one backend's breaker (closed → open after consecutive failures → half-open after the
// recovery time, where a few probes decide). Everything is an atomic the workers update with
// compare-and-swap, so no request waits on another worker.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/circuit_types.h"

namespace ballast::upstream {

// Why a request or connection was refused; the `Ballast-Refused` header and metric label.
enum class CircuitRefusal : uint8_t {
  kMaxConnections,
  kMaxRequests,
  kMaxPending,
  kQueueTimeout,
  kBreakerOpen,
  kMaxRetries,
};
inline constexpr size_t kCircuitRefusals = 6;
std::string_view circuitRefusalName(CircuitRefusal r);

// The pool's counters, all workers together. Kept across reloads (keyed by the pool's name), so
// requests in flight during a reload still count against the new limits, and counters never
// go back.
struct PoolCircuit {
  std::atomic<uint32_t> requests{0};  // HTTP requests admitted and not yet finished
  std::atomic<uint32_t> pending{0};   // HTTP requests waiting for a request slot
  std::atomic<uint32_t> retries{0};   // HTTP retries in flight
  std::array<std::atomic<uint64_t>, kCircuitRefusals> refused{};

  void countRefusal(CircuitRefusal r) {
    refused[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }
  // One more in `counter` unless that passes `limit` (0: no limit). Never over the limit, even
  // with every worker racing for the last slot.
  static bool acquire(std::atomic<uint32_t>& counter, uint32_t limit) {
    const uint32_t before = counter.fetch_add(1, std::memory_order_relaxed);
    if (limit != 0 && before >= limit) {
      counter.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  static void release(std::atomic<uint32_t>& counter) {
    counter.fetch_sub(1, std::memory_order_relaxed);
  }
};

enum class BreakerState : uint8_t { kClosed, kOpen, kHalfOpen };
std::string_view breakerStateName(BreakerState s);

// What an outcome or a check did to the breaker: callers bump the pool's generation (pickers
// skip open backends) and log the transitions.
enum class BreakerChange : uint8_t { kNone, kOpened, kHalfOpened, kClosed };

class Breaker {
 public:
  BreakerState state() const {
    return static_cast<BreakerState>(state_.load(std::memory_order_acquire));
  }
  // An open breaker whose recovery time is over moves to half-open (the caller that wins the
  // swap gets kHalfOpened).
  BreakerChange maybeHalfOpen(const config::CircuitBreaker& cfg, uint64_t now_ms);
  // Whether one more request may go to the backend: always when closed, never when open, and
  // within half_open_requests probes when half-open. A probe whose outcome never came (its client
  // left) frees its slot after another recovery_timeout, so half-open never sticks.
  bool admit(const config::CircuitBreaker& cfg, uint64_t now_ms);
  // A response or connection that worked: resets the failure run; closes a half-open breaker.
  BreakerChange onSuccess();
  // A connect failure, reset, timeout or 5xx: opens the breaker after failure_threshold in a row,
  // and reopens a half-open one at once.
  BreakerChange onFailure(const config::CircuitBreaker& cfg, uint64_t now_ms);

  uint32_t failures() const { return failures_.load(std::memory_order_relaxed); }
  uint64_t openedTotal() const { return opened_total_.load(std::memory_order_relaxed); }

 private:
  bool swap(BreakerState from, BreakerState to, uint64_t now_ms);

  std::atomic<uint8_t> state_{static_cast<uint8_t>(BreakerState::kClosed)};
  std::atomic<uint32_t> failures_{0};  // consecutive
  std::atomic<uint64_t> since_ms_{0};  // monotonic ms of the last state change
  std::atomic<uint32_t> probes_{0};    // half-open: probes let through
  std::atomic<uint64_t> opened_total_{0};
};

}  // namespace ballast::upstream
