// src/policy/share_table.cpp — local token shares: a word per slot packs the key's 32-bit tag
// and its token count (biased, so a small debt stays positive), updated with compare-and-swap.
#include "policy/share_table.h"

#include <algorithm>
#include <bit>

namespace ballast::policy {
namespace {

constexpr int kTagShift = 32;
constexpr uint64_t kLowMask = (uint64_t{1} << kTagShift) - 1;
constexpr int64_t kTokenBias = int64_t{1} << 31;
// Multiplier of a 64-bit multiplicative hash (2^64 / golden ratio) for the second probe.
constexpr uint64_t kMix = 0x9e3779b97f4a7c15ULL;

// Never 0, so an empty word (0) matches no key.
uint64_t tagOf(uint64_t key) { return (key >> kTagShift) | 1; }
uint64_t wordTag(uint64_t word) { return word >> kTagShift; }
int64_t wordTokens(uint64_t word) { return static_cast<int64_t>(word & kLowMask) - kTokenBias; }
uint64_t makeWord(uint64_t tag, int64_t tokens) {
  return (tag << kTagShift) | (static_cast<uint64_t>(tokens + kTokenBias) & kLowMask);
}

}  // namespace

uint32_t leaseSize(uint64_t rate, uint64_t period_us, uint64_t burst) {
  const uint64_t in_window = period_us == 0 ? rate : rate * kLeaseWindowUs / period_us;
  return static_cast<uint32_t>(
      std::max<uint64_t>(1, std::min(in_window, burst / kLeaseBurstDivisor)));
}

ShareTable::ShareTable(size_t slots)
    : slots_(std::bit_ceil(std::max<size_t>(slots, 2))),
      mask_(std::bit_ceil(std::max<size_t>(slots, 2)) - 1) {}

uint32_t ShareTable::slotFor(uint64_t key, uint64_t now_us) {
  const uint64_t tag = tagOf(key);
  const auto a = static_cast<uint32_t>(key & mask_);
  const auto b = static_cast<uint32_t>((key * kMix >> kTagShift) & mask_);
  for (;;) {
    uint64_t va = slots_[a].word.load(std::memory_order_acquire);
    uint64_t vb = slots_[b].word.load(std::memory_order_acquire);
    if (wordTag(va) == tag) {
      return a;
    }
    if (wordTag(vb) == tag) {
      return b;
    }
    // A free slot (empty, or its key idle with no refill in flight), else the least recently
    // used of the two, taken from its key (counted).
    const auto idle = [&](uint32_t i, uint64_t v) {
      const ShareSlot& s = slots_[i];
      return v == 0 || (s.pending.load(std::memory_order_acquire) == 0 &&
                        s.last_used_us.load(std::memory_order_relaxed) + kShareIdleUs <= now_us);
    };
    uint32_t pick = a;
    uint64_t seen = va;
    bool evict = false;
    if (idle(a, va)) {
      pick = a;
    } else if (idle(b, vb)) {
      pick = b;
      seen = vb;
    } else {
      evict = true;
      if (slots_[b].last_used_us.load(std::memory_order_relaxed) <
          slots_[a].last_used_us.load(std::memory_order_relaxed)) {
        pick = b;
        seen = vb;
      }
    }
    ShareSlot& s = slots_[pick];
    if (s.word.compare_exchange_strong(seen, makeWord(tag, 0), std::memory_order_acq_rel)) {
      s.wait_until_us.store(0, std::memory_order_relaxed);
      if (evict) {
        evictions_.fetch_add(1, std::memory_order_relaxed);
      }
      return pick;
    }
  }
}

ShareDecision ShareTable::take(uint64_t key, uint32_t lease, uint64_t now_us, bool store_up) {
  ShareDecision d;
  d.slot = slotFor(key, now_us);
  ShareSlot& s = slots_[d.slot];
  s.last_used_us.store(now_us, std::memory_order_relaxed);
  const uint64_t tag = tagOf(key);
  const int64_t low_water = lease / 2;
  const bool may_ask = store_up && s.wait_until_us.load(std::memory_order_relaxed) <= now_us;
  const auto ask = [&s]() {
    uint32_t idle = 0;
    return s.pending.compare_exchange_strong(idle, 1, std::memory_order_acq_rel);
  };
  uint64_t v = s.word.load(std::memory_order_acquire);
  for (;;) {
    if (wordTag(v) != tag) {  // taken by another key between the lookup and now
      return take(key, lease, now_us, store_up);
    }
    const int64_t tokens = wordTokens(v);
    if (tokens > 0 || (may_ask && tokens > -kShareCredit)) {
      if (!s.word.compare_exchange_weak(v, makeWord(tag, tokens - 1), std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
        continue;
      }
      d.outcome = ShareDecision::kAllowed;
      d.remaining = std::max<int64_t>(0, tokens - 1);
      d.refill = may_ask && tokens - 1 <= low_water && ask();
      return d;
    }
    if (!store_up) {
      d.outcome = ShareDecision::kStoreDown;
      return d;
    }
    d.outcome = ShareDecision::kRefused;
    const uint64_t wait_until = s.wait_until_us.load(std::memory_order_relaxed);
    d.retry_after_us = wait_until > now_us ? wait_until - now_us : 0;
    // In debt with nothing in flight (a refill failed): ask again.
    d.refill = may_ask && ask();
    return d;
  }
}

void ShareTable::apply(uint32_t slot, uint64_t key, uint32_t granted, uint64_t wait_us,
                       uint64_t now_us) {
  ShareSlot& s = slots_[slot & mask_];
  const uint64_t tag = tagOf(key);
  if (granted == 0) {
    s.wait_until_us.store(now_us + wait_us, std::memory_order_relaxed);
  }
  uint64_t v = s.word.load(std::memory_order_acquire);
  while (granted > 0 && wordTag(v) == tag &&
         !s.word.compare_exchange_weak(v, makeWord(tag, wordTokens(v) + granted),
                                       std::memory_order_acq_rel, std::memory_order_acquire)) {
  }
  s.pending.store(0, std::memory_order_release);
}

void ShareTable::failed(uint32_t slot) {
  slots_[slot & mask_].pending.store(0, std::memory_order_release);
}

}  // namespace ballast::policy
