// src/upstream/slow_start.h — the weight a backend gets while it ramps up after coming up, and
// how often a worker re-derives it. Pure functions, so the ramp is tested without a clock.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ballast::upstream {

// Workers re-derive ramping weights every slow_start / kSlowStartSteps, but no more often than
// kSlowStartMinStepMs: a 30s ramp moves in 3s steps, a 2s one in 500ms steps. Each re-derive
// rebuilds the picker (an allocation for Maglev), so the floor bounds that cost per worker.
inline constexpr uint64_t kSlowStartSteps = 10;
inline constexpr uint64_t kSlowStartMinStepMs = 500;

inline uint64_t slowStartStepMs(uint64_t slow_start_ms) {
  return std::max(slow_start_ms / kSlowStartSteps, kSlowStartMinStepMs);
}

// HAProxy's rule: weight × elapsed / slow_start, at least 1 so a ramping backend is never shut
// out; the full weight once slow_start has passed. A weight of 0 stays 0 (admin off).
// `up_since_ms` 0 means up since start-up: no ramp.
inline uint32_t slowStartWeight(uint32_t weight, uint64_t up_since_ms, uint64_t now_ms,
                                uint64_t slow_start_ms) {
  if (weight == 0 || slow_start_ms == 0 || up_since_ms == 0 || now_ms < up_since_ms ||
      now_ms - up_since_ms >= slow_start_ms) {
    return weight;
  }
  const uint64_t scaled = uint64_t{weight} * (now_ms - up_since_ms) / slow_start_ms;
  return static_cast<uint32_t>(std::max<uint64_t>(scaled, 1));
}

// Whether a backend is still ramping at `now_ms` (so the worker must come back to it).
inline bool slowStartRamping(uint64_t up_since_ms, uint64_t now_ms, uint64_t slow_start_ms) {
  return slow_start_ms != 0 && up_since_ms != 0 && now_ms >= up_since_ms &&
         now_ms - up_since_ms < slow_start_ms;
}

}  // namespace ballast::upstream
