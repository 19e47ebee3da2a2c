// src/config/outlier_types.h — a pool's passive health settings (`outlier_detection:`), as plain
// values. Workers count each backend's answers against them; the control thread ends ejections.
#pragma once

#include <chrono>
#include <cstdint>

namespace ballast::config {

// Defaults, as Envoy's outlier detection has them (its gateway-failure detector is on here too:
// a backend that stops accepting is the commonest failure a load balancer sees).
inline constexpr uint32_t kDefaultConsecutive5xx = 5;
inline constexpr uint32_t kDefaultConsecutiveGatewayFailures = 5;
inline constexpr std::chrono::milliseconds kDefaultOutlierInterval{10000};
inline constexpr std::chrono::milliseconds kDefaultBaseEjectionTime{30000};
inline constexpr std::chrono::milliseconds kDefaultMaxEjectionTime{300000};
inline constexpr uint32_t kDefaultMaxEjectionPercent = 10;
inline constexpr uint32_t kDefaultSuccessRateMinHosts = 5;
inline constexpr uint32_t kDefaultSuccessRateMinRequests = 100;
inline constexpr double kDefaultSuccessRateStdevFactor = 1.9;

struct OutlierDetection {
  bool enabled = false;  // an `outlier_detection:` mapping was given
  // Answers in a row that eject a backend; 0 turns the detector off. A 5xx is any answer of
  // 500..599 or a gateway failure; a gateway failure is a failed connect, a reset or a timeout
  // before the answer, a malformed answer, or a 502, 503 or 504.
  uint32_t consecutive_5xx = kDefaultConsecutive5xx;
  uint32_t consecutive_gateway_failures = kDefaultConsecutiveGatewayFailures;
  // How often the success rates are compared and ejection multipliers decay.
  std::chrono::milliseconds interval = kDefaultOutlierInterval;
  // An ejection lasts base × (times this backend was ejected), at most max.
  std::chrono::milliseconds base_ejection_time = kDefaultBaseEjectionTime;
  std::chrono::milliseconds max_ejection_time = kDefaultMaxEjectionTime;
  // Never more of the pool out at once (but always at least one backend may go).
  uint32_t max_ejection_percent = kDefaultMaxEjectionPercent;
  // Success rate (`success_rate:` given): every interval, among the backends with at least
  // min_requests answers, when there are min_hosts of them, a backend whose rate is below
  // mean − stdev_factor × standard deviation is ejected.
  bool success_rate = false;
  uint32_t success_rate_min_hosts = kDefaultSuccessRateMinHosts;
  uint32_t success_rate_min_requests = kDefaultSuccessRateMinRequests;
  double success_rate_stdev_factor = kDefaultSuccessRateStdevFactor;
};

}  // namespace ballast::config
