// src/upstream/worker_pool.cpp — candidate refresh, retry-aware picking and this worker's side
// of circuit breaking.
#include "upstream/worker_pool.h"

#include <algorithm>

#include "core/clock.h"
#include "core/log.h"
#include "upstream/slow_start.h"

namespace ballast::upstream {

WorkerPool::WorkerPool(const PoolRuntime* runtime, uint64_t seed, metrics::WorkerMetrics* metrics)
    : runtime_(runtime),
      picker_(balance::makePicker(runtime->config->algorithm, seed)),
      candidates_(runtime->backends.size()),
      clock_(&core::monotonicMs) {
  if (metrics == nullptr) {
    own_metrics_ = std::make_unique<metrics::WorkerMetrics>();
    metrics = own_metrics_.get();
  }
  counters_.reserve(runtime->backends.size());
  for (const auto& b : runtime->backends) {
    counters_.push_back(&metrics->backend(runtime->config->name, b->name));
  }
  refresh();
}

void WorkerPool::refresh() {
  const uint64_t gen = runtime_->generation->load(std::memory_order_acquire);
  if (gen == seen_generation_ && (next_ramp_ms_ == 0 || clock_() < next_ramp_ms_)) {
    return;
  }
  seen_generation_ = gen;
  open_breakers_ = 0;
  breaking_ = false;
  const auto slow_start_ms = static_cast<uint64_t>(runtime_->config->slow_start.count());
  const uint64_t now_ms = slow_start_ms != 0 ? clock_() : 0;
  bool ramping = false;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    const auto& state = *runtime_->backends[i];
    const BreakerState breaker = state.breaker.state();
    open_breakers_ += breaker == BreakerState::kOpen ? 1 : 0;
    breaking_ = breaking_ || breaker != BreakerState::kClosed;
    const uint32_t weight = state.weight(runtime_->config->backends[i].weight);
    const uint64_t up_since = state.up_since_ms.load(std::memory_order_relaxed);
    candidates_[i].weight = slowStartWeight(weight, up_since, now_ms, slow_start_ms);
    ramping = ramping || slowStartRamping(up_since, now_ms, slow_start_ms);
    // An open breaker takes a backend out like a failed check (half-open ones take probes), and
    // an ejected one is out until the control thread returns it.
    candidates_[i].healthy = state.healthy.load(std::memory_order_relaxed) &&
                             breaker != BreakerState::kOpen && !isEjected(state);
    candidates_[i].drained = state.drained.load(std::memory_order_relaxed);
  }
  next_ramp_ms_ = ramping ? now_ms + slowStartStepMs(slow_start_ms) : 0;
  holdBack();
  picker_->rebuild(candidates_);
}

void WorkerPool::recordOutcome(uint32_t index, Outcome outcome, uint64_t now_ms) {
  upstream::recordOutcome(*runtime_, index, outcome, now_ms);
  if (outcome == Outcome::kSuccess) {
    recordSuccess(index);
  } else {
    recordFailure(index);
  }
}

void WorkerPool::holdBack() {
  const auto& backends = runtime_->config->backends;
  bool primary_up = false;
  bool any_backup = false;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    candidates_[i].standby = false;
    any_backup = any_backup || backends[i].backup;
    primary_up = primary_up || (!backends[i].backup && candidates_[i].isUp());
  }
  if (runtime_->groups) {
    // Only the control thread's chosen group serves; it re-chooses on every health change.
    const int32_t active = runtime_->groups->active.load(std::memory_order_acquire);
    for (size_t g = 0; g < runtime_->config->groups.size(); ++g) {
      for (const uint32_t i : runtime_->config->groups[g].backends) {
        candidates_[i].standby = static_cast<int32_t>(g) != active;
      }
    }
    return;  // config validation forbids backups with groups
  }
  if (!any_backup) {
    return;
  }
  // HAProxy's rule: backups wait while any primary is up; then the first up backup in config
  // order serves alone, or every up backup with allbackups.
  bool serving = false;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    if (!backends[i].backup) {
      continue;
    }
    const bool up = candidates_[i].isUp();
    candidates_[i].standby = primary_up || (serving && !runtime_->config->all_backups);
    serving = serving || up;
  }
}

void WorkerPool::checkRecovery() {
  refresh();
  if (open_breakers_ == 0) {
    return;
  }
  const uint64_t now = core::monotonicMs();
  for (uint32_t i = 0; i < candidates_.size(); ++i) {
    onBreakerChange(i, runtime_->backends[i]->breaker.maybeHalfOpen(circuitConfig(), now));
  }
  refresh();
}

bool WorkerPool::connectionRoom(uint32_t index) const {
  const config::CircuitBreaker& cfg = circuitConfig();
  const uint32_t own_limit = runtime_->config->backends[index].max_connections;
  if (own_limit != 0 &&
      runtime_->backends[index]->connections.load(std::memory_order_relaxed) >= own_limit) {
    return false;
  }
  if (!cfg.enabled || cfg.max_connections == 0) {
    return true;
  }
  uint64_t open = 0;
  for (const auto& b : runtime_->backends) {
    open += b->connections.load(std::memory_order_relaxed);
  }
  return open < cfg.max_connections;
}

bool WorkerPool::breakerAdmits(uint32_t index) {
  return !breaking_ ||
         runtime_->backends[index]->breaker.admit(circuitConfig(), core::monotonicMs());
}

bool WorkerPool::anyBreakerOpen() {
  refresh();
  return breaking_;
}

void WorkerPool::recordSuccess(uint32_t index) {
  if (circuitConfig().breaks()) {
    onBreakerChange(index, runtime_->backends[index]->breaker.onSuccess());
  }
}

void WorkerPool::recordFailure(uint32_t index) {
  if (circuitConfig().breaks()) {
    onBreakerChange(
        index, runtime_->backends[index]->breaker.onFailure(circuitConfig(), core::monotonicMs()));
  }
}

void WorkerPool::onBreakerChange(uint32_t index, BreakerChange change) {
  if (change == BreakerChange::kNone) {
    return;
  }
  runtime_->generation->fetch_add(1, std::memory_order_release);
  const auto& backend = *runtime_->backends[index];
  if (change == BreakerChange::kHalfOpened) {
    core::LogLine(core::LogLevel::kInfo, "circuit.half_open", core::LogRepeat::kLimited)
        .str("pool", runtime_->config->name)
        .str("backend", backend.name);
    return;
  }
  const bool opened = change == BreakerChange::kOpened;
  core::LogLine(opened ? core::LogLevel::kWarn : core::LogLevel::kInfo,
                opened ? "circuit.open" : "circuit.closed", core::LogRepeat::kLimited)
      .str("pool", runtime_->config->name)
      .str("backend", backend.name);
}

void WorkerPool::refuse(CircuitRefusal reason) {
  circuit().countRefusal(reason);
  core::LogLine(core::LogLevel::kWarn, "circuit.refused", core::LogRepeat::kLimited)
      .str("pool", runtime_->config->name)
      .str("reason", circuitRefusalName(reason));
}

bool WorkerPool::isUp(uint32_t index) {
  checkRecovery();
  return index < candidates_.size() && candidates_[index].isUp();
}

bool WorkerPool::hasUntried(std::span<const uint32_t> tried) {
  checkRecovery();
  for (uint32_t i = 0; i < candidates_.size(); ++i) {
    if (candidates_[i].isUp() && std::find(tried.begin(), tried.end(), i) == tried.end()) {
      return true;
    }
  }
  return false;
}

std::optional<uint32_t> WorkerPool::pick(uint64_t key, std::span<const uint32_t> tried) {
  checkRecovery();
  if (picker_->usesLoad()) {
    for (size_t i = 0; i < candidates_.size(); ++i) {
      candidates_[i].active = runtime_->backends[i]->active.load(std::memory_order_relaxed);
    }
  }
  auto choice = picker_->pick(candidates_, key);
  if (!choice ||
      (std::find(tried.begin(), tried.end(), *choice) == tried.end() && breakerAdmits(*choice))) {
    return choice;
  }
  // The algorithm chose a backend that already failed this connection (hash algorithms always
  // will), or a half-open one with its probes out: walk on to the next backend that is up,
  // untried and admitted.
  const auto n = static_cast<uint32_t>(candidates_.size());
  for (uint32_t step = 1; step < n; ++step) {
    const uint32_t i = (*choice + step) % n;
    if (candidates_[i].isUp() && std::find(tried.begin(), tried.end(), i) == tried.end() &&
        breakerAdmits(i)) {
      return i;
    }
  }
  return std::nullopt;
}

}  // namespace ballast::upstream
