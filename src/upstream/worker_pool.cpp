// src/upstream/worker_pool.cpp — candidate refresh and retry-aware picking.
#include "upstream/worker_pool.h"

#include <algorithm>

namespace ballast::upstream {

WorkerPool::WorkerPool(const PoolRuntime* runtime, uint64_t seed, metrics::WorkerMetrics* metrics)
    : runtime_(runtime),
      picker_(balance::makePicker(runtime->config->algorithm, seed)),
      candidates_(runtime->backends.size()) {
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
  if (gen == seen_generation_) {
    return;
  }
  seen_generation_ = gen;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    const auto& state = *runtime_->backends[i];
    candidates_[i].weight = state.weight(runtime_->config->backends[i].weight);
    // An ejected backend is out like a failed one until the control thread returns it.
    candidates_[i].healthy = state.healthy.load(std::memory_order_relaxed) && !isEjected(state);
    candidates_[i].drained = state.drained.load(std::memory_order_relaxed);
  }
  picker_->rebuild(candidates_);
}

void WorkerPool::recordOutcome(uint32_t index, Outcome outcome, uint64_t now_ms) {
  upstream::recordOutcome(*runtime_, index, outcome, now_ms);
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
