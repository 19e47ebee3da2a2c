// src/policy/gcra_table.h — the rate-limit state every worker shares: a fixed-size table of
// GCRA "theoretical arrival times", one 64-bit atomic per slot, updated with compare-and-swap.
// Fixed size bounds memory whatever the number of keys; a slot whose key is idle (its bucket
// full again) is free for another key, which is how idle keys are evicted.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace ballast::policy {

// Slots in the process-wide table: 8 MiB. Two slots are probed per key, so about a million
// keys busy at the same moment fit before limited keys start taking each other's slot.
inline constexpr size_t kDefaultGcraSlots = size_t{1} << 20;

// One limit: `rate` requests per `period_us`, at most `burst` at once.
struct GcraLimit {
  uint64_t interval_us = 0;  // emission interval: period / rate
  uint64_t burst = 1;        // requests a full bucket admits back to back

  static GcraLimit of(uint64_t rate, uint64_t period_us, uint64_t burst);
  uint64_t toleranceUs() const { return interval_us * burst; }
};

struct GcraDecision {
  bool allowed = false;
  uint64_t remaining = 0;       // requests a burst could still make now (after this one)
  uint64_t retry_after_us = 0;  // refused: when the next request would pass
  uint64_t reset_us = 0;        // until the bucket is full again
};

// Deleter of the table's mapping.
struct GcraSlotsUnmap {
  size_t bytes = 0;
  void operator()(std::atomic<uint64_t>* p) const;
};

class GcraTable {
 public:
  // `slots` is rounded up to a power of two.
  explicit GcraTable(size_t slots = kDefaultGcraSlots);

  // Any thread, lock-free. `key` is a hash of the rule and the request's key; `now_us` a
  // monotonic clock (never 0). Admits or refuses one request and records it.
  GcraDecision take(uint64_t key, const GcraLimit& limit, uint64_t now_us);

  // Keys that took a slot still busy with another key (the table was too small); counted, the
  // request is decided as if the key were new.
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  size_t slots() const { return mask_ + 1; }

  // The table the workers share, made on first use.
  static GcraTable& process();

 private:
  // Anonymous zero pages (munmap'd by the deleter): untouched slots cost no resident memory.
  std::unique_ptr<std::atomic<uint64_t>[], GcraSlotsUnmap> slots_;
  size_t mask_ = 0;
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace ballast::policy
