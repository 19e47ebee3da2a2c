// tests/unit/policy/conn_count_table_test.cpp — per-key connection counts: the limit holds, a
// release frees a place, keys do not share a count, a full table admits uncounted, and the
// limit holds exactly when several threads admit the same key at once.
#include "policy/conn_count_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ballast::policy {
namespace {

constexpr uint64_t kKeyA = 0x1234'5678'9abc'def0ULL;
constexpr uint64_t kKeyB = 0x0fed'cba9'8765'4321ULL;

TEST(ConnCountTable, TheLimitHoldsAndAReleaseFreesAPlace) {
  ConnCountTable t(64);
  std::vector<uint32_t> slots;
  for (int i = 0; i < 3; ++i) {
    const auto a = t.acquire(kKeyA, 3);
    ASSERT_TRUE(a.admitted);
    ASSERT_NE(a.slot, ConnCountTable::kUncounted);
    slots.push_back(a.slot);
  }
  EXPECT_EQ(slots[0], slots[1]);  // one slot per key
  EXPECT_EQ(t.count(kKeyA), 3U);
  EXPECT_FALSE(t.acquire(kKeyA, 3).admitted);
  EXPECT_TRUE(t.acquire(kKeyB, 3).admitted);  // another key has its own count
  t.release(slots[0]);
  EXPECT_EQ(t.count(kKeyA), 2U);
  EXPECT_TRUE(t.acquire(kKeyA, 3).admitted);
}

TEST(ConnCountTable, AnEmptiedSlotServesAnotherKey) {
  ConnCountTable t(8);  // eight slots: every key probes all of them
  std::vector<uint32_t> slots;
  for (uint64_t k = 1; k <= 8; ++k) {
    const auto a = t.acquire(k << 32, 1);
    ASSERT_TRUE(a.admitted);
    slots.push_back(a.slot);
  }
  const auto full = t.acquire(uint64_t{9} << 32, 1);
  EXPECT_TRUE(full.admitted);  // no slot: admitted, uncounted, and counted as such
  EXPECT_EQ(full.slot, ConnCountTable::kUncounted);
  EXPECT_EQ(t.tableFull(), 1U);
  t.release(slots[3]);
  const auto again = t.acquire(uint64_t{9} << 32, 1);
  EXPECT_EQ(again.slot, slots[3]);
  EXPECT_FALSE(t.acquire(uint64_t{9} << 32, 1).admitted);
}

TEST(ConnCountTable, TheLimitHoldsExactlyUnderConcurrentAdmissions) {
  ConnCountTable t(1024);
  constexpr int kThreads = 4;
  constexpr int kTries = 10000;
  constexpr uint32_t kMax = 50;
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < kTries; ++n) {
        if (t.acquire(kKeyA, kMax).admitted) {
          admitted.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(admitted.load(), static_cast<int>(kMax));
  EXPECT_EQ(t.count(kKeyA), kMax);
}

}  // namespace
}  // namespace ballast::policy
