// src/upstream/outlier.h — passive health (outlier detection): what each answer from a backend
// says about it, and the ejections that follow. Workers record outcomes and eject at once when a
// run of failures crosses a threshold; the control thread's sweep ends ejections, runs the
// success-rate test each interval, and reports what changed (log, audit) off the request path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "upstream/pool_runtime.h"

namespace ballast::upstream {

// One answer or failure from a backend.
enum class Outcome : uint8_t {
  kSuccess,       // an answer below 500 (L4: a connect that worked)
  kServerError,   // 500..599 except 502, 503, 504
  kGatewayError,  // 502, 503 or 504 from the backend
  kLocalFailure,  // failed connect, reset or timeout before the answer, malformed answer
};

Outcome outcomeForStatus(uint16_t status);

enum class EjectReason : uint8_t { kConsecutive5xx, kConsecutiveGatewayFailure, kSuccessRate };

std::string_view ejectReasonName(EjectReason reason);

// Any worker. Counts `outcome` for backend `index` of `pool`; ejects it when this outcome ends a
// run long enough. True when this call ejected it (the caller bumps nothing: the pool's
// generation is bumped here). No-op when the pool has no outlier_detection.
bool recordOutcome(const PoolRuntime& pool, uint32_t index, Outcome outcome, uint64_t now_ms);

// Any thread. Ejects backend `index` for `reason` unless it is out already, another ejection of
// the pool is under way, or the pool is at max_ejection_percent. True when it did.
bool tryEject(const PoolRuntime& pool, uint32_t index, EjectReason reason, uint64_t now_ms);

// Whether a backend is ejected (the picker's view; relaxed).
inline bool isEjected(const BackendState& b) {
  return b.outlier.ejected.load(std::memory_order_relaxed);
}

// What a sweep saw change, for the control thread to log and audit.
struct OutlierEvent {
  std::string pool;
  std::string backend;
  bool ejected = false;  // false: returned to service
  EjectReason reason = EjectReason::kConsecutive5xx;
  uint64_t duration_ms = 0;  // ejected: how long it is out for; returned: how long it was out
  uint32_t times = 0;        // the ejection multiplier
  double success_rate = -1;  // kSuccessRate: the backend's rate, and the threshold it missed
  double threshold = -1;
};

// Control thread only. Keeps, per pool, when its success rates were last compared.
class OutlierSweeper {
 public:
  // Reports ejections the workers made since the last call, returns backends whose time is up,
  // and, per pool whose interval passed, compares success rates and decays multipliers.
  std::vector<OutlierEvent> sweep(const std::vector<const PoolRuntime*>& pools, uint64_t now_ms);
  // Ends `backend`'s ejection now (its active check saw it come back up). True when it was out.
  static bool returnToService(const PoolRuntime& pool, uint32_t index, uint64_t now_ms,
                              OutlierEvent* event);

 private:
  void compareSuccessRates(const PoolRuntime& pool, uint64_t now_ms,
                           std::vector<OutlierEvent>& out);

  std::unordered_map<std::string, uint64_t> last_pass_ms_;  // by pool name
};

// How long an ejection lasts: base × times, capped at max.
uint64_t ejectionMs(const config::OutlierDetection& cfg, uint32_t times);

}  // namespace ballast::upstream
