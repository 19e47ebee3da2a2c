// src/policy/conn_count_table.h — open connections per client key, shared by every worker: a
// fixed table of 64-bit atomics, each packing a 40-bit key tag with a 24-bit count, updated with
// compare-and-swap. A slot whose count drops to zero is free for another key, so memory stays
// fixed whatever the number of clients.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "policy/gcra_table.h"

namespace ballast::policy {

// 512 KiB: 65,536 slots, each key probing eight in a row, so tens of thousands of clients with
// connections open at once fit before a key finds no slot.
inline constexpr size_t kDefaultConnCountSlots = size_t{1} << 16;

class ConnCountTable {
 public:
  static constexpr uint32_t kUncounted = UINT32_MAX;

  struct Admission {
    bool admitted = false;
    uint32_t slot = kUncounted;  // give back with release() when the connection ends
  };

  // `slots` is rounded up to a power of two.
  explicit ConnCountTable(size_t slots = kDefaultConnCountSlots);

  // Any thread, lock-free. Admits one more connection for `key` while it has fewer than `max`.
  // When every slot the key may use is busy with other keys, the connection is admitted
  // uncounted (slot kUncounted) and counted in tableFull(): a flood of distinct addresses must
  // not lock out everyone else; the listener's max_connections still bounds it.
  Admission acquire(uint64_t key, uint32_t max);
  // Any thread. The connection admitted into `slot` ended; kUncounted is a no-op.
  void release(uint32_t slot);
  // Open connections counted for `key` (tests, the admin API).
  uint32_t count(uint64_t key) const;

  uint64_t tableFull() const { return table_full_.load(std::memory_order_relaxed); }

  static ConnCountTable& process();

 private:
  std::unique_ptr<std::atomic<uint64_t>[], GcraSlotsUnmap> slots_;
  size_t mask_ = 0;
  std::atomic<uint64_t> table_full_{0};
};

}  // namespace ballast::policy
