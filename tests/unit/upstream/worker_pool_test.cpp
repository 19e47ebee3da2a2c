// tests/unit/upstream/worker_pool_test.cpp — what a worker's pool makes of shared backend state:
// slow start ramps a backend that came up (on an injected clock), backups wait for every primary
// to go, and only the active failover group serves.
#include "upstream/worker_pool.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "upstream/slow_start.h"

namespace ballast::upstream {
namespace {

uint64_t g_now_ms = 0;
uint64_t fakeNow() { return g_now_ms; }

// A pool of `n` backends on 127.0.0.1:9000.. with the given algorithm and weights.
class PoolFixture {
 public:
  PoolFixture(balance::Algorithm algorithm, std::initializer_list<uint32_t> weights) {
    config_.name = "p";
    config_.algorithm = algorithm;
    uint16_t port = 9000;
    for (const uint32_t w : weights) {
      config::Backend b;
      b.address = *net::SocketAddress::parse("127.0.0.1:" + std::to_string(port++));
      b.weight = w;
      config_.backends.push_back(b);
      runtime_.backends.push_back(std::make_shared<BackendState>(b.address));
    }
    runtime_.config = &config_;
    runtime_.generation = std::make_shared<std::atomic<uint64_t>>(0);
  }
  config::Pool& config() { return config_; }
  PoolRuntime& runtime() { return runtime_; }
  BackendState& state(size_t i) { return *runtime_.backends[i]; }
  void bump() { runtime_.generation->fetch_add(1); }
  std::unique_ptr<WorkerPool> worker() {
    auto w = std::make_unique<WorkerPool>(&runtime_, 1);
    w->setClock(&fakeNow);
    bump();  // the constructor read the real clock: start over on the fake one
    return w;
  }

 private:
  config::Pool config_;
  PoolRuntime runtime_;
};

// Picks `n` times; the count each backend got.
std::array<int, 4> share(WorkerPool& pool, int n) {
  std::array<int, 4> counts{};
  for (int i = 0; i < n; ++i) {
    const auto choice = pool.pick(0, {});
    if (choice) {
      ++counts[*choice];
    }
  }
  return counts;
}

TEST(SlowStartWeight, RampsFromOneToFull) {
  EXPECT_EQ(slowStartWeight(100, 1000, 1000, 10000), 1U);  // just up: at least 1
  EXPECT_EQ(slowStartWeight(100, 1000, 6000, 10000), 50U);
  EXPECT_EQ(slowStartWeight(100, 1000, 11000, 10000), 100U);
  EXPECT_EQ(slowStartWeight(100, 0, 6000, 10000), 100U);  // up since start-up
  EXPECT_EQ(slowStartWeight(100, 1000, 6000, 0), 100U);   // off
  EXPECT_EQ(slowStartWeight(0, 1000, 6000, 10000), 0U);   // weight 0 stays out
  EXPECT_TRUE(slowStartRamping(1000, 6000, 10000));
  EXPECT_FALSE(slowStartRamping(1000, 11000, 10000));
  EXPECT_EQ(slowStartStepMs(30000), 3000U);
  EXPECT_EQ(slowStartStepMs(2000), kSlowStartMinStepMs);
}

TEST(WorkerPoolSlowStart, WeightedShareGrowsWithTimeUp) {
  PoolFixture f(balance::Algorithm::kWeightedRoundRobin, {10, 10});
  f.config().slow_start = std::chrono::seconds(10);
  g_now_ms = 100000;
  f.state(1).up_since_ms = g_now_ms;  // just recovered
  auto pool = f.worker();
  auto counts = share(*pool, 110);
  EXPECT_EQ(counts[0], 100);  // weights 10 : 1
  EXPECT_EQ(counts[1], 10);
  // Half-way, without any generation bump: the worker re-derives on its own.
  g_now_ms += 5000;
  counts = share(*pool, 150);
  EXPECT_EQ(counts[0], 100);  // 10 : 5
  EXPECT_EQ(counts[1], 50);
  g_now_ms += 5000;
  counts = share(*pool, 200);
  EXPECT_EQ(counts[0], 100);  // full weight
  EXPECT_EQ(counts[1], 100);
}

TEST(WorkerPoolSlowStart, NotReDerivedBeforeAStep) {
  PoolFixture f(balance::Algorithm::kWeightedRoundRobin, {10, 10});
  f.config().slow_start = std::chrono::seconds(10);
  g_now_ms = 100000;
  f.state(1).up_since_ms = g_now_ms;
  auto pool = f.worker();
  g_now_ms += slowStartStepMs(10000) - 1;  // weights would be 10 : 1 still, by the cadence
  const auto counts = share(*pool, 110);
  EXPECT_EQ(counts[1], 10);
}

TEST(WorkerPoolSlowStart, LeastConnComparesLoadPerEffectiveWeight) {
  PoolFixture f(balance::Algorithm::kLeastConn, {10, 10});
  f.config().slow_start = std::chrono::seconds(10);
  g_now_ms = 100000;
  f.state(1).up_since_ms = g_now_ms - 2000;  // effective weight 2
  f.state(0).active = 4;                     // 4 / 10 per unit of weight
  f.state(1).active = 1;                     // 1 / 2: busier per unit, though fewer
  auto pool = f.worker();
  EXPECT_EQ(pool->pick(0, {}), 0U);
  g_now_ms += 10000;  // ramp over: 1/10 < 4/10
  EXPECT_EQ(pool->pick(0, {}), 1U);
}

TEST(WorkerPoolSlowStart, OffLeavesWeightsAlone) {
  PoolFixture f(balance::Algorithm::kWeightedRoundRobin, {10, 10});
  g_now_ms = 100000;
  f.state(1).up_since_ms = g_now_ms;
  auto pool = f.worker();
  const auto counts = share(*pool, 200);
  EXPECT_EQ(counts[1], 100);
}

TEST(WorkerPoolBackups, OnlyPrimariesWhileOneIsUp) {
  PoolFixture f(balance::Algorithm::kRoundRobin, {1, 1, 1, 1});
  f.config().backends[2].backup = true;
  f.config().backends[3].backup = true;
  auto pool = f.worker();
  auto counts = share(*pool, 100);
  EXPECT_EQ(counts[0] + counts[1], 100);
  EXPECT_FALSE(pool->isUp(2));  // sticky sessions do not pin a waiting backup either
  f.state(0).healthy = false;
  f.bump();
  counts = share(*pool, 100);
  EXPECT_EQ(counts[1], 100);  // one primary is enough
}

TEST(WorkerPoolBackups, FirstUpBackupServesAlone) {
  PoolFixture f(balance::Algorithm::kRoundRobin, {1, 1, 1, 1});
  f.config().backends[1].backup = true;
  f.config().backends[2].backup = true;
  f.config().backends[3].backup = true;
  f.state(0).healthy = false;
  auto pool = f.worker();
  auto counts = share(*pool, 100);
  EXPECT_EQ(counts[1], 100);
  f.state(1).drained = true;  // the first backup out: the next one in config order
  f.bump();
  counts = share(*pool, 100);
  EXPECT_EQ(counts[2], 100);
  f.state(0).healthy = true;  // the primary back: backups wait again
  f.bump();
  counts = share(*pool, 100);
  EXPECT_EQ(counts[0], 100);
}

TEST(WorkerPoolBackups, AllBackupsSpread) {
  PoolFixture f(balance::Algorithm::kRoundRobin, {1, 1, 1});
  f.config().backends[1].backup = true;
  f.config().backends[2].backup = true;
  f.config().all_backups = true;
  f.state(0).healthy = false;
  auto pool = f.worker();
  const auto counts = share(*pool, 100);
  EXPECT_EQ(counts[1], 50);
  EXPECT_EQ(counts[2], 50);
}

TEST(WorkerPoolGroups, OnlyTheActiveGroupServes) {
  PoolFixture f(balance::Algorithm::kRoundRobin, {1, 1, 1, 1});
  f.config().groups = {{.name = "a", .priority = 1, .min_healthy = 1, .backends = {0, 1}},
                       {.name = "b", .priority = 2, .min_healthy = 1, .backends = {2, 3}}};
  f.runtime().groups = std::make_shared<GroupState>();
  f.runtime().groups->active = 1;
  auto pool = f.worker();
  auto counts = share(*pool, 100);
  EXPECT_EQ(counts[2] + counts[3], 100);
  f.runtime().groups->active = 0;
  f.bump();
  counts = share(*pool, 100);
  EXPECT_EQ(counts[0] + counts[1], 100);
}

}  // namespace
}  // namespace ballast::upstream
