// src/policy/gcra_table.cpp — GCRA over a shared table of atomics: each slot packs a 16-bit key
// tag with a 48-bit theoretical arrival time (µs of the monotonic clock: 8.9 years of uptime).
#include "policy/gcra_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstdlib>

namespace ballast::policy {
namespace {

constexpr int kTatBits = 48;
constexpr uint64_t kTatMask = (uint64_t{1} << kTatBits) - 1;
// Multiplier of a 64-bit multiplicative hash (2^64 / golden ratio): the second probe must not
// follow from the first.
constexpr uint64_t kMix = 0x9e3779b97f4a7c15ULL;

uint64_t tagOf(uint64_t v) { return v >> kTatBits; }
uint64_t tatOf(uint64_t v) { return v & kTatMask; }

}  // namespace

GcraLimit GcraLimit::of(uint64_t rate, uint64_t period_us, uint64_t burst) {
  GcraLimit l;
  l.interval_us = std::max<uint64_t>(1, period_us / std::max<uint64_t>(1, rate));
  l.burst = std::max<uint64_t>(1, burst);
  return l;
}

void GcraSlotsUnmap::operator()(std::atomic<uint64_t>* p) const { munmap(p, bytes); }

GcraTable::GcraTable(size_t slots) : mask_(std::bit_ceil(std::max<size_t>(slots, 2)) - 1) {
  static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t) &&
                std::atomic<uint64_t>::is_always_lock_free);
  const size_t bytes = (mask_ + 1) * sizeof(uint64_t);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  // Out of address space at startup is not something to run on; zero pages read as empty slots.
  if (p == MAP_FAILED) {
    std::abort();
  }
  slots_ = std::unique_ptr<std::atomic<uint64_t>[], GcraSlotsUnmap>(
      static_cast<std::atomic<uint64_t>*>(p), GcraSlotsUnmap{bytes});
}

GcraTable& GcraTable::process() {
  static GcraTable table;
  return table;
}

GcraDecision GcraTable::take(uint64_t key, const GcraLimit& limit, uint64_t now_us) {
  now_us &= kTatMask;
  const uint64_t tag = tagOf(key);
  std::atomic<uint64_t>& a = slots_[key & mask_];
  std::atomic<uint64_t>& b = slots_[(key * kMix >> (64 - kTatBits)) & mask_];
  uint64_t va = a.load(std::memory_order_acquire);
  uint64_t vb = b.load(std::memory_order_acquire);
  // The key's own slot if it has one; else a free one (its key idle: bucket full again); else the
  // one that frees soonest, taken from its key (counted).
  std::atomic<uint64_t>* slot = nullptr;
  if (tagOf(va) == tag) {
    slot = &a;
  } else if (tagOf(vb) == tag) {
    slot = &b;
  } else if (tatOf(va) <= now_us) {
    slot = &a;
  } else if (tatOf(vb) <= now_us) {
    slot = &b;
  } else {
    slot = tatOf(va) <= tatOf(vb) ? &a : &b;
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  const uint64_t tolerance = limit.toleranceUs();
  uint64_t v = slot->load(std::memory_order_acquire);
  for (;;) {
    const uint64_t tat = tagOf(v) == tag ? tatOf(v) : 0;
    const uint64_t start = std::max(tat, now_us);
    const uint64_t next = start + limit.interval_us;
    GcraDecision d;
    if (next - now_us > tolerance) {
      d.retry_after_us = next - tolerance - now_us;
      d.reset_us = start - now_us;
      return d;
    }
    if (slot->compare_exchange_weak(v, (tag << kTatBits) | (next & kTatMask),
                                    std::memory_order_acq_rel, std::memory_order_acquire)) {
      d.allowed = true;
      d.remaining = (tolerance - (next - now_us)) / limit.interval_us;
      d.reset_us = next - now_us;
      return d;
    }
  }
}

}  // namespace ballast::policy
