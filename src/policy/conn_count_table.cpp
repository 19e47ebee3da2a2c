// src/policy/conn_count_table.cpp — per-key connection counts in a shared table of atomics.
#include "policy/conn_count_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>

namespace ballast::policy {
namespace {

constexpr int kCountBits = 24;
constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
constexpr size_t kProbes = 8;  // consecutive slots: one or two cache lines

uint64_t tagOf(uint64_t key) {
  const uint64_t tag = key >> kCountBits;
  return tag == 0 ? 1 : tag;  // a tag of 0 would read as an empty slot's
}

}  // namespace

ConnCountTable::ConnCountTable(size_t slots)
    : mask_(std::bit_ceil(std::max<size_t>(slots, kProbes)) - 1) {
  const size_t bytes = (mask_ + 1) * sizeof(uint64_t);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::abort();  // out of address space at startup is not something to run on
  }
  slots_ = std::unique_ptr<std::atomic<uint64_t>[], GcraSlotsUnmap>(
      static_cast<std::atomic<uint64_t>*>(p), GcraSlotsUnmap{bytes});
}

ConnCountTable& ConnCountTable::process() {
  static ConnCountTable table;
  return table;
}

ConnCountTable::Admission ConnCountTable::acquire(uint64_t key, uint32_t max) {
  const uint64_t tag = tagOf(key);
  const size_t first = key & mask_;
  for (;;) {
    // The key's own slot first, wherever it is among the probes: a key has at most one slot,
    // so its count is never split.
    size_t empty = SIZE_MAX;
    uint64_t empty_value = 0;
    bool raced = false;
    for (size_t i = 0; i < kProbes; ++i) {
      const size_t at = (first + i) & mask_;
      uint64_t v = slots_[at].load(std::memory_order_acquire);
      if ((v & kCountMask) == 0) {
        if (empty == SIZE_MAX) {
          empty = at;
          empty_value = v;
        }
        continue;
      }
      if ((v >> kCountBits) != tag) {
        continue;
      }
      for (;;) {
        if ((v & kCountMask) >= std::min<uint64_t>(max, kCountMask)) {
          return {false, kUncounted};
        }
        if ((v & kCountMask) == 0 || (v >> kCountBits) != tag) {
          raced = true;  // it emptied or changed hands meanwhile: look again
          break;
        }
        if (slots_[at].compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) {
          return {true, static_cast<uint32_t>(at)};
        }
      }
      break;
    }
    if (raced) {
      continue;
    }
    if (empty == SIZE_MAX) {
      table_full_.fetch_add(1, std::memory_order_relaxed);
      return {true, kUncounted};
    }
    if (max == 0) {
      return {false, kUncounted};
    }
    // Claim the first free slot. Two workers admitting the same new key pick the same one, so
    // one CAS fails and that worker finds the key's slot on its next pass.
    if (slots_[empty].compare_exchange_strong(empty_value, (tag << kCountBits) | 1,
                                              std::memory_order_acq_rel)) {
      return {true, static_cast<uint32_t>(empty)};
    }
  }
}

void ConnCountTable::release(uint32_t slot) {
  if (slot == kUncounted) {
    return;
  }
  slots_[slot].fetch_sub(1, std::memory_order_acq_rel);
}

uint32_t ConnCountTable::count(uint64_t key) const {
  const uint64_t tag = tagOf(key);
  for (size_t i = 0; i < kProbes; ++i) {
    const uint64_t v = slots_[((key & mask_) + i) & mask_].load(std::memory_order_acquire);
    if ((v & kCountMask) != 0 && (v >> kCountBits) == tag) {
      return static_cast<uint32_t>(v & kCountMask);
    }
  }
  return 0;
}

}  // namespace ballast::policy
