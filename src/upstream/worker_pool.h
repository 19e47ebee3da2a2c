// src/upstream/worker_pool.h — one worker's view of a pool: its own picker and candidate list,
// rebuilt only when the shared generation moves. Owning worker only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "balance/picker.h"
#include "metrics/proxy_metrics.h"
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
  // This worker's counters for backend `index`.
  metrics::BackendCounters& counters(uint32_t index) { return *counters_[index]; }
  // The monotonic millisecond clock slow start reads; tests inject their own.
  using ClockFn = uint64_t (*)();
  void setClock(ClockFn clock) { clock_ = clock; }

 private:
  void refresh();
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
};

}  // namespace ballast::upstream
