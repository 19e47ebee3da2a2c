// tests/unit/policy/share_table_test.cpp — local shares of `store:` rate limits with an injected
// clock: lease sizes, the credit while the first refill is on its way, refills at low water, the
// store's "wait" answer, the fallback signal when the store is down, refills that arrive for a
// key that lost its slot, and concurrent spending across threads.
#include "policy/share_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ballast::policy {
namespace {

constexpr uint64_t kSecond = 1'000'000;
constexpr uint64_t kStart = 1'000 * kSecond;

TEST(ShareTableTest, LeaseIsFiftyMillisecondsOfRateWithinAQuarterOfTheBurst) {
  EXPECT_EQ(leaseSize(100, kSecond, 200), 5U);          // 100/s: 5 per round trip
  EXPECT_EQ(leaseSize(10'000, kSecond, 20'000), 500U);  // 10,000/s: 500
  EXPECT_EQ(leaseSize(10'000, kSecond, 8), 2U);         // a small burst caps it
  EXPECT_EQ(leaseSize(1, 3600 * kSecond, 200), 1U);     // slow limits: one at a time
  EXPECT_EQ(leaseSize(6000, 60 * kSecond, 100), 5U);    // 6000/m is 100/s
}

TEST(ShareTableTest, FirstRequestOnCreditThenLeaseIsSpent) {
  ShareTable t(64);
  const uint32_t lease = 5;
  auto d = t.take(42, lease, kStart, true);
  EXPECT_EQ(d.outcome, ShareDecision::kAllowed);  // on credit
  EXPECT_TRUE(d.refill);
  const uint32_t slot = d.slot;
  // The refill is in flight and the credit is used: refused, no second refill.
  d = t.take(42, lease, kStart, true);
  EXPECT_EQ(d.outcome, ShareDecision::kRefused);
  EXPECT_FALSE(d.refill);
  // The lease arrives and pays the debt back: 4 left.
  t.apply(slot, 42, lease, 0, kStart);
  int allowed = 0;
  bool asked = false;
  for (int i = 0; i < 4; ++i) {
    d = t.take(42, lease, kStart, true);
    allowed += d.outcome == ShareDecision::kAllowed ? 1 : 0;
    asked = asked || d.refill;
  }
  EXPECT_EQ(allowed, 4);
  EXPECT_TRUE(asked);  // at low water (lease / 2) the next lease was asked for, once
}

TEST(ShareTableTest, RefillAskedOnceAtLowWater) {
  ShareTable t(64);
  const uint32_t lease = 10;
  auto d = t.take(7, lease, kStart, true);
  t.apply(d.slot, 7, lease, 0, kStart);  // 9 left
  int refills = 0;
  for (int i = 0; i < 9; ++i) {
    d = t.take(7, lease, kStart, true);
    ASSERT_EQ(d.outcome, ShareDecision::kAllowed) << i;
    refills += d.refill ? 1 : 0;
    if (d.refill) {
      EXPECT_EQ(d.remaining, 5);  // lease / 2
    }
  }
  EXPECT_EQ(refills, 1);
}

TEST(ShareTableTest, StoreSaysWaitThenAnotherLease) {
  ShareTable t(64);
  const uint32_t lease = 4;
  auto d = t.take(9, lease, kStart, true);
  t.apply(d.slot, 9, 0, kSecond / 2, kStart);  // shared bucket empty for 0.5 s
  d = t.take(9, lease, kStart + 1, true);
  EXPECT_EQ(d.outcome, ShareDecision::kRefused);
  EXPECT_FALSE(d.refill);
  EXPECT_EQ(d.retry_after_us, kSecond / 2 - 1);
  // Once the wait is over, a refused request asks again (the credit is still owed).
  d = t.take(9, lease, kStart + kSecond / 2, true);
  EXPECT_EQ(d.outcome, ShareDecision::kRefused);
  EXPECT_TRUE(d.refill);
  t.apply(d.slot, 9, lease, 0, kStart + kSecond / 2);  // 4 - 1 owed = 3
  int allowed = 0;
  for (int i = 0; i < 4; ++i) {
    allowed += t.take(9, lease, kStart + kSecond / 2, true).outcome == ShareDecision::kAllowed;
  }
  // 3 tokens, then one more on credit while the lease asked at low water is on its way.
  EXPECT_EQ(allowed, 4);
  EXPECT_EQ(t.take(9, lease, kStart + kSecond / 2, true).outcome, ShareDecision::kRefused);
}

TEST(ShareTableTest, StoreDownSpendsWhatIsLeftThenFallsBack) {
  ShareTable t(64);
  const uint32_t lease = 5;
  auto d = t.take(1, lease, kStart, true);
  t.apply(d.slot, 1, lease, 0, kStart);  // 4 left
  for (int i = 0; i < 4; ++i) {
    d = t.take(1, lease, kStart, false);
    EXPECT_EQ(d.outcome, ShareDecision::kAllowed) << i;
    EXPECT_FALSE(d.refill);  // never asks a store that is down
  }
  d = t.take(1, lease, kStart, false);
  EXPECT_EQ(d.outcome, ShareDecision::kStoreDown);
  EXPECT_FALSE(d.refill);
}

TEST(ShareTableTest, FailedRefillMayBeAskedAgain) {
  ShareTable t(64);
  auto d = t.take(3, 5, kStart, true);
  ASSERT_TRUE(d.refill);
  t.failed(d.slot);
  d = t.take(3, 5, kStart, true);  // in debt, nothing in flight: ask again
  EXPECT_EQ(d.outcome, ShareDecision::kRefused);
  EXPECT_TRUE(d.refill);
}

TEST(ShareTableTest, RefillForAnEvictedKeyIsDropped) {
  ShareTable t(2);  // two slots: every key probes both
  const uint64_t a = 0x1111'1111'0000'0000ULL;
  const uint64_t b = 0x2222'2222'0000'0001ULL;
  const uint64_t c = 0x3333'3333'0000'0000ULL;
  const auto da = t.take(a, 5, kStart, true);
  t.apply(da.slot, a, 5, 0, kStart);
  const auto db = t.take(b, 5, kStart, true);
  t.apply(db.slot, b, 5, 0, kStart);
  // Both slots busy and recently used: c evicts the least recently used one (a's).
  const auto dc = t.take(c, 5, kStart + 1, true);
  EXPECT_EQ(t.evictions(), 1U);
  EXPECT_EQ(dc.slot, da.slot);
  // a's refill comes back late: it must not land on c.
  t.apply(da.slot, a, 5, 0, kStart + 1);
  const auto next = t.take(c, 5, kStart + 1, true);
  EXPECT_EQ(next.outcome, ShareDecision::kRefused);  // c is still on its credit
}

TEST(ShareTableTest, IdleKeyFreesItsSlotWithoutEviction) {
  ShareTable t(2);
  const uint64_t a = 0x1111'1111'0000'0000ULL;
  const uint64_t b = 0x2222'2222'0000'0001ULL;
  const uint64_t c = 0x3333'3333'0000'0000ULL;
  t.failed(t.take(a, 5, kStart, true).slot);
  t.failed(t.take(b, 5, kStart, true).slot);
  t.take(c, 5, kStart + kShareIdleUs, true);
  EXPECT_EQ(t.evictions(), 0U);
}

TEST(ShareTableTest, ThreadsNeverSpendMoreThanGranted) {
  ShareTable t(1024);
  constexpr int kThreads = 4;
  constexpr int kGrants = 100;
  constexpr uint32_t kLease = 10;
  std::atomic<int> allowed{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      while (!done.load()) {
        if (t.take(77, kLease, kStart, true).outcome == ShareDecision::kAllowed) {
          allowed.fetch_add(1);
        }
      }
    });
  }
  // The "store": grants kGrants leases to whichever slot asked, as the store thread would.
  const auto first = t.take(77, kLease, kStart, true);
  allowed.fetch_add(first.outcome == ShareDecision::kAllowed ? 1 : 0);
  const uint32_t slot = first.slot;
  for (int g = 0; g < kGrants; ++g) {
    t.apply(slot, 77, kLease, 0, kStart);
    std::this_thread::yield();
  }
  done.store(true);
  for (auto& th : threads) {
    th.join();
  }
  // Everything granted, plus at most the one-request credit.
  EXPECT_LE(allowed.load(), static_cast<int>(kGrants * kLease) + static_cast<int>(kShareCredit));
}

}  // namespace
}  // namespace ballast::policy
