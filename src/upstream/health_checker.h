// src/upstream/health_checker.h — active health checks, run on the control thread's loop. A
// backend goes out after `fall` failed checks in a row and back after `rise` good ones; each
// change flips the backend's shared flag, bumps its pool's generation and is logged. What each
// check says over its connection lives in upstream/checks/; this file schedules and judges.
// Scheduling is one timer-wheel node per backend, so 10,000 backends cost nothing between checks.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
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

// What the admin API shows about one backend's checks.
struct HealthStatus {
  config::HealthCheckType type = config::HealthCheckType::kNone;
  std::string target;       // where the check connects
  bool has_result = false;  // false until the first check ends
  bool last_ok = false;
  std::string last_reason;
  uint64_t interval_ms = 0;  // the current interval, backoff included
  uint32_t ok_streak = 0;
  uint32_t fail_streak = 0;
};

constexpr size_t kHealthCheckTypes = static_cast<size_t>(config::HealthCheckType::kGrpc) + 1;

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
  using ChangeFn = std::function<void(const HealthTarget& target, bool up, const std::string& why)>;
  void setOnChange(ChangeFn fn) { on_change_ = std::move(fn); }
  uint64_t stateChanges() const { return state_changes_; }
  uint64_t checksRun() const { return checks_run_; }
  // Per check type (indexed by HealthCheckType): checks run and checks that failed.
  const std::array<uint64_t, kHealthCheckTypes>& checksByType() const { return by_type_; }
  const std::array<uint64_t, kHealthCheckTypes>& failuresByType() const { return failed_by_type_; }
  // nullopt when the backend is not checked by this checker.
  std::optional<HealthStatus> status(const BackendState& backend) const;

  class Probe;

 private:
  friend class Probe;
  void onProbeResult(Probe& p, bool ok, const std::string& why);
  uint64_t nextRandom();
  // The next check's delay: `base_ms` stretched or shrunk by up to `jitter`.
  uint64_t jittered(uint64_t base_ms, double jitter);

  core::EventLoop& loop_;
  uint64_t rng_;
  std::vector<std::unique_ptr<Probe>> probes_;
  std::unordered_map<const BackendState*, Probe*> by_backend_;
  std::vector<std::unique_ptr<Probe>> retiring_;  // removed while a check was in flight
  uint64_t state_changes_ = 0;
  uint64_t checks_run_ = 0;
  std::array<uint64_t, kHealthCheckTypes> by_type_{};
  std::array<uint64_t, kHealthCheckTypes> failed_by_type_{};
  ChangeFn on_change_;
};

}  // namespace ballast::upstream
