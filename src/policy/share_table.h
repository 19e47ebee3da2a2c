// src/policy/share_table.h — the local shares of `store:` rate limits: per key, tokens leased
// from the shared store (Redis) and spent by the workers without a round trip. A fixed table of
// atomics like the GCRA table: bounded memory, idle keys evicted by whoever needs their slot.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ballast::policy {

// Slots per store: 2 MiB. Two are probed per key, so tens of thousands of keys busy at the
// same moment fit before keys take each other's slot (counted; the evicted key's leftover
// tokens are lost, which only ever admits less).
inline constexpr size_t kDefaultShareSlots = size_t{1} << 16;
// A key unused this long frees its slot for another key.
inline constexpr uint64_t kShareIdleUs = 10'000'000;
// A lease is what the rule admits in this window (at least 1 token, at most a quarter of the
// burst): at 100/s a round trip buys 5 requests, at 10,000/s 500.
inline constexpr uint64_t kLeaseWindowUs = 50'000;
inline constexpr uint64_t kLeaseBurstDivisor = 4;
// Requests a key may take on credit while its first refill (or the one after an empty share)
// is on its way: the next grant pays the debt back.
inline constexpr int64_t kShareCredit = 1;

// Tokens asked from the store per refill for `rate` per `period_us` with `burst`.
uint32_t leaseSize(uint64_t rate, uint64_t period_us, uint64_t burst);

struct ShareDecision {
  enum Outcome : uint8_t {
    kAllowed,    // a token of the local share (or the credit)
    kRefused,    // the store said the shared bucket is empty until retry_after_us
    kStoreDown,  // nothing local and the store cannot answer: the rule's on_store_error
  };
  Outcome outcome = kAllowed;
  bool refill = false;  // the caller must queue a refill of `slot` (or call failed())
  uint32_t slot = 0;
  int64_t remaining = 0;        // local tokens left after this request
  uint64_t retry_after_us = 0;  // kRefused
};

// A slot's four words on one cache line, never split across two.
inline constexpr size_t kShareSlotAlignBytes = 32;

// One slot: the key's tag and its tokens share a word, so a refill for an evicted key can never
// land on its successor.
struct alignas(kShareSlotAlignBytes) ShareSlot {
  std::atomic<uint64_t> word{0};           // tag << 32 | (tokens + kTokenBias); 0: empty
  std::atomic<uint64_t> wait_until_us{0};  // the store said no lease before this
  std::atomic<uint64_t> last_used_us{0};
  std::atomic<uint32_t> pending{0};  // a refill is queued or in flight
};

class ShareTable {
 public:
  // `slots` is rounded up to a power of two.
  explicit ShareTable(size_t slots = kDefaultShareSlots);

  // Any worker, lock-free. `key` hashes the rule and the request's key, `now_us` is monotonic,
  // `store_up` whether the store answers. Spends a local token when there is one; asks for a
  // refill (decision.refill) when the share runs low or empty.
  ShareDecision take(uint64_t key, uint32_t lease, uint64_t now_us, bool store_up);

  // The store thread, with a refill's answer for `key` in `slot`: `granted` tokens (0 or the
  // lease) or, when 0, the wait until the shared bucket holds a lease again.
  void apply(uint32_t slot, uint64_t key, uint32_t granted, uint64_t wait_us, uint64_t now_us);
  // The refill could not be made (store down, queue full): the slot may ask again.
  void failed(uint32_t slot);

  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  size_t slots() const { return mask_ + 1; }

 private:
  uint32_t slotFor(uint64_t key, uint64_t now_us);

  std::vector<ShareSlot> slots_;  // never resized: atomics do not move
  size_t mask_ = 0;
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace ballast::policy
