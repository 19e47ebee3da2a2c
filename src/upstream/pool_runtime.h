// src/upstream/pool_runtime.h — what the workers share about a pool at run time: per backend,
// its health, drain flag and load as atomics. Backend states outlive reloads (a reload keeps
// a backend's health), config values come from the snapshot the pool was built with.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config_types.h"
#include "upstream/circuit.h"
#include "upstream/failover.h"

namespace ballast::upstream {

// Passive health of one backend (upstream/outlier.h): written by every worker that talks to it,
// so plain counters of answers in a row, each on the backend's shared state.
struct OutlierState {
  std::atomic<uint32_t> consecutive_5xx{0};
  std::atomic<uint32_t> consecutive_gateway{0};
  // Answers since the last success-rate pass (counted only when success_rate is on).
  std::atomic<uint64_t> window_requests{0};
  std::atomic<uint64_t> window_successes{0};
  std::atomic<bool> ejected{false};
  std::atomic<uint64_t> ejected_at_ms{0};     // monotonic
  std::atomic<uint64_t> ejected_until_ms{0};  // monotonic
  std::atomic<uint32_t> times_ejected{0};     // the multiplier; decays while the backend serves
  std::atomic<uint8_t> reason{0};             // EjectReason of the current ejection
  std::atomic<bool> reported{true};           // false until the control thread logs the ejection
  static constexpr size_t kReasons = 3;
  std::array<std::atomic<uint64_t>, kReasons> ejections_total{};  // by EjectReason
};

struct BackendState {
  explicit BackendState(const net::SocketAddress& a) : address(a), name(a.toString()) {}
  const net::SocketAddress address;
  const std::string name;
  std::atomic<bool> healthy{true};   // backends start up, as in HAProxy; checks take them out
  std::atomic<bool> drained{false};  // takes no new connections: admin drain or disable
  // Runtime changes from the admin API. A weight override lasts until the next reload; the
  // admin state survives reloads, like health, so an unrelated reload never undrains a node.
  std::atomic<int32_t> weight_override{-1};   // -1: the config's weight
  std::atomic<uint8_t> admin_state{0};        // AdminState
  std::atomic<uint32_t> check_latency_us{0};  // the last successful health check's duration
  // core::monotonicMs() when the backend last came up (health up, or added by a reload or
  // discovery); 0 for one up since start-up. Slow start ramps its weight from here.
  std::atomic<uint64_t> up_since_ms{0};

  // The weight in force: a runtime override, else the config's.
  uint32_t weight(uint32_t configured) const {
    const int32_t override = weight_override.load(std::memory_order_relaxed);
    return override >= 0 ? static_cast<uint32_t>(override) : configured;
  }
  std::atomic<uint32_t> active{0};  // open proxied connections, all workers together
  OutlierState outlier;
  // Upstream sockets open to the backend, all workers: L7 keep-alive connections (idle ones
  // too) and L4 sessions. What `max_connections` limits.
  std::atomic<uint32_t> connections{0};
  Breaker breaker;  // the pool's `circuit_breaker:` drives it; closed without one
};

enum class AdminState : uint8_t { kEnabled, kDrain, kDisabled };

using BackendStatePtr = std::shared_ptr<BackendState>;

struct PoolRuntime {
  const config::Pool* config = nullptr;   // owned by the snapshot's Config
  std::vector<BackendStatePtr> backends;  // config->backends order
  // Bumped whenever a backend's health or drain changes, so workers rebuild their pickers
  // with one relaxed load per pick instead of reading every flag.
  std::shared_ptr<std::atomic<uint64_t>> generation;
  // Held (try-lock, never waited on) by the worker that ejects a backend, so two workers cannot
  // together take the pool past max_ejection_percent.
  mutable std::atomic<bool> ejecting{false};
  // Requests, pending requests and retries in flight, and refusals: kept across reloads.
  std::shared_ptr<PoolCircuit> circuit = std::make_shared<PoolCircuit>();
  // The serving failover group, set by the control thread; null when the pool has no groups.
  std::shared_ptr<GroupState> groups;
};

}  // namespace ballast::upstream
