// src/upstream/worker_pool.h — one worker's view of a pool: its own picker and candidate list,
// rebuilt only when the shared generation moves, and the pool's circuit breaking as this worker
// applies it (limits on the shared counters, breaker outcomes). Owning worker only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "balance/picker.h"
#include "metrics/proxy_metrics.h"
#include "upstream/outlier.h"
#include "upstream/pool_runtime.h"
#include "upstream/retry_budget.h"

namespace ballast::upstream {

class WorkerPool {
 public:
  // `metrics` holds this worker's counters; null keeps private ones (tests).
  WorkerPool(const PoolRuntime* runtime, uint64_t seed, metrics::WorkerMetrics* metrics = nullptr);

  const PoolRuntime& runtime() const { return *runtime_; }
  // Picks a backend index for `key`, skipping the indices in `tried` (earlier failed
  // attempts of the same connection). nullopt when nothing is up and untried.
  std::optional<uint32_t> pick(uint64_t key, std::span<const uint32_t> tried);
  // Whether backend `index` is healthy, not drained and of non-zero weight (sticky sessions).
  bool isUp(uint32_t index);
  // Whether some backend is up and not in `tried`: a retry has somewhere to go.
  bool hasUntried(std::span<const uint32_t> tried);
  // This worker's retries in flight against its requests in flight to the pool.
  RetryBudget& retryBudget() { return retry_budget_; }
  // What backend `index` just did: feeds outlier detection (upstream/outlier.h; may eject it)
  // and its circuit breaker (recordSuccess for an answer below 500 or a connection made,
  // recordFailure otherwise). The one call the proxies make per try.
  void recordOutcome(uint32_t index, Outcome outcome, uint64_t now_ms);
  // This worker's counters for backend `index`.
  metrics::BackendCounters& counters(uint32_t index) { return *counters_[index]; }
  // The monotonic millisecond clock slow start reads; tests inject their own.
  using ClockFn = uint64_t (*)();
  void setClock(ClockFn clock) { clock_ = clock; }

  // Circuit breaking (`circuit_breaker:`; all no-ops without one).
  const config::CircuitBreaker& circuitConfig() const { return runtime_->config->circuit_breaker; }
  PoolCircuit& circuit() const { return *runtime_->circuit; }
  // Whether a new upstream connection to backend `index` fits the backend's and the pool's
  // max_connections. Checked before connecting: workers racing for the last slot may each open
  // one, so the pool can pass the limit by at most one connection per worker.
  bool connectionRoom(uint32_t index) const;
  // Whether backend `index` may take a request (its breaker; a half-open one takes probes).
  bool breakerAdmits(uint32_t index);
  // Whether some backend's breaker is open or half-open (its probes may all be out): a request
  // nothing could take is then refused as breaker_open rather than answered "no backend".
  bool anyBreakerOpen();
  // The breaker's side of recordOutcome. Moves the breaker, logs transitions.
  void recordSuccess(uint32_t index);
  void recordFailure(uint32_t index);
  // A refusal: counted per pool and reason, and logged (rate-limited).
  void refuse(CircuitRefusal reason);

 private:
  void refresh();
  void onBreakerChange(uint32_t index, BreakerChange change);
  // Open breakers past their recovery time turn half-open (a clock read only when one is open).
  void checkRecovery();
  // Marks backups standby while a primary is up, and members of groups other than the active
  // one (see docs/resilience.md).
  void holdBack();

  const PoolRuntime* runtime_;
  balance::PickerPtr picker_;
  std::vector<balance::Candidate> candidates_;
  uint64_t seen_generation_ = ~uint64_t{0};
  ClockFn clock_;
  // While a backend ramps (slow start), the picker is rebuilt at this time even if the
  // generation did not move; 0 = nothing ramps, and pick() reads no clock.
  uint64_t next_ramp_ms_ = 0;
  std::unique_ptr<metrics::WorkerMetrics> own_metrics_;
  std::vector<metrics::BackendCounters*> counters_;
  RetryBudget retry_budget_;
  uint32_t open_breakers_ = 0;  // as of the last refresh
  bool breaking_ = false;       // some backend's breaker was not closed at the last refresh
};

}  // namespace ballast::upstream
