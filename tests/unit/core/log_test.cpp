// tests/unit/core/log_test.cpp — the repeat limit behind LogRepeat::kLimited: the first lines of
// a window pass, the rest are counted, and the count is handed back exactly once when the window
// has passed (to the next line of the kind or to flush), so lines + suppressed = events.
#include "core/log.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

namespace ballast::core {
namespace {

constexpr uint32_t kBurst = 3;
constexpr uint64_t kIntervalMs = 1000;
constexpr uint64_t kStartMs = 5000;  // any non-zero monotonic time

TEST(RepeatLimiterTest, BurstPassesThenSuppressedAreReportedOnceTheWindowEnds) {
  RepeatLimiter limiter(kBurst, kIntervalMs);
  int written = 0;
  for (int i = 0; i < 10; ++i) {
    const auto d = limiter.admit("x.refused", kStartMs + static_cast<uint64_t>(i));
    written += d.write ? 1 : 0;
    EXPECT_EQ(d.suppressed, 0U);
  }
  EXPECT_EQ(written, 3);
  // Still inside the window: nothing to flush.
  std::map<std::string, uint64_t> flushed;
  limiter.flush(kStartMs + kIntervalMs - 1,
                [&](std::string_view k, uint64_t n) { flushed[std::string(k)] += n; });
  EXPECT_TRUE(flushed.empty());
  // The next line of the kind after the window reports the 7 held back and is written.
  const auto d = limiter.admit("x.refused", kStartMs + kIntervalMs);
  EXPECT_TRUE(d.write);
  EXPECT_EQ(d.suppressed, 7U);
  // Reported once only.
  limiter.flush(kStartMs + 3 * kIntervalMs,
                [&](std::string_view k, uint64_t n) { flushed[std::string(k)] += n; });
  EXPECT_TRUE(flushed.empty());
}

TEST(RepeatLimiterTest, KindsHaveSeparateBudgetsAndFlushNamesThem) {
  RepeatLimiter limiter(1, kIntervalMs);
  EXPECT_TRUE(limiter.admit("a.one", kStartMs).write);
  EXPECT_TRUE(limiter.admit("b.two", kStartMs).write);
  EXPECT_FALSE(limiter.admit("a.one", kStartMs).write);
  EXPECT_FALSE(limiter.admit("a.one", kStartMs).write);
  EXPECT_FALSE(limiter.admit("b.two", kStartMs).write);
  std::map<std::string, uint64_t> flushed;
  limiter.flush(kStartMs + kIntervalMs,
                [&](std::string_view k, uint64_t n) { flushed[std::string(k)] += n; });
  EXPECT_EQ(flushed, (std::map<std::string, uint64_t>{{"a.one", 2}, {"b.two", 1}}));
}

TEST(RepeatLimiterTest, ConcurrentWritersLoseNoCount) {
  RepeatLimiter limiter(kBurst, kIntervalMs);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10000;
  std::atomic<uint64_t> written{0};
  std::atomic<uint64_t> reported{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Time moves on so windows roll while other threads write.
        const auto d = limiter.admit("x.flood", kStartMs + static_cast<uint64_t>(i / 100 + t));
        written += d.write ? 1 : 0;
        reported += d.suppressed;
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  limiter.flush(kStartMs + 100 * kIntervalMs, [&](std::string_view, uint64_t n) { reported += n; });
  EXPECT_EQ(written.load() + reported.load(), uint64_t{kThreads} * kPerThread);
  EXPECT_LT(written.load(), uint64_t{kThreads} * kPerThread / 10);
}

}  // namespace
}  // namespace ballast::core
