// src/upstream/health_checker.h — active TCP-connect health checks, run on the control thread's
// loop. A backend goes out after `fall` failed checks in a row and back after `rise` good ones;
// each change flips the backend's shared flag, bumps its pool's generation and is logged.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config_types.h"
#include "core/event_loop.h"
#include "upstream/pool_runtime.h"

namespace ballast::upstream {

struct HealthTarget {
  std::string pool;
  BackendStatePtr backend;
  config::HealthCheck check;
  std::shared_ptr<std::atomic<uint64_t>> generation;
};

class HealthChecker {
 public:
  HealthChecker(core::EventLoop& loop, uint64_t seed);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Replaces the checked set (start-up and every reload). A backend present before and after
  // keeps its counters and schedule.
  void setTargets(std::vector<HealthTarget> targets);
  // Called on the loop's thread after a backend changes state (audit, kernel reconcile). It
  // must not call setTargets: defer that to a timer.
  using ChangeFn = std::function<void(const HealthTarget& target, bool up, int err)>;
  void setOnChange(ChangeFn fn) { on_change_ = std::move(fn); }
  uint64_t stateChanges() const { return state_changes_; }
  uint64_t checksRun() const { return checks_run_; }

  class Probe;

 private:
  friend class Probe;
  void onProbeResult(Probe& p, bool ok, int err);
  uint64_t nextRandom();
  // The next check's delay: the interval stretched or shrunk by up to `jitter`.
  uint64_t jittered(const config::HealthCheck& check);

  core::EventLoop& loop_;
  uint64_t rng_;
  std::vector<std::unique_ptr<Probe>> probes_;
  std::vector<std::unique_ptr<Probe>> retiring_;  // removed while a connect was in flight
  uint64_t state_changes_ = 0;
  uint64_t checks_run_ = 0;
  ChangeFn on_change_;
};

}  // namespace ballast::upstream
