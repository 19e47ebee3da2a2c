// src/core/clock.h — the monotonic millisecond clock the timers and timeouts run on.
#pragma once

#include <time.h>

#include <cstdint>

namespace ballast::core {

constexpr uint64_t kMsPerSecond = 1000;
constexpr uint64_t kNsPerMs = 1000000;

inline uint64_t monotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kMsPerSecond +
         static_cast<uint64_t>(ts.tv_nsec) / kNsPerMs;
}

constexpr uint64_t kNsPerUs = 1000;
constexpr uint64_t kUsPerSecond = 1000000;

// Wall-clock milliseconds since the Unix epoch, for timestamps people read (audit records, logs);
// never for timeouts, which run on the monotonic clock.
inline uint64_t unixMs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kMsPerSecond +
         static_cast<uint64_t>(ts.tv_nsec) / kNsPerMs;
}

// For durations worth reporting below a millisecond (health-check latency).
inline uint64_t monotonicUs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kUsPerSecond +
         static_cast<uint64_t>(ts.tv_nsec) / kNsPerUs;
}

}  // namespace ballast::core
