// tests/unit/policy/gcra_table_test.cpp — GCRA decisions with an injected clock: burst, steady
// rate, Retry-After, idle keys freeing their slot, and the shared table across threads.
#include "policy/gcra_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ballast::policy {
namespace {

constexpr uint64_t kSecond = 1'000'000;
constexpr uint64_t kStart = 1'000 * kSecond;

TEST(GcraTableTest, BurstThenSteadyRate) {
  GcraTable table(1024);
  const auto limit = GcraLimit::of(10, kSecond, 5);  // 10/s, burst 5
  for (int i = 0; i < 5; ++i) {
    const auto d = table.take(42, limit, kStart);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, static_cast<uint64_t>(4 - i));
  }
  const auto refused = table.take(42, limit, kStart);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_us, kSecond / 10);
  // After one interval exactly one more passes.
  EXPECT_TRUE(table.take(42, limit, kStart + kSecond / 10).allowed);
  EXPECT_FALSE(table.take(42, limit, kStart + kSecond / 10).allowed);
}

TEST(GcraTableTest, OverTenSecondsAdmitsRateTimesTimePlusBurst) {
  GcraTable table(1024);
  const auto limit = GcraLimit::of(100, kSecond, 20);
  uint64_t allowed = 0;
  // A request every 1 ms from 0 to 10 s inclusive: 10,001 asked.
  for (uint64_t t = 0; t <= 10 * kSecond; t += kSecond / 1000) {
    allowed += table.take(7, limit, kStart + t).allowed ? 1 : 0;
  }
  EXPECT_EQ(allowed, 100U * 10 + 20);
}

TEST(GcraTableTest, KeysAreIndependent) {
  GcraTable table(1024);
  const auto limit = GcraLimit::of(1, kSecond, 1);
  EXPECT_TRUE(table.take(1, limit, kStart).allowed);
  EXPECT_FALSE(table.take(1, limit, kStart).allowed);
  EXPECT_TRUE(table.take(2, limit, kStart).allowed);
}

TEST(GcraTableTest, IdleKeysFreeTheirSlotAndBusyOnesAreEvictedWhenFull) {
  GcraTable table(2);  // every key probes the same two slots
  const auto limit = GcraLimit::of(1, kSecond, 1);
  const uint64_t a = 0x0001000000000000ULL;
  const uint64_t b = 0x0002000000000000ULL;
  const uint64_t c = 0x0003000000000000ULL;
  EXPECT_TRUE(table.take(a, limit, kStart).allowed);
  EXPECT_TRUE(table.take(b, limit, kStart).allowed);
  EXPECT_TRUE(table.take(c, limit, kStart).allowed);  // three busy keys, two slots
  const uint64_t evicted = table.evictions();
  EXPECT_GE(evicted, 1U);
  // Seconds later every bucket is full again: the slots are free, nothing more is evicted.
  EXPECT_TRUE(table.take(0x0004000000000000ULL, limit, kStart + 2 * kSecond).allowed);
  EXPECT_EQ(table.evictions(), evicted);
}

TEST(GcraTableTest, FourThreadsShareOneLimitExactly) {
  GcraTable table(1024);
  const auto limit = GcraLimit::of(1000, kSecond, 100);
  std::atomic<uint64_t> allowed{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&] {
      // Every thread asks 1000 times at the same instant: only the burst may pass in total.
      for (int i = 0; i < 1000; ++i) {
        if (table.take(99, limit, kStart).allowed) {
          allowed.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(allowed.load(), 100U);
}

}  // namespace
}  // namespace ballast::policy
