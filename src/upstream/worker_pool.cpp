// src/upstream/worker_pool.cpp — candidate refresh and retry-aware picking.
#include "upstream/worker_pool.h"

#include <algorithm>

#include "core/clock.h"
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
  const auto slow_start_ms = static_cast<uint64_t>(runtime_->config->slow_start.count());
  const uint64_t now_ms = slow_start_ms != 0 ? clock_() : 0;
  bool ramping = false;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    const auto& state = *runtime_->backends[i];
    const uint32_t weight = state.weight(runtime_->config->backends[i].weight);
    const uint64_t up_since = state.up_since_ms.load(std::memory_order_relaxed);
    candidates_[i].weight = slowStartWeight(weight, up_since, now_ms, slow_start_ms);
    ramping = ramping || slowStartRamping(up_since, now_ms, slow_start_ms);
    candidates_[i].healthy = state.healthy.load(std::memory_order_relaxed);
    candidates_[i].drained = state.drained.load(std::memory_order_relaxed);
  }
  next_ramp_ms_ = ramping ? now_ms + slowStartStepMs(slow_start_ms) : 0;
  holdBack();
  picker_->rebuild(candidates_);
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

bool WorkerPool::isUp(uint32_t index) {
  refresh();
  return index < candidates_.size() && candidates_[index].isUp();
}

bool WorkerPool::hasUntried(std::span<const uint32_t> tried) {
  refresh();
  for (uint32_t i = 0; i < candidates_.size(); ++i) {
    if (candidates_[i].isUp() && std::find(tried.begin(), tried.end(), i) == tried.end()) {
      return true;
    }
  }
  return false;
}

std::optional<uint32_t> WorkerPool::pick(uint64_t key, std::span<const uint32_t> tried) {
  refresh();
  if (picker_->usesLoad()) {
    for (size_t i = 0; i < candidates_.size(); ++i) {
      candidates_[i].active = runtime_->backends[i]->active.load(std::memory_order_relaxed);
    }
  }
  auto choice = picker_->pick(candidates_, key);
  if (!choice || std::find(tried.begin(), tried.end(), *choice) == tried.end()) {
    return choice;
  }
  // The algorithm chose a backend that already failed this connection (hash algorithms always
  // will): walk on to the next backend that is up and untried.
  const auto n = static_cast<uint32_t>(candidates_.size());
  for (uint32_t step = 1; step < n; ++step) {
    const uint32_t i = (*choice + step) % n;
    if (candidates_[i].isUp() && std::find(tried.begin(), tried.end(), i) == tried.end()) {
      return i;
    }
  }
  return std::nullopt;
}

}  // namespace ballast::upstream
