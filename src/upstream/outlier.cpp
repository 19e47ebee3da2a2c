// src/upstream/outlier.cpp — outcome counting, ejection under the pool's cap, and the control
// thread's sweep (returns, success-rate test, multiplier decay).
#include "upstream/outlier.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace ballast::upstream {
namespace {

constexpr uint16_t kFirstServerError = 500;
constexpr uint16_t kBadGateway = 502;
constexpr uint16_t kGatewayTimeout = 504;
constexpr uint64_t kPercent = 100;

constexpr std::array<std::string_view, OutlierState::kReasons> kReasonNames = {
    "consecutive_5xx", "consecutive_gateway_failure", "success_rate"};

// Clears a run counter without a write when it is already zero: most answers are successes, and
// a store to a line every worker reads would bounce it between cores for nothing.
void clearRun(std::atomic<uint32_t>& run) {
  if (run.load(std::memory_order_relaxed) != 0) {
    run.store(0, std::memory_order_relaxed);
  }
}

size_t ejectedCount(const PoolRuntime& pool) {
  size_t n = 0;
  for (const auto& b : pool.backends) {
    n += isEjected(*b) ? 1 : 0;
  }
  return n;
}

// At most max_ejection_percent of the pool, but one backend always may go (as in Envoy): in a
// pool of three, 10% would otherwise never eject anything.
size_t ejectionCap(const config::OutlierDetection& cfg, size_t pool_size) {
  if (cfg.max_ejection_percent == 0) {
    return 0;
  }
  return std::max<size_t>(1, pool_size * cfg.max_ejection_percent / kPercent);
}

}  // namespace

Outcome outcomeForStatus(uint16_t status) {
  if (status < kFirstServerError) {
    return Outcome::kSuccess;
  }
  if (status >= kBadGateway && status <= kGatewayTimeout) {
    return Outcome::kGatewayError;
  }
  return Outcome::kServerError;
}

std::string_view ejectReasonName(EjectReason reason) {
  return kReasonNames[static_cast<size_t>(reason)];
}

uint64_t ejectionMs(const config::OutlierDetection& cfg, uint32_t times) {
  const auto base = static_cast<uint64_t>(cfg.base_ejection_time.count());
  const auto max = static_cast<uint64_t>(cfg.max_ejection_time.count());
  const uint64_t factor = std::max<uint32_t>(times, 1);
  return factor > max / std::max<uint64_t>(base, 1) ? max : std::min(base * factor, max);
}

bool recordOutcome(const PoolRuntime& pool, uint32_t index, Outcome outcome, uint64_t now_ms) {
  const auto& cfg = pool.config->outlier;
  if (!cfg.enabled || index >= pool.backends.size()) {
    return false;
  }
  auto& o = pool.backends[index]->outlier;
  if (cfg.success_rate) {
    o.window_requests.fetch_add(1, std::memory_order_relaxed);
    if (outcome == Outcome::kSuccess) {
      o.window_successes.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (outcome == Outcome::kSuccess) {
    clearRun(o.consecutive_5xx);
    clearRun(o.consecutive_gateway);
    return false;
  }
  const uint32_t run_5xx = o.consecutive_5xx.fetch_add(1, std::memory_order_relaxed) + 1;
  uint32_t run_gateway = 0;
  if (outcome == Outcome::kServerError) {
    clearRun(o.consecutive_gateway);
  } else {
    run_gateway = o.consecutive_gateway.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  if (cfg.consecutive_gateway_failures != 0 && run_gateway >= cfg.consecutive_gateway_failures) {
    return tryEject(pool, index, EjectReason::kConsecutiveGatewayFailure, now_ms);
  }
  if (cfg.consecutive_5xx != 0 && run_5xx >= cfg.consecutive_5xx) {
    return tryEject(pool, index, EjectReason::kConsecutive5xx, now_ms);
  }
  return false;
}

bool tryEject(const PoolRuntime& pool, uint32_t index, EjectReason reason, uint64_t now_ms) {
  auto& o = pool.backends[index]->outlier;
  if (o.ejected.load(std::memory_order_acquire) ||
      pool.ejecting.exchange(true, std::memory_order_acquire)) {
    return false;  // out already, or another worker is ejecting: this run will come round again
  }
  const auto& cfg = pool.config->outlier;
  const bool allowed = !o.ejected.load(std::memory_order_relaxed) &&
                       ejectedCount(pool) < ejectionCap(cfg, pool.backends.size());
  // A run that could not eject starts over, so a pool at its cap is not rescanned per failure.
  o.consecutive_5xx.store(0, std::memory_order_relaxed);
  o.consecutive_gateway.store(0, std::memory_order_relaxed);
  if (allowed) {
    const uint32_t times = o.times_ejected.fetch_add(1, std::memory_order_relaxed) + 1;
    o.ejected_at_ms.store(now_ms, std::memory_order_relaxed);
    o.ejected_until_ms.store(now_ms + ejectionMs(cfg, times), std::memory_order_relaxed);
    o.reason.store(static_cast<uint8_t>(reason), std::memory_order_relaxed);
    o.ejections_total[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
    o.reported.store(false, std::memory_order_relaxed);
    o.ejected.store(true, std::memory_order_release);
    pool.generation->fetch_add(1, std::memory_order_release);
  }
  pool.ejecting.store(false, std::memory_order_release);
  return allowed;
}

bool OutlierSweeper::returnToService(const PoolRuntime& pool, uint32_t index, uint64_t now_ms,
                                     OutlierEvent* event) {
  auto& o = pool.backends[index]->outlier;
  if (!o.ejected.exchange(false, std::memory_order_acq_rel)) {
    return false;
  }
  // Counted from its return: a backend must serve a whole interval before its multiplier decays.
  o.ejected_until_ms.store(now_ms, std::memory_order_relaxed);
  // Slow start ramps it back in (before the generation bump, which makes workers look).
  pool.backends[index]->up_since_ms.store(now_ms, std::memory_order_relaxed);
  pool.generation->fetch_add(1, std::memory_order_release);
  if (event != nullptr) {
    event->pool = pool.config->name;
    event->backend = pool.backends[index]->name;
    event->ejected = false;
    event->reason = static_cast<EjectReason>(o.reason.load(std::memory_order_relaxed));
    event->duration_ms = now_ms - o.ejected_at_ms.load(std::memory_order_relaxed);
    event->times = o.times_ejected.load(std::memory_order_relaxed);
  }
  return true;
}

std::vector<OutlierEvent> OutlierSweeper::sweep(const std::vector<const PoolRuntime*>& pools,
                                                uint64_t now_ms) {
  std::vector<OutlierEvent> events;
  for (const PoolRuntime* pool : pools) {
    const auto& cfg = pool->config->outlier;
    if (!cfg.enabled) {
      continue;
    }
    for (uint32_t i = 0; i < pool->backends.size(); ++i) {
      auto& o = pool->backends[i]->outlier;
      if (!o.ejected.load(std::memory_order_acquire)) {
        continue;
      }
      const uint64_t until = o.ejected_until_ms.load(std::memory_order_relaxed);
      if (!o.reported.exchange(true, std::memory_order_relaxed)) {
        const uint64_t at = o.ejected_at_ms.load(std::memory_order_relaxed);
        events.push_back({pool->config->name, pool->backends[i]->name, true,
                          static_cast<EjectReason>(o.reason.load(std::memory_order_relaxed)),
                          until - at, o.times_ejected.load(std::memory_order_relaxed)});
      }
      if (now_ms >= until) {
        OutlierEvent back;
        if (returnToService(*pool, i, now_ms, &back)) {
          events.push_back(std::move(back));
        }
      }
    }
    auto [it, first] = last_pass_ms_.try_emplace(pool->config->name, now_ms);
    if (first || now_ms - it->second < static_cast<uint64_t>(cfg.interval.count())) {
      continue;
    }
    it->second = now_ms;
    // A backend that served a whole interval since its last ejection owes one step less.
    for (const auto& b : pool->backends) {
      auto& o = b->outlier;
      const uint32_t times = o.times_ejected.load(std::memory_order_relaxed);
      if (times != 0 && !o.ejected.load(std::memory_order_relaxed) &&
          now_ms - o.ejected_until_ms.load(std::memory_order_relaxed) >=
              static_cast<uint64_t>(cfg.interval.count())) {
        o.times_ejected.store(times - 1, std::memory_order_relaxed);
      }
    }
    if (cfg.success_rate) {
      compareSuccessRates(*pool, now_ms, events);
    }
  }
  return events;
}

void OutlierSweeper::compareSuccessRates(const PoolRuntime& pool, uint64_t now_ms,
                                         std::vector<OutlierEvent>& out) {
  const auto& cfg = pool.config->outlier;
  struct Rate {
    uint32_t index;
    double rate;
  };
  std::vector<Rate> rates;
  for (uint32_t i = 0; i < pool.backends.size(); ++i) {
    auto& o = pool.backends[i]->outlier;
    const uint64_t requests = o.window_requests.exchange(0, std::memory_order_relaxed);
    const uint64_t successes = o.window_successes.exchange(0, std::memory_order_relaxed);
    if (requests >= cfg.success_rate_min_requests && !o.ejected.load(std::memory_order_relaxed)) {
      rates.push_back(
          {i, static_cast<double>(std::min(successes, requests)) / static_cast<double>(requests)});
    }
  }
  if (rates.size() < cfg.success_rate_min_hosts || rates.empty()) {
    return;
  }
  double sum = 0;
  for (const auto& r : rates) {
    sum += r.rate;
  }
  const double mean = sum / static_cast<double>(rates.size());
  double squares = 0;
  for (const auto& r : rates) {
    squares += (r.rate - mean) * (r.rate - mean);
  }
  const double stdev = std::sqrt(squares / static_cast<double>(rates.size()));
  const double threshold = mean - cfg.success_rate_stdev_factor * stdev;
  for (const auto& r : rates) {
    if (r.rate < threshold && tryEject(pool, r.index, EjectReason::kSuccessRate, now_ms)) {
      auto& o = pool.backends[r.index]->outlier;
      o.reported.store(true, std::memory_order_relaxed);
      const uint64_t until = o.ejected_until_ms.load(std::memory_order_relaxed);
      out.push_back({pool.config->name, pool.backends[r.index]->name, true,
                     EjectReason::kSuccessRate, until - now_ms,
                     o.times_ejected.load(std::memory_order_relaxed), r.rate, threshold});
    }
  }
}

}  // namespace ballast::upstream
