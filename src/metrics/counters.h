// src/metrics/counters.h — counters, gauges and histograms written by exactly one thread (their
// worker) and read by the scraper. A write is a relaxed load and store (no lock prefix, no
// shared cache line written by two cores); the scraper sums every worker's copy.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace ballast::metrics {

class Counter {
 public:
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Goes up and down on its own thread; summed across workers it is the live total.
class Gauge {
 public:
  void inc() { v_.store(v_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  void dec() { v_.store(v_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Latency buckets in microseconds, exposed in seconds: 1 ms to 10 s, the range HTTP proxies
// care about.
inline constexpr std::array<uint64_t, 13> kLatencyBucketsUs = {
    1000,   2500,   5000,    10000,   25000,   50000,   100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000};

class Histogram {
 public:
  void observeUs(uint64_t us) {
    size_t i = 0;
    while (i < kLatencyBucketsUs.size() && us > kLatencyBucketsUs[i]) {
      ++i;
    }
    buckets_[i].add();  // non-cumulative here; the scrape accumulates
    sum_us_.add(us);
  }
  uint64_t bucket(size_t i) const { return buckets_[i].value(); }
  uint64_t sumUs() const { return sum_us_.value(); }

 private:
  std::array<Counter, kLatencyBucketsUs.size() + 1> buckets_;  // last: +Inf
  Counter sum_us_;
};

}  // namespace ballast::metrics
